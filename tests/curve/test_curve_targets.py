"""Hours to reach a target on made-up curves: monotone, noisy, not reached, reached at once; and its interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from benchmarks.curve.compare import Replicates
from benchmarks.curve.targets import hours_to, hours_to_target, isotonic


def test_isotonic_matches_scikit_learn():
    rng = np.random.default_rng(0)
    for _ in range(50):
        y = rng.random(rng.integers(1, 9))
        want = IsotonicRegression().fit_transform(np.arange(len(y)), y)
        np.testing.assert_allclose(isotonic(y), want, atol=1e-12)


def test_monotone_curve_interpolates_in_log_hours():
    hours, ap = np.array([0.1, 1.0, 10.0]), np.array([0.4, 0.6, 0.8])
    # 0.7 is halfway between the 1 h and 10 h points: halfway in log hours is sqrt(10) h
    assert hours_to(0.7, hours, ap) == pytest.approx(math.sqrt(10))
    assert hours_to(0.3, hours, ap) == pytest.approx(0.1)  # reached at the cheapest point already
    assert hours_to(0.85, hours, ap) is None  # above the last point: not reached, never extrapolated


def test_noisy_curve_is_read_from_its_monotone_fit():
    # the dip at 1 h is noise: pooled with its neighbour, the fit is flat at 0.5 from 0.3 h to 1 h
    hours, ap = np.array([0.1, 0.3, 1.0, 3.0]), np.array([0.3, 0.6, 0.4, 0.9])
    assert hours_to(0.5, hours, ap) == pytest.approx(0.3)
    # unsorted input is sorted by hours first
    assert hours_to(0.5, hours[::-1], ap[::-1]) == pytest.approx(0.3)


def test_crossing_curves_each_reach_the_other():
    cls = (np.array([0.02, 0.05, 0.1]), np.array([0.6, 0.65, 0.7]))
    det = (np.array([0.1, 0.5, 2.0]), np.array([0.4, 0.7, 0.9]))
    assert hours_to(cls[1][-1], *det) == pytest.approx(0.5)  # the detector matches the classifier's best at 0.5 h
    assert hours_to(det[1][-1], *cls) is None  # the classifier never reaches the detector's best


def test_interval_from_replicates_and_not_reached_share():
    rng = np.random.default_rng(1)
    y = np.zeros((80, 2))
    y[rng.choice(80, 15, replace=False), 0] = 1
    y[rng.choice(80, 25, replace=False), 1] = 1
    sets = {"m": {f: {0: mu * y + rng.standard_normal(y.shape)} for f, mu in ((0.25, 0.5), (0.5, 1.5), (1.0, 3.0))}}
    rep = Replicates(sets, y, np.ones(2, bool), 300, 0)
    hours = {0.25: 0.1, 0.5: 0.2, 1.0: 0.4}
    mid = rep.curve_value("m", 0.5)[0]
    r = hours_to_target(rep, "m", hours, mid)
    assert r["hours"] == pytest.approx(0.2, rel=0.05) and r["reached_share"] > 0.9
    lo, hi = r["ci95"]
    assert lo <= r["hours"] <= hi
    top = hours_to_target(rep, "m", hours, 0.999)
    assert top["hours"] is None and top["reached_share"] < 0.05
