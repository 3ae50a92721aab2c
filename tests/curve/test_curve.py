"""Budget-curve core: nested stratified subsets, the recipe rule, pricing with ranges, the paired bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

from benchmarks.curve import epochs_for, labeling_hours, nested_subsets, paired_bootstrap_diff, undertrained
from benchmarks.curve.subsets import SubsetError, stratified_order
from benchmarks.evaluate import evaluate
from benchmarks.harness.curve_stage import undertrained_check

FRACTIONS = [0.05, 0.1, 0.25, 0.5, 1.0]


def _multilabel(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 6)) < [0.5, 0.4, 0.3, 0.2, 0.1, 0.03]).astype(float)
    y[rng.random(y.shape) < 0.05] = np.nan
    return [f"img_{i:04d}" for i in range(n)], y


def test_subsets_nested_sized_and_deterministic():
    ids, y = _multilabel()
    a = nested_subsets(ids, y, FRACTIONS, seed=0)
    assert list(a) == FRACTIONS
    for f, sub in a.items():
        assert len(sub) == math.ceil(f * len(ids)) and len(set(sub)) == len(sub)
    for small, big in zip(FRACTIONS, FRACTIONS[1:]):
        assert a[big][: len(a[small])] == a[small]  # a prefix: every smaller subset inside the larger
    assert sorted(a[1.0]) == sorted(ids)
    assert nested_subsets(ids, y, FRACTIONS, seed=0) == a
    b = nested_subsets(ids, y, FRACTIONS, seed=1)
    assert b[0.1] != a[0.1]  # another seed, another order
    assert nested_subsets(ids, y, [0.3], seed=0)[0.3] == stratified_order(ids, y, 0)[:120]


def test_subsets_are_stratified_and_cover_rare_classes_early():
    ids, y = _multilabel()
    pos = np.nan_to_num(y) > 0
    full = pos.mean(axis=0)
    index = {k: i for i, k in enumerate(ids)}
    rng = np.random.default_rng(5)
    for f in (0.1, 0.25, 0.5):
        sub = nested_subsets(ids, y, [f], seed=3)[f]
        share = pos[[index[k] for k in sub]].mean(axis=0)
        # within one image of the exact proportion per class (a random subset is off by several at 10%)
        np.testing.assert_allclose(share, full, atol=1.5 / len(sub))
        rand = pos[rng.choice(len(ids), len(sub), replace=False)].mean(axis=0)
        assert np.abs(share - full).max() <= np.abs(rand - full).max()
    first = [index[k] for k in stratified_order(ids, y, seed=0)[:6]]
    assert pos[first].any(axis=0).all()  # 6 images already cover all 6 classes, the 3% class included


def test_subsets_bad_input():
    ids, y = _multilabel(20)
    with pytest.raises(SubsetError, match=r"\(0, 1\]"):
        nested_subsets(ids, y, [0.0, 0.5], 0)
    with pytest.raises(SubsetError, match="20 ids but targets"):
        nested_subsets(ids, y[:10], [0.5], 0)


def test_epochs_rule():
    full = epochs_for(400, 400, base_epochs=6, batch_size=32)
    assert (full["epochs"], full["steps_per_epoch"], full["steps"]) == (6, 13, 78) and not full["capped"]
    r = epochs_for(100, 400, base_epochs=6, batch_size=32)  # 4 steps per epoch: 78 / 4 -> 20 epochs
    assert (r["epochs"], r["steps"]) == (20, 80) and r["steps"] >= full["steps"]
    tiny = epochs_for(10, 400, base_epochs=6, batch_size=32)  # 1 step per epoch: 78 wanted, capped at 60
    assert tiny["epochs"] == 60 and tiny["capped"] and tiny["steps"] < tiny["full_steps"]
    assert epochs_for(10, 400, 6, 32, cap=100)["epochs"] == 78
    assert "capped at 60" in tiny["rule"]
    with pytest.raises(ValueError, match="larger than the full"):
        epochs_for(500, 400, 6, 32)


def test_undertrained():
    assert undertrained([0.1, 0.3, 0.5, 0.6, 0.7, 0.8])["undertrained"] is True
    assert undertrained([0.1, 0.6, 0.8, 0.8, 0.79, 0.8])["undertrained"] is False
    assert undertrained([2.0, 1.0, 0.9, 0.8, 0.5], higher_is_better=False)["undertrained"] is True
    assert undertrained([0.5, 0.6])["undertrained"] is None


def _flagged(histories) -> float:
    return float(np.mean([undertrained(h)["undertrained"] for h in histories]))


@pytest.mark.parametrize("epochs", [6, 10, 20])
def test_undertrained_false_flag_rate_on_flat_noisy_histories(epochs):
    """A run that has stopped improving (flat val metric plus noise) is flagged at about the test's alpha (5%), at
    every length; the old "best in the last 3 epochs" rule flagged ~3 / epochs of them (50% at 6 epochs)."""
    rng = np.random.default_rng(epochs)
    flat = 0.6 + 0.02 * rng.standard_normal((2000, epochs))
    rate = _flagged(flat)
    assert 0.01 <= rate <= 0.10, rate  # >= 1%: the test can fire at all (not vacuous)


def test_undertrained_converged_curve_is_rarely_flagged():
    """A curve that climbed early and levelled off: the steep first epochs lie outside the window (the last half)."""
    rng = np.random.default_rng(7)
    t = np.arange(20)
    curves = 0.8 * (1 - np.exp(-t / 2.0)) + 0.02 * rng.standard_normal((1000, 20))
    assert _flagged(curves) <= 0.10


@pytest.mark.parametrize(("epochs", "slope_in_sd"), [(10, 1.5), (20, 0.5)])
def test_undertrained_power_on_a_rising_history(epochs, slope_in_sd):
    """A planted rise of `slope_in_sd` noise standard deviations per epoch is flagged in >= 80% of runs."""
    rng = np.random.default_rng(epochs)
    rising = 0.5 + 0.02 * slope_in_sd * np.arange(epochs) + 0.02 * rng.standard_normal((1000, epochs))
    assert _flagged(rising) >= 0.80
    falling = 0.5 - 0.02 * slope_in_sd * np.arange(epochs) + 0.02 * rng.standard_normal((200, epochs))
    assert _flagged(falling) == 0.0  # one-sided: a falling metric is not "still improving"


def test_undertrained_record_and_edge_cases():
    r = undertrained([0.5, 0.52, 0.51, 0.55, 0.56, 0.60, 0.61, 0.66], metric="val/macro_ap")
    assert r["window"] == 4 and r["undertrained"] is True  # the last half of 8 epochs
    x = np.arange(4.0)
    y = np.array([0.56, 0.60, 0.61, 0.66])
    assert r["slope_per_epoch"] == pytest.approx(np.polyfit(x, y, 1)[0])
    assert 0 < r["p_value"] < 0.05
    assert "val/macro_ap rose 0.031 per epoch over the last 4 of 8 epochs" in r["reason"]
    assert "one-sided t test" in r["method"] and "last half" in r["method"]
    too_few = undertrained([0.5, 0.6, float("nan"), 0.7])  # NaN is not an epoch value
    assert too_few["undertrained"] is None and "3 epoch value(s)" in too_few["reason"]
    for const in ([0.5] * 8, [0.1] * 7, [0.0] * 4):  # zero variance: no crash, slope 0, not flagged
        c = undertrained(const)
        assert c["undertrained"] is False and c["slope_per_epoch"] == 0.0 and c["p_value"] == 1.0
    assert undertrained([1.0, 2.0, 3.0, 4.0, 5.0])["p_value"] == 0.0  # a straight rise, no noise
    assert undertrained([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], window=6)["window"] == 6
    loss = undertrained([2.0, 1.5, 1.4, 1.2, 1.0, 0.8], higher_is_better=False)
    assert loss["undertrained"] is True and loss["slope_per_epoch"] < 0 and "fell" in loss["reason"]
    with pytest.raises(ValueError, match="window = 3"):
        undertrained([0.5] * 8, window=3)


def _history(folder, columns: dict) -> None:
    folder.mkdir(parents=True)
    n = len(next(iter(columns.values())))
    rows = [",".join(["epoch", *columns])]
    rows += [",".join([str(e + 1), *("" if v[e] is None else str(v[e]) for v in columns.values())]) for e in range(n)]
    (folder / "history.csv").write_text("\n".join(rows) + "\n")


def test_undertrained_check_reads_the_image_level_val_metric_of_either_pipeline(tmp_path):
    rising = [0.50, 0.55, 0.61, 0.64, 0.70, 0.74, 0.81, 0.85]
    _history(tmp_path / "cls", {"val/loss": [1.0] * 8, "val/macro_ap": rising})
    c = undertrained_check(tmp_path / "cls", "classifier")
    assert c["undertrained_metric"] == "val/macro_ap" and c["undertrained"] is True
    assert "image-level val macro AP" in c["undertrained_reason"]
    assert c["undertrained_test"]["window"] == 4 and c["undertrained_test"]["p_value"] < 0.05
    # the detector: box mAP stuck at 0 while the image-level AP still climbs; the image-level AP is what is tested
    _history(tmp_path / "det", {"metrics/mAP50(B)": [0.0] * 8, "val/image_macro_ap": rising})
    d = undertrained_check(tmp_path / "det", "detector")
    assert d["undertrained_metric"] == "val/image_macro_ap" and d["undertrained"] is True
    # an older detector artifact (box mAP only), or one whose image-level column is empty: box mAP, and says so
    _history(tmp_path / "old", {" metrics/mAP50(B)": [0.0] * 8})
    _history(tmp_path / "ddp", {"metrics/mAP50(B)": [0.0] * 8, "val/image_macro_ap": [None] * 8})
    for name in ("old", "ddp"):
        o = undertrained_check(tmp_path / name, "detector")
        assert o["undertrained_metric"] == "metrics/mAP50(B)" and o["undertrained"] is False
        assert "no image-level val macro AP" in o["undertrained_reason"]
    none = undertrained_check(tmp_path / "missing", "classifier")
    assert none["undertrained"] is None and none["undertrained_metric"] is None
    assert "has no val metric per epoch" in none["undertrained_reason"]


def test_points_table_shows_the_slope_test_p_value():
    from benchmarks.report.curve_blocks import points_table

    pts = [
        {"undertrained": True, "undertrained_test": {"p_value": 0.0031}},
        {"undertrained": False, "undertrained_test": {"p_value": 0.62}},
        {"undertrained": None, "undertrained_test": {"p_value": None}},
        {"undertrained": False},  # a curve.json written before the test recorded its p-value
    ]
    col = points_table({"curve": {"points": pts}})["still improving"].tolist()
    assert col == ["yes (p 0.0031)", "no (p 0.62)", "?", "no"]


VAL = {"n_images": 90, "n_labels": 150, "n_boxes": 200}


def test_pricing_modeled_ranges_include_val():
    fs = labeling_hours("folder_sort", 100, 160, 210, VAL)
    assert fs["hours"] == pytest.approx((100 + 90) * 1.4 / 3600)
    assert fs["hours_lo"] == pytest.approx(190 * 1.0 / 3600) and fs["hours_hi"] == pytest.approx(190 * 2.8 / 3600)
    assert fs["includes_val"] is True and fs["val"]["hours"] == pytest.approx(90 * 1.4 / 3600)
    assert fs["source"] == "modeled" and fs["usd"] is None
    cv = labeling_hours("cvat", 100, 160, 210, VAL, labeling_usd_per_hour=30)
    assert cv["hours"] == pytest.approx(410 * 10 / 3600)  # the central rate; 7-35 s is the range
    assert (cv["hours_lo"], cv["hours_hi"]) == pytest.approx((410 * 7 / 3600, 410 * 35 / 3600))
    assert cv["usd"] == pytest.approx(cv["hours"] * 30) and cv["usd_hi"] == pytest.approx(cv["hours_hi"] * 30)
    with pytest.raises(ValueError, match="unknown labeling method 'boxes'; labeling methods: folder_sort, cvat"):
        labeling_hours("boxes", 1, 1, 1, VAL)


def test_pricing_measured_ci_and_small_sample_warning():
    entry = {"source": "measured", "s_per_image": 2.0, "s_per_box": None, "basis": "measured: 1 log"}
    samples = [1.0, 3.0] * 10  # mean 2, sd ~1.03, n = 20
    r = labeling_hours("folder_sort", 100, 100, 0, VAL, measured=entry, samples_s=samples)
    half = 1.96 * np.std(samples, ddof=1) / math.sqrt(20)
    assert r["hours"] == pytest.approx(190 * 2.0 / 3600)
    assert r["hours_lo"] == pytest.approx(190 * (2 - half) / 3600)
    assert r["hours_hi"] == pytest.approx(190 * (2 + half) / 3600)
    assert r["source"] == "measured" and r["rate"]["n_samples"] == 20
    assert any("only 20 timed images" in w for w in r["warnings"])
    r = labeling_hours("folder_sort", 100, 100, 0, VAL, measured=entry)
    assert r["hours_lo"] == r["hours"] == r["hours_hi"] and "no range" in r["warnings"][0]


def _pair_data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) < 0.5).astype(float)
    y[0], y[1] = [1, 0], [0, 1]  # both classes have a positive and a negative
    sa = np.clip(0.5 * y + 0.6 * rng.random((n, 2)), 0, 1).round(1)
    sb = rng.random((n, 2)).round(1)
    return sa, sb, y


def test_paired_bootstrap_against_direct_numpy():
    sa, sb, y = _pair_data()
    ta, tb = np.array([0.5, 0.4]), np.array([0.5, 0.5])
    r = paired_bootstrap_diff(sa, sb, y, ta, tb, n_boot=40, seed=3)

    def macro(s, t, idx):
        ap, f1 = [], []
        for c in range(2):
            yt = y[idx, c]
            if yt.any():
                ap.append(average_precision_score(yt, s[idx, c]))
                f1.append(f1_score(yt, s[idx, c] >= t[c], zero_division=0))
        return np.mean(ap), np.mean(f1)

    every = np.arange(len(y))
    (a_ap, a_f1), (b_ap, b_f1) = macro(sa, ta, every), macro(sb, tb, every)
    assert r["macro_ap"]["diff"] == pytest.approx(a_ap - b_ap)
    assert r["macro_f1"]["diff"] == pytest.approx(a_f1 - b_f1)
    ea, eb = evaluate(sa, y, ta, ["x", "y"], n_boot=0), evaluate(sb, y, tb, ["x", "y"], n_boot=0)
    assert r["macro_ap"]["diff"] == pytest.approx(ea["macro_ap"] - eb["macro_ap"])
    # the same resamples, drawn the way evaluate draws them, scored directly with scikit-learn
    rng = np.random.default_rng(3)
    counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=40)
    d_ap, d_f1 = [], []
    for c in counts:
        idx = np.repeat(every, c)
        (xa, fa), (xb, fb) = macro(sa, ta, idx), macro(sb, tb, idx)
        d_ap.append(xa - xb)
        d_f1.append(fa - fb)
    assert r["macro_ap"]["ci95"] == pytest.approx(list(np.percentile(d_ap, [2.5, 97.5])))
    assert r["macro_f1"]["ci95"] == pytest.approx(list(np.percentile(d_f1, [2.5, 97.5])))


def test_paired_bootstrap_hand_computed_two_images():
    # 2 images x 1 class: y = [1, 0]. Model a ranks the positive first (AP 1), b ranks it last (AP 0.5).
    y = np.array([[1.0], [0.0]])
    sa, sb = np.array([[0.9], [0.1]]), np.array([[0.1], [0.9]])
    th = np.array([0.5])
    r = paired_bootstrap_diff(sa, sb, y, th, th, n_boot=200, seed=0)
    assert r["macro_ap"]["diff"] == pytest.approx(0.5)  # 1 - 0.5
    assert r["macro_f1"]["diff"] == pytest.approx(1.0)  # a: tp 1 -> F1 1; b: fp 1, fn 1 -> F1 0
    # resamples: {both images} -> AP diff 0.5; {positive twice} and {negative twice} -> undefined (no negative, no
    # positive: a class needs both in a resample, as in the point estimate), dropped
    lo, hi = r["macro_ap"]["ci95"]
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    from benchmarks.curve.paired import as_rows

    rows = as_rows(r, 0.5, 2)
    assert [(x["fraction"], x["seed"], x["metric"]) for x in rows] == [(0.5, 2, "macro_ap"), (0.5, 2, "macro_f1")]
    assert rows[0]["diff"] == pytest.approx(0.5) and rows[0]["ci95"] == r["macro_ap"]["ci95"]


def test_per_image_seconds_from_logs():
    from benchmarks.curve.samples import per_image_seconds
    from benchmarks.labeling.log_format import Event, LabelingLog

    def log(method, events):
        return LabelingLog(method, "demo", "me", "2025-01-06T09:00:00Z", "2025-01-06T10:00:00Z", "watcher", 0.0, 3,
                           3, events=events)  # fmt: skip

    t = "2025-01-06T09:00:{:02d}Z"
    fs = log("folder_sort", [
        Event("arrive", "a.jpg", "cat", t.format(0)), Event("arrive", "b.jpg", "cat", t.format(4)),
        Event("arrive", "b.jpg", "dog", t.format(6)), Event("arrive", "c.jpg", "dog", t.format(9)),
    ])  # fmt: skip
    # b gets 4 + 2 s (two folders), c 3 s; the first event starts the clock: a's time is unobserved, left out
    assert sorted(per_image_seconds([fs], "folder_sort")) == [3.0, 6.0]
    cv = log("cvat", [Event("frame_time", "f0", active_s=10.0), Event("frame_time", "f1", active_s=4.0),
                      Event("frame_time", "f0", active_s=2.0)])  # fmt: skip
    assert sorted(per_image_seconds([cv, fs], "cvat")) == [4.0, 12.0]
