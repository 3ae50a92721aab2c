"""The budget sentence and the verdict on made-up runs: points with known labeling hours and synthetic test scores of
known quality, through analysis.analyse() (the statistics) and verdict() (the words)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.curve.analysis import analyse
from benchmarks.curve.verdict import verdict

CLS, DET = "the classifier (folder sorting)", "the detector (CVAT boxes)"
N, KS = 120, [12, 20, 30]


def _targets(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros((N, len(KS)))
    for c, k in enumerate(KS):
        y[rng.choice(N, k, replace=False), c] = 1
    return y


Y = _targets()


def _run(cls_hours, cls_mu, det_hours, det_mu, seeds=(0,), fractions=(0.25, 0.5, 1.0), lo=None, hi=None, flags=None,
         sims=0):  # fmt: skip
    """Points and scores: method m at fraction f gets binormal scores with separation mu[i] (0 = knows nothing)."""
    rng = np.random.default_rng(1)
    points, scores = [], {}
    for method, hours, mus in (("folder_sort", cls_hours, cls_mu), ("cvat", det_hours, det_mu)):
        for h, mu, f in zip(hours, mus, fractions):
            for s in seeds:
                key = f"{method}/f{f}-s{s}"
                rate = (lo or {}).get(method, 1.0), (hi or {}).get(method, 1.0)
                points.append({
                    "key": key, "candidate": "resnet18" if method == "folder_sort" else "yolo11n",
                    "pipeline": "classifier" if method == "folder_sort" else "detector", "method": method,
                    "fraction": f, "seed": s, "n_images": int(400 * f),
                    "labeling": {"hours": h, "hours_lo": h * rate[0], "hours_hi": h * rate[1], "source": "modeled",
                                 "rate": {"unit": "box" if method == "cvat" else "image",
                                          "value": 10.0, "lo": 10.0 * rate[0], "hi": 10.0 * rate[1]}},
                    "accuracy": {}, **((flags or {}).get((method, f)) or {}),
                })  # fmt: skip
                scores[key] = mu * Y + rng.standard_normal(Y.shape)
    stats = analyse(points, scores, Y, n_boot=300, n_perm=300, seed=0, sims=sims)
    return verdict(points, stats), stats


def test_classifier_ahead_where_both_measured():
    v, _ = _run([0.05, 0.1, 0.2], [3, 3.2, 3.5], [0.05, 0.1, 0.2], [0.3, 0.4, 0.5])
    assert f"Where both were measured (0.05 to 0.2 labeling hours): {CLS} is ahead everywhere." in v["answer"]
    assert v["headline"]["state"] == "b" and f"With all train images {CLS} is ahead of {DET}" in v["answer"]
    assert [s["state"] for s in v["sentence"]["segments"]] == ["folder_sort"]


def test_crossing_curves():
    # the classifier saturates early and low; the detector starts lower and overtakes it
    v, _ = _run([0.05, 0.2, 1.0], [1.5, 1.6, 1.7], [0.05, 0.2, 1.0], [0.0, 1.6, 4.0])
    states = [s["state"] for s in v["sentence"]["segments"]]
    assert states[0] == "folder_sort" and states[-1] == "cvat" and "tie" in states
    assert f"{CLS} is ahead;" in v["answer"] and f"h on {DET} is ahead." in v["answer"]


def test_equal_models_are_not_distinguishable():
    v, stats = _run([0.05, 0.1, 0.2], [1.5] * 3, [0.05, 0.1, 0.2], [1.5] * 3)
    assert stats["headline"]["state"] == "tie"
    assert "the two methods are not distinguishable" in v["answer"]
    assert "the difference is within the uncertainty everywhere" in v["answer"]
    assert "Nothing is ahead at any budget measured for both" in v["what_would_change"]


def test_never_measured_at_the_same_hours_is_said_with_numbers():
    v, stats = _run([0.03, 0.06, 0.13], [1, 2, 3], [0.4, 0.8, 1.6], [1, 2, 3])
    assert stats["bands"]["nominal"]["overlap"] is None
    assert "The two methods were never measured at the same labeling hours" in v["answer"]
    assert "0.03-0.13 h" in v["answer"] and "0.4-1.6 h" in v["answer"]
    assert v["sentence"]["segments"] == []


def test_partial_overlap_names_where_only_one_was_measured():
    v, _ = _run([0.02, 0.05, 0.1], [2, 2, 2], [0.05, 0.2, 0.8], [2, 2, 2])
    assert "Where both were measured (0.05 to 0.1 labeling hours)" in v["answer"]
    assert f"Below 0.05 h only {CLS} was measured" in v["answer"]
    assert f"above 0.1 h only {DET} was measured (to 0.8 h)" in v["answer"]


def test_inconclusive_when_no_model_beats_a_random_ranking():
    v, stats = _run([0.05, 0.1, 0.2], [0, 0, 0], [0.05, 0.1, 0.2], [0, 0, 0])
    assert v["inconclusive"] is True and v["answer"].startswith("Inconclusive on this data")
    assert all(m["beats_baseline"] is False for m in v["models"].values())
    assert stats["baseline"]["resnet18"]["holm_over"] == 2


def test_one_seed_says_training_variance_was_not_measured_and_seeds_are_counted():
    v, _ = _run([0.05, 0.1, 0.2], [2] * 3, [0.05, 0.1, 0.2], [2] * 3)
    assert "Training variance was not measured (one seed" in v["how_sure"]
    v, stats = _run([0.05, 0.1, 0.2], [2] * 3, [0.05, 0.1, 0.2], [2] * 3, seeds=(0, 1, 2))
    assert stats["headline"]["n_seeds"] == 3 and "Seeds: 3 per budget" in v["how_sure"]
    assert "3 seeds" in v["answer"]


def test_rate_range_moves_the_answer():
    # at nominal rates the curves meet only where the detector is far ahead; with boxes at their slowest, the
    # detector's hours move out beyond the classifier's and nothing is compared any more
    v, _ = _run([0.05, 0.1, 0.2], [1.0, 1.1, 1.2], [0.05, 0.1, 0.2], [3.5, 3.6, 3.8],
                lo={"cvat": 0.7}, hi={"cvat": 5.0})  # fmt: skip
    assert v["rate_range"]["survives"] is False
    assert "The budget answer depends on the labeling rates" in v["what_would_change"]
    v, _ = _run([0.05, 0.1, 0.2], [1.0, 1.1, 1.2], [0.05, 0.1, 0.2], [3.5, 3.6, 3.8])
    assert v["rate_range"]["survives"] is True and "holds across the labeling-rate range" in v["what_would_change"]


def test_undertrained_and_capped_points_are_named():
    flags = {("cvat", 0.25): {"undertrained": True, "recipe": {"capped": True}}}
    v, _ = _run([0.05, 0.1, 0.2], [2] * 3, [0.05, 0.1, 0.2], [2] * 3, flags=flags)
    assert "possibly undertrained: CVAT boxes at 0.25 (seed 0)" in v["what_would_change"]
    assert "Capped (fewer optimizer steps than the full run): CVAT boxes at 0.25" in v["what_would_change"]
    assert v["undertrained"] == [{"candidate": "yolo11n", "method": "cvat", "fraction": 0.25, "seed": 0, "split": None}]


def test_how_sure_section_reports_measured_error_rates():
    v, stats = _run([0.05, 0.1, 0.2], [2] * 3, [0.05, 0.1, 0.2], [2] * 3, sims=40)
    check = stats["self_check"]
    assert 0 <= check["false_beats_rate"] <= 1 and 0 <= check["coverage"] <= 1
    assert f"Measured on this run's {N} test images (40 simulations" in v["how_sure"]


def test_records_are_json_and_empty_input_is_said():
    v, stats = _run([0.05, 0.1, 0.2], [2] * 3, [0.05, 0.1, 0.2], [2] * 3)
    json.dumps(v)
    json.dumps({k: val for k, val in stats.items()}, default=float)
    empty = verdict([], analyse([], {}, Y))
    assert empty["text"] == "No budget point was scored, so there is no verdict."


@pytest.mark.parametrize("seed", [0])
def test_band_false_positive_rate_along_equal_curves(seed):
    """Equal curves (same quality at every budget), 26 test images: 'ahead' anywhere on the curve or at full data
    must be rare (the band is simultaneous over the grid and the headline)."""
    global Y
    rng = np.random.default_rng(seed)
    y = np.zeros((26, 4))
    for c, k in enumerate([2, 3, 5, 8]):
        y[rng.choice(26, k, replace=False), c] = 1
    old, Y = Y, y
    try:
        wrong, sims = 0, 60
        for i in range(sims):
            points, scores = [], {}
            for method in ("folder_sort", "cvat"):
                for f, h, mu in zip((0.25, 0.5, 1.0), (0.05, 0.1, 0.2), (0.8, 1.2, 1.5)):
                    key = f"{method}/{f}"
                    points.append({"key": key, "candidate": method, "method": method, "fraction": f, "seed": 0,
                                   "labeling": {"hours": h, "hours_lo": h, "hours_hi": h}})  # fmt: skip
                    scores[key] = mu * y + rng.standard_normal(y.shape)
            stats = analyse(points, scores, y, n_boot=200, n_perm=200, seed=i, sims=0)
            states = set(stats["bands"]["nominal"]["state"]) | {stats["headline"]["state"]}
            wrong += states != {"tie"}
        assert wrong / sims <= 0.12, f"'ahead' somewhere on equal curves in {wrong}/{sims} runs"
    finally:
        Y = old


def test_crossover_hours_move_with_the_box_rate():
    # the classifier leads at small budgets, the detector at large ones; slower boxes push the change of lead later
    rates = {"cvat": 0.7}, {"cvat": 3.5}
    v, _ = _run([0.05, 0.2, 1.0], [2.0, 2.1, 2.2], [0.05, 0.2, 1.0], [0.2, 2.1, 4.5], lo=rates[0], hi=rates[1])
    cross = v["rate_range"]["crossover_hours"]
    assert cross["nominal"] is not None and cross["boxes_dear"] is not None
    assert cross["boxes_dear"] > cross["nominal"]  # dearer boxes: the classifier keeps the lead for longer
    assert v["rate_range"]["s_per_box"] == {"boxes_cheap": 7.0, "nominal": 10.0, "boxes_dear": 35.0}
    assert "Where the lead changes, by box rate: 7 s per box: " in v["what_would_change"]


def test_hours_to_match_the_other_method_and_money():
    # the detector reaches the classifier's full-data accuracy (mu 2) between its 0.2 h and 1 h points
    points_v, stats = _run([0.05, 0.2, 1.0], [1.0, 1.5, 2.0], [0.05, 0.2, 1.0], [0.5, 1.2, 4.0])
    det = {e["name"]: e for e in stats["hours_to_target"]["cvat"]}["folder sorting at full data"]
    assert 0.2 < det["hours"] < 1.0
    assert f"The detector (CVAT boxes) reaches the full-data macro AP of {CLS}" in points_v["answer"]
    cls = {e["name"]: e for e in stats["hours_to_target"]["folder_sort"]}["CVAT boxes at full data"]
    assert (
        cls["hours"] is None
        and f"The classifier (folder sorting) does not reach the full-data macro AP of {DET}" in (points_v["answer"])
    )
    from benchmarks.curve.verdict import _target_lines

    line = _target_lines({"cvat": [det]}, usd=30.0)[0]
    assert f"(USD {det['hours'] * 30:,.0f})" in line


def test_one_method_only_is_said():
    from benchmarks.curve.sentence import curve_sentence

    r = curve_sentence({"state": []}, {"folder_sort": [0.05, 0.2], "cvat": None})
    assert r["text"] == f"No budget comparison: points with labeling hours exist for {CLS} only."
