"""The verdict's rules tested by simulation: data where the truth is known, many fixed-seed draws, error rates asserted.

Settings: 26 and 60 test images with 2-10 positives per class (the issue's small-test-set regime). Scores are
binormal (positives ~ N(mu, 1), negatives ~ N(0, 1)); the population AP of such a ranker is exact
(selfcheck.population_ap). Each rate is asserted against its nominal value plus ~2.5 Monte-Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from benchmarks.curve.analysis import headline_state
from benchmarks.curve.compare import Replicates, difference, seed_scale
from benchmarks.curve.selfcheck import mu_for_ap, population_ap, self_check
from benchmarks.evaluate import evaluate, per_class_under_counts, resample_counts
from benchmarks.significance import ap_under_labels, basic_logit_ci, holm, permutation_test, row_nanmean, sup_t_band

SETTINGS = {26: [2, 3, 5, 8], 60: [2, 4, 7, 10]}


def labels(n: int, ks: list[int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros((n, len(ks)))
    for c, k in enumerate(ks):
        y[rng.choice(n, k, replace=False), c] = 1
    return y


def macro(scores, y, counts):
    keep = np.ones(y.shape[1], dtype=bool)
    ap, _ = per_class_under_counts(scores, y, np.zeros_like(scores, dtype=bool), counts, keep)
    return row_nanmean(ap)


def limit(rate: float, sims: int) -> float:
    return rate + 2.5 * math.sqrt(rate * (1 - rate) / sims)


def test_ap_matches_sklearn_with_ties():
    rng = np.random.default_rng(3)
    s = np.round(rng.random(50), 1)  # many ties, as a detector's 0-for-no-box scores have
    s[:15] = 0.0
    y = (rng.random((6, 50)) < 0.3).astype(float)
    y[:, 0] = 1
    got = ap_under_labels(s, y, np.ones_like(y))
    want = [average_precision_score(row, s) for row in y]
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("n", sorted(SETTINGS))
def test_baseline_test_false_positive_rate_on_label_independent_scores(n):
    y, sims = labels(n, SETTINGS[n]), 300
    keep = np.ones(y.shape[1], dtype=bool)
    rng = np.random.default_rng(n)
    p = [permutation_test([rng.random(y.shape)], y, keep, n_perm=200, seed=i)["p_value"] for i in range(sims)]
    rate = float(np.mean(np.array(p) < 0.05))
    assert rate <= limit(0.05, sims), f"false 'beats the baseline' rate {rate:.3f} at {n} test images"
    # not vacuous: the p-values of a valid test are uniform, so small ones do occur
    assert float(np.mean(np.array(p) < 0.2)) > 0.1


def test_the_old_rule_fails_where_the_permutation_test_holds():
    """The bootstrap CI of (model - prevalence) called label-independent scores better than the baseline; the
    random ranking's expected AP is above the prevalence with few positives, and the permutation test knows it."""
    y = labels(26, SETTINGS[26])
    rng = np.random.default_rng(0)
    r = [evaluate(rng.random(y.shape), y, np.full(4, 0.5), list("abcd"), n_boot=200, n_perm=200, seed=i)
         for i in range(60)]  # fmt: skip
    rr = np.mean([x["baseline"]["random_ranking_macro_ap"] for x in r])
    prev = r[0]["baseline"]["prevalence_macro_ap"]
    assert rr > prev + 0.03  # 2 positives in 26: a random ranking's AP averages well above the 0.077 prevalence
    assert np.mean([x["vs_baseline"]["beats_baseline"] for x in r]) <= 0.15


def test_scores_that_know_the_labels_beat_the_baseline():
    y = labels(60, SETTINGS[60])
    rng = np.random.default_rng(1)
    hits = [permutation_test([3 * y + rng.standard_normal(y.shape)], y, np.ones(4, bool), 200, i)["p_value"] < 0.05
            for i in range(40)]  # fmt: skip
    assert np.mean(hits) >= 0.95


@pytest.mark.parametrize("n", sorted(SETTINGS))
def test_macro_ap_interval_coverage(n):
    y, sims, mu = labels(n, SETTINGS[n]), 300, 1.5
    truth = np.mean([population_ap(mu, p) for p in y.mean(axis=0)])
    rng = np.random.default_rng(10 + n)
    covered = 0
    for i in range(sims):
        s = mu * y + rng.standard_normal(y.shape)
        est = float(macro(s, y, np.ones((1, n)))[0])
        ci = basic_logit_ci(est, macro(s, y, resample_counts(n, 300, i)))
        covered += ci[0] <= truth <= ci[1]
    assert covered / sims >= 0.90, f"coverage {covered / sims:.3f} at {n} images"


@pytest.mark.parametrize("n", sorted(SETTINGS))
def test_model_vs_model_false_positive_rate_one_seed(n):
    """The verdict's rule (bootstrap interval excludes 0 and the paired permutation test on ranks agrees) on two
    equally good models whose scores live on different scales (a classifier's and a detector's do)."""
    y, sims = labels(n, SETTINGS[n]), 300
    mu = np.array([mu_for_ap(0.6, p) for p in y.mean(axis=0)])
    rng = np.random.default_rng(20 + n)
    wrong = boot_only = 0
    for i in range(sims):
        a, b = mu * y + rng.standard_normal(y.shape), 3 * (mu * y + rng.standard_normal(y.shape)) + 1
        rep = Replicates({"A": {1.0: {0: a}}, "B": {1.0: {0: b}}}, y, np.ones(4, bool), 200, i)
        d = difference(rep, "A", "B", 1.0, n_perm=200, seed=i)
        wrong += headline_state(d) != "tie"
        boot_only += d["ci95"][0] > 0 or d["ci95"][1] < 0
    assert wrong / sims <= limit(0.05, sims), f"false 'ahead' rate {wrong / sims:.3f} at {n} images"
    # the bootstrap alone runs above 5% here; the permutation test is what brings the rule down to it
    assert boot_only > wrong


def test_model_vs_model_false_positive_rate_with_seed_noise():
    """Three seeds whose training noise dominates (each seed shifts a model's separation): without the small-k
    scaling a bootstrap over three seeds calls equal models different far too often; with it, at most ~5%."""
    y, sims, k = labels(60, SETTINGS[60]), 200, 3
    rng = np.random.default_rng(5)
    wrong = 0
    for i in range(sims):
        sets = {}
        for m in ("A", "B"):
            sets[m] = {1.0: {s: (1.5 + rng.normal(0, 0.8)) * y + 0.3 * rng.standard_normal(y.shape) for s in range(k)}}
        rep = Replicates(sets, y, np.ones(4, bool), 200, i)
        lo, hi = difference(rep, "A", "B", 1.0)["ci95"]
        wrong += lo > 0 or hi < 0
    assert wrong / sims <= limit(0.05, sims), f"false 'ahead' rate {wrong / sims:.3f} with 3 noisy seeds"
    assert seed_scale(3) > 2.5 and seed_scale(1) == 1.0


def test_planted_difference_is_detected():
    y, sims = labels(60, SETTINGS[60]), 100
    prev = y.mean(axis=0)
    strong = np.array([mu_for_ap(0.85, p) for p in prev])
    weak = np.array([mu_for_ap(0.4, p) for p in prev])
    rng = np.random.default_rng(7)
    hits = 0
    for i in range(sims):
        a, b = strong * y + rng.standard_normal(y.shape), weak * y + rng.standard_normal(y.shape)
        rep = Replicates({"A": {1.0: {0: a}}, "B": {1.0: {0: b}}}, y, np.ones(4, bool), 200, i)
        d = difference(rep, "A", "B", 1.0, n_perm=200, seed=i)
        hits += headline_state(d) == "a" and d["p_a_better"] > 0.95
    assert hits / sims >= 0.8


def test_holm_by_hand():
    r = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": None})
    assert r["a"] == {"p": 0.01, "p_holm": 0.03, "reject": True}
    assert r["c"]["p_holm"] == pytest.approx(0.06) and r["c"]["reject"] is False
    assert r["b"]["p_holm"] == pytest.approx(0.06) and r["b"]["reject"] is False  # monotone: never below c's
    assert r["d"]["reject"] is False


def test_sup_t_band_is_simultaneous():
    """Independent null columns: the band must contain 0 in every column together ~95% of the time (pointwise 95%
    intervals over 20 columns would all hold only ~36% of the time)."""
    rng = np.random.default_rng(0)
    held = 0
    for _ in range(300):
        est = rng.standard_normal(20)
        reps = est + rng.standard_normal((400, 20))
        lo, hi = sup_t_band(reps, est)
        held += bool(((lo <= 0) & (hi >= 0)).all())
    assert held / 300 >= 0.90


def test_population_ap_and_its_inverse():
    assert population_ap(0.0, 0.2) == pytest.approx(0.2, abs=1e-3)  # a random ranker's population AP
    assert population_ap(6.0, 0.2) > 0.99
    assert population_ap(mu_for_ap(0.6, 0.1), 0.1) == pytest.approx(0.6, abs=1e-3)


def test_self_check_on_a_tiny_test_set_says_nothing_can_be_detected():
    y = labels(26, SETTINGS[26])
    r = self_check(y, {"m": [0.6] * 4}, sims=60, n_boot=100, n_perm=100)
    assert r["false_beats_rate"] <= limit(0.05, 60) and r["coverage"] >= 0.8
    assert r["power"]["0.05"] < 0.3  # 26 images cannot see a 0.05 difference
    big = self_check(labels(400, [40, 60, 80, 100]), {"m": [0.6] * 4}, sims=40, n_boot=100, n_perm=100)
    assert big["detectable_difference"] is not None and big["detectable_difference"] <= 0.15


def test_splits_combine_by_students_t_without_counting_the_test_noise_twice():
    """Three splits whose differences carry only noise (sd 1): the combined 95% interval covers the truth ~95% of the
    time and is as wide as Student's t over three values, not wider (each split's own bootstrap is not added)."""
    from scipy.stats import t as student

    from benchmarks.curve.compare import combine_splits

    rng = np.random.default_rng(4)
    covered, widths = 0, []
    for i in range(400):
        per = {r: {"diff": float(rng.standard_normal()), "fraction": 1.0, "n_boot": 200, "method": "m",
                   "seeds": [0], "n_seeds": 1, "replicates": rng.standard_normal(200)} for r in range(3)}  # fmt: skip
        d = combine_splits(per, seed=i)
        covered += d["ci95"][0] <= 0 <= d["ci95"][1]
        widths.append(d["ci95"][1] - d["ci95"][0])
        assert d["n_splits"] == 3 and len(d["replicates"]) == 200
    assert 0.92 <= covered / 400 <= 0.98
    expected = 2 * student.ppf(0.975, 2) * np.mean([np.std(rng.standard_normal(3), ddof=1) for _ in range(4000)])
    assert np.mean(widths) == pytest.approx(expected / np.sqrt(3), rel=0.15)
