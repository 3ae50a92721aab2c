"""evaluate(): every metric against scikit-learn, NaN masking, excluded classes, baseline, bootstrap CI."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, confusion_matrix, f1_score, precision_score

from benchmarks.evaluate import average_precision_weighted, bootstrap_macro, evaluate

CLASSES = ["cat", "dog", "car", "tree", "rare"]


def _data(seed: int, n: int = 120, n_cls: int = 5, na: float = 0.0, ties: bool = True):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_cls)) < 0.35).astype(np.float64)
    s = np.clip(0.35 * y + 0.75 * rng.random((n, n_cls)), 0, 1)
    if ties:
        s = s.round(2)  # ties exercise the step definition of AP
    if na:
        y[rng.random((n, n_cls)) < na] = np.nan
    th = rng.uniform(0.3, 0.7, n_cls)
    return s, y, th


def _sk_reference(s, y, th):
    """Per-class and micro metrics from scikit-learn over each class's labelled entries."""
    known = ~np.isnan(y)
    d = (s >= th).astype(int)
    per = []
    for c in range(y.shape[1]):
        k = known[:, c]
        yt, yd, ys = y[k, c].astype(int), d[k, c], s[k, c]
        per.append(
            {
                "ap": average_precision_score(yt, ys) if yt.any() else None,
                "precision": precision_score(yt, yd, zero_division=0),
                "f1": f1_score(yt, yd, zero_division=0) if yt.any() else None,
                "cm": confusion_matrix(yt, yd, labels=[0, 1]),
            }
        )
    yk, dk = y[known].astype(int), d[known]
    micro_ap = average_precision_score(yk, s[known])
    micro_f1 = f1_score(yk, dk)
    hamming = float((yk != dk).mean())
    exact = float(np.mean([(d[i, known[i]] == y[i, known[i]]).all() for i in range(len(y))]))
    return per, micro_ap, micro_f1, hamming, exact


@pytest.mark.parametrize("na", [0.0, 0.2])
def test_metrics_match_sklearn(na):
    s, y, th = _data(seed=3, na=na)
    y[:, 4] = np.where(np.isnan(y[:, 4]), np.nan, 0.0)  # "rare": no positive in this test split
    r = evaluate(s, y, th, CLASSES, n_boot=50)
    per, micro_ap, micro_f1, hamming, exact = _sk_reference(s, y, th)
    for c, ref in zip(CLASSES, per):
        got = r["per_class"][c]
        if ref["ap"] is None:
            assert got["ap"] is None and got["f1"] is None
        else:
            assert got["ap"] == pytest.approx(ref["ap"], abs=1e-6)
            assert got["f1"] == pytest.approx(ref["f1"], abs=1e-6)
        assert got["precision"] == pytest.approx(ref["precision"], abs=1e-6)
        cm = r["confusion"][c]
        assert [[cm["tn"], cm["fp"]], [cm["fn"], cm["tp"]]] == ref["cm"].tolist()
        assert got["support"] == int(np.nansum(y[:, CLASSES.index(c)]))
    defined = [p for p in per if p["ap"] is not None]
    assert r["excluded_classes"] == ["rare"]
    assert r["n_classes_evaluated"] == 4
    assert r["macro_ap"] == pytest.approx(np.mean([p["ap"] for p in defined]), abs=1e-6)
    assert r["macro_f1"] == pytest.approx(np.mean([p["f1"] for p in defined]), abs=1e-6)
    assert r["micro_ap"] == pytest.approx(micro_ap, abs=1e-5)
    assert r["micro_f1"] == pytest.approx(micro_f1, abs=1e-6)
    assert r["hamming_loss"] == pytest.approx(hamming, abs=1e-6)
    assert r["exact_match"] == pytest.approx(exact, abs=1e-6)


def test_baseline_equals_prevalence():
    s, y, th = _data(seed=5, na=0.15)
    r = evaluate(s, y, th, CLASSES, n_boot=0, n_perm=0)
    prev = np.nanmean(y, axis=0)
    for c, p in zip(CLASSES, prev):
        assert r["per_class"][c]["prevalence"] == pytest.approx(p)
    assert r["baseline"]["macro_ap"] == pytest.approx(prev.mean())  # no permutations: the prevalence stands
    assert r["baseline"]["prevalence_macro_ap"] == pytest.approx(prev.mean())
    # micro AP of the constant-per-class scores, computed independently with scikit-learn
    known = ~np.isnan(y)
    const = np.broadcast_to(prev, y.shape)
    assert r["baseline"]["micro_ap"] == pytest.approx(average_precision_score(y[known], const[known]), abs=1e-5)
    assert r["macro_ap"] > r["baseline"]["macro_ap"] + 0.1  # the scores carry signal, the baseline does not


def test_weighted_ap_equals_sklearn_on_resampled_data():
    s, y, _ = _data(seed=7, n=80)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(s), size=(20, len(s)))
    counts = np.stack([np.bincount(i, minlength=len(s)) for i in idx]).astype(float)
    got = average_precision_weighted(s[:, 0], y[:, 0], counts)
    want = [average_precision_score(y[i, 0], s[i, 0]) for i in idx]
    np.testing.assert_allclose(got, want, atol=1e-12)
    no_pos = average_precision_weighted(s[:, 0], np.zeros(len(s)), counts[:2])
    assert np.isnan(no_pos).all()


def test_bootstrap_is_seeded_fast_and_brackets_the_estimate():
    s, y, th = _data(seed=11, n=400, n_cls=10, na=0.1)
    t0 = time.perf_counter()
    a = bootstrap_macro(s, y, s >= th, n_boot=1000, seed=0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0, f"1000 resamples of 400 images x 10 classes took {elapsed:.2f} s"
    b = bootstrap_macro(s, y, s >= th, n_boot=1000, seed=0)
    np.testing.assert_array_equal(a[0], b[0])
    r = evaluate(s, y, th, [f"c{i}" for i in range(10)], n_boot=1000, seed=0)
    lo, hi = r["macro_ap_ci95"]
    assert lo < r["macro_ap"] < hi
    lo, hi = r["macro_f1_ci95"]
    assert lo < r["macro_f1"] < hi
    assert r["bootstrap"]["resamples"] == 1000
    other = evaluate(s, y, th, [f"c{i}" for i in range(10)], n_boot=1000, seed=1)
    assert other["macro_ap_ci95"] != r["macro_ap_ci95"]


def test_bootstrap_ci_covers_true_macro_ap():
    """Datasets drawn from a known distribution: the 95% CI should cover the population macro AP in ~95% of them.

    Population AP per class: a large sample (200k) of the same distribution; the interval is evaluate()'s own (basic,
    logit scale; its coverage at 26-60 images is tested in test_significance.py); accepted band 0.88-0.995 over 120
    trials (binomial sd ~2%).
    """
    rng = np.random.default_rng(42)
    n_cls, shift = 3, np.array([0.8, 1.2, 1.6])

    def draw(n):
        y = (rng.random((n, n_cls)) < [0.2, 0.3, 0.4]).astype(float)
        s = 1 / (1 + np.exp(-(rng.normal(size=(n, n_cls)) + shift * y)))
        return s, y

    s_pop, y_pop = draw(200_000)
    true = np.mean([average_precision_score(y_pop[:, c], s_pop[:, c]) for c in range(n_cls)])
    trials, covered = 120, 0
    for t in range(trials):
        s, y = draw(200)
        lo, hi = evaluate(s, y, np.full(n_cls, 0.5), ["a", "b", "c"], n_boot=400, seed=t, n_perm=0)["macro_ap_ci95"]
        covered += lo <= true <= hi
    assert 0.88 <= covered / trials <= 0.995, f"coverage {covered}/{trials}"


def test_bad_input_messages():
    s, y, th = _data(seed=1)
    with pytest.raises(ValueError, match="one threshold and one class name"):
        evaluate(s, y, th[:3], CLASSES)
    y2 = y.copy()
    y2[0, 0] = 2
    with pytest.raises(ValueError, match="1, 0 or NaN"):
        evaluate(s, y2, th, CLASSES)


def test_empty_and_all_negative_give_none_not_nan():
    s, y, th = _data(seed=2, n=30)
    r = evaluate(s, np.zeros_like(y), th, CLASSES)
    assert r["macro_ap"] is None and r["macro_ap_ci95"] is None and r["micro_ap"] is None
    assert r["excluded_classes"] == CLASSES
    r = evaluate(np.zeros((0, 5)), np.zeros((0, 5)), th, CLASSES, ids=[])
    assert r["n_test"] == 0 and r["macro_ap"] is None and r["test_ids"] == []


def test_class_without_test_negatives_is_listed_and_left_out_of_macros():
    s, y, th = _data(seed=4, na=0.1)
    y[:, 3] = np.where(np.isnan(y[:, 3]), np.nan, 1.0)  # "tree": every labelled test image is positive
    r = evaluate(s, y, th, CLASSES, n_boot=50)
    assert r["excluded_classes"] == ["tree"]
    assert "trivially 1" in r["excluded_reasons"]["tree"]
    assert r["per_class"]["tree"]["ap"] == pytest.approx(1.0)  # still reported, but not averaged
    per, *_ = _sk_reference(s, y, th)
    kept = [0, 1, 2, 4]
    assert r["macro_ap"] == pytest.approx(np.mean([per[c]["ap"] for c in kept]), abs=1e-6)
    assert r["macro_f1"] == pytest.approx(np.mean([per[c]["f1"] for c in kept]), abs=1e-6)
    assert r["baseline"]["prevalence_macro_ap"] == pytest.approx(np.nanmean(y[:, kept], axis=0).mean())
    assert r["n_classes_evaluated"] == 4


def test_always_positive_baseline_and_flag():
    s, y, _ = _data(seed=6, na=0.1)
    r = evaluate(s, y, np.zeros(5), CLASSES, n_boot=0)  # threshold 0: every decision is "yes"
    assert r["decisions_equal_always_positive"] is True
    assert r["always_positive_classes"] == CLASSES
    ap_base = r["baseline"]["always_positive"]
    assert r["macro_f1"] == pytest.approx(ap_base["macro_f1"], abs=1e-9)
    assert r["exact_match"] == pytest.approx(ap_base["exact_match"], abs=1e-9)
    # independent: exact match of an all-ones decision matrix, computed with sklearn-free numpy by hand
    known = ~np.isnan(y)
    want = np.mean([(y[i, known[i]] == 1).all() for i in range(len(y))])
    assert ap_base["exact_match"] == pytest.approx(want)
    r2 = evaluate(s, y, np.full(5, 0.5), CLASSES, n_boot=0)
    assert r2["decisions_equal_always_positive"] is False


def test_vs_baseline_permutation_test():
    s, y, th = _data(seed=8, n=200)
    r = evaluate(s, y, th, CLASSES, n_boot=100, n_perm=300)
    vb, base = r["vs_baseline"], r["baseline"]
    # the baseline is a random ranking's expected macro AP: the permutations' mean, at or above the prevalence
    assert base["macro_ap"] == base["random_ranking_macro_ap"] >= base["prevalence_macro_ap"] - 0.01
    assert vb["macro_ap_diff"] == pytest.approx(r["macro_ap"] - base["random_ranking_macro_ap"])
    assert vb["beats_baseline"] is True and vb["p_value"] == pytest.approx(1 / 301)
    # scores independent of the labels: no evidence of beating the baseline
    noise = np.random.default_rng(1).random(s.shape)
    r = evaluate(noise, y, th, CLASSES, n_boot=100, n_perm=300)
    assert r["vs_baseline"]["beats_baseline"] is False and r["vs_baseline"]["p_value"] > 0.05
    assert abs(r["macro_ap"] - r["baseline"]["random_ranking_macro_ap"]) < 0.1


def test_interval_is_basic_on_the_logit_scale():
    """The interval reflects the resamples around the estimate (2 x logit(estimate) - quantiles): AP's upward bias
    in the resamples moves the interval down, where the percentile interval would move it up."""
    from benchmarks.evaluate import bootstrap_macro
    from benchmarks.significance import basic_logit_ci

    s, y, th = _data(seed=9, n=40)
    r = evaluate(s, y, th, CLASSES, n_boot=400, seed=3, n_perm=0)
    boot_ap, _ = bootstrap_macro(s, y, s >= th, n_boot=400, seed=3)
    assert r["macro_ap_ci95"] == pytest.approx(basic_logit_ci(r["macro_ap"], boot_ap))
    lo, hi = r["macro_ap_ci95"]
    assert 0 < lo < r["macro_ap"] < hi < 1
    assert "logit" in r["bootstrap"]["method"]
