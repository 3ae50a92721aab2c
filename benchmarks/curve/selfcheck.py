""" "How sure is this": the verdict's own error rates, measured by simulation on this run's test label matrix.

The test images' labels stay as they are (the run's own class counts and co-occurrences); only the scores are
simulated, so the numbers answer "with *these* test labels, how often would each rule be wrong":
- false "beats the baseline": scores independent of the labels (standard normal), run through the permutation
  test; the share called "beats" (should be <= alpha);
- false "ahead": two models of equal quality (the same binormal separation per class, matched to the models'
  observed per-class AP, independent noise), run through the verdict's rule (paired bootstrap interval excludes 0
  and the paired permutation test on ranks agrees); the share called different (should be <= 5%);
- interval coverage: one model with that separation; the share of 95% macro-AP intervals that contain its
  population macro AP (exact, from the binormal model);
- power: a planted difference of `delta` macro AP (the weaker model's separation lowered until its population AP
  is `delta` below, per class); the share detected in the right direction; and the smallest planted difference
  detected 80% of the time (the detectable difference at this test-set size).
Binormal scores (positives ~ N(mu, 1), negatives ~ N(0, 1)) are the standard model of a ranker (Hanley & McNeil
1982); population AP = integral of precision over recall. One seed each (image-level noise only): the training
noise is what the seeds measure.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from benchmarks.evaluate import macro_ap_under_counts as _macro
from benchmarks.evaluate import resample_counts
from benchmarks.significance import (
    ALPHA,
    basic_logit_ci,
    paired_permutation_test,
    percentile_ci,
    permutation_test,
)

DELTAS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
POWER_TARGET = 0.8
METHOD = (
    "simulated on this run's test labels: binormal scores (positives ~ N(mu, 1), negatives ~ N(0, 1)) with mu "
    "matched per class to the models' observed AP; label-independent scores for the baseline test"
)


def population_ap(mu: float, prevalence: float, n: int = 4001) -> float:
    """AP of a binormal ranker with separation mu on a population with this prevalence."""
    # deferred: scipy is heavy
    from scipy.stats import norm

    r = (np.arange(n) + 0.5) / n
    fpr = norm.cdf(norm.ppf(r) - mu)
    prec = prevalence * r / (prevalence * r + (1 - prevalence) * fpr)
    return float(prec.mean())


def mu_for_ap(ap: float, prevalence: float) -> float:
    """The separation whose population AP is `ap` (bisection; clipped to what a binormal ranker can reach)."""
    lo, hi = 0.0, 8.0
    ap = min(max(ap, population_ap(0.0, prevalence) + 1e-4), population_ap(8.0, prevalence) - 1e-4)
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if population_ap(mid, prevalence) < ap else (lo, mid)
    return (lo + hi) / 2


def _ahead(a, b, y, keep, counts, n_perm, seed, alpha) -> str:
    """The verdict's one-seed rule for "ahead" (analysis.headline_state): the paired bootstrap interval excludes 0
    and the paired permutation test on ranks agrees."""
    ci = percentile_ci(_macro(a, y, keep, counts) - _macro(b, y, keep, counts))
    if ci is None or ci[0] <= 0 <= ci[1]:
        return "tie"
    p = paired_permutation_test([a], [b], y, keep, n_perm=n_perm, seed=seed)["p_value"]
    return "tie" if p is None or p >= alpha else ("a" if ci[0] > 0 else "b")


def self_check(
    targets: np.ndarray, observed_ap: dict[str, list[float]] | None = None, sims: int = 200, n_boot: int = 200,
    n_perm: int = 200, seed: int = 0, alpha: float = ALPHA,
) -> dict:  # fmt: skip
    """The rules' error rates on these test labels. observed_ap: {model: per-class AP (NaN = not evaluated)}; their
    mean per class sets the simulated models' quality (default: AP 0.7). Returns a JSON-ready dict."""
    t0 = time.perf_counter()
    y = np.asarray(targets, dtype=np.float64)
    known = ~np.isnan(y)
    yy = np.nan_to_num(y, nan=0.0)
    support, labelled = (yy * known).sum(axis=0), known.sum(axis=0)
    keep = (support > 0) & (labelled > support)
    n, n_cls = y.shape
    out = {"n_test": int(n), "n_classes": int(keep.sum()), "sims": int(sims), "n_boot": int(n_boot),
           "n_perm": int(n_perm), "alpha": alpha, "method": METHOD}  # fmt: skip
    if n < 2 or not keep.any():
        return {**out, "error": "no class with a positive and a negative among the test images: nothing to simulate"}
    prev = np.where(labelled > 0, support / np.maximum(labelled, 1), np.nan)
    target_ap = np.full(n_cls, 0.7)
    if observed_ap:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a class no model could be scored on: all NaN
            obs = np.nanmean(np.array([np.asarray(v, dtype=float) for v in observed_ap.values()]), axis=0)
        # a perfect or near-perfect model leaves nothing to simulate (AP 1 has no interval): 0.95 at most
        target_ap = np.minimum(np.where(np.isfinite(obs), obs, target_ap), 0.95)
    mu = np.array([mu_for_ap(float(target_ap[c]), float(prev[c])) if keep[c] else 0.0 for c in range(n_cls)])
    truth = float(np.mean([population_ap(mu[c], prev[c]) for c in np.flatnonzero(keep)]))
    rng = np.random.default_rng(seed)
    one = np.ones((1, n))

    def model(m):
        return m[None, :] * yy + rng.standard_normal((n, n_cls))

    false_beats = false_ahead = covered = 0
    for _ in range(sims):
        noise = rng.standard_normal((n, n_cls))
        p = permutation_test([noise], y, keep, n_perm=n_perm, seed=int(rng.integers(1 << 31)))["p_value"]
        false_beats += p is not None and p < alpha
        counts = resample_counts(n, n_boot, int(rng.integers(1 << 31)))
        a, b = model(mu), model(mu)
        false_ahead += _ahead(a, b, y, keep, counts, n_perm, int(rng.integers(1 << 31)), alpha) != "tie"
        est = float(_macro(a, y, keep, one)[0])
        ci_a = basic_logit_ci(est, _macro(a, y, keep, counts))
        covered += ci_a is not None and ci_a[0] <= truth <= ci_a[1]
    out.update({"false_beats_rate": false_beats / sims, "false_ahead_rate": false_ahead / sims,
                "coverage": covered / sims, "population_macro_ap": truth,
                "simulated_ap": target_ap.tolist()})  # fmt: skip
    power, detectable = {}, None
    power_sims = max(20, sims // 2)
    for delta in DELTAS:
        weaker = np.array([
            mu_for_ap(max(population_ap(mu[c], prev[c]) - delta, 1e-3), prev[c]) if keep[c] else 0.0
            for c in range(n_cls)
        ])  # fmt: skip
        hit = 0
        for _ in range(power_sims):
            counts = resample_counts(n, n_boot, int(rng.integers(1 << 31)))
            side = _ahead(model(mu), model(weaker), y, keep, counts, n_perm, int(rng.integers(1 << 31)), alpha)
            hit += side == "a"
        power[f"{delta:g}"] = hit / power_sims
        if detectable is None and hit / power_sims >= POWER_TARGET:
            detectable = delta
        if delta >= 0.05 and detectable is not None:
            break
    out.update({"power": power, "power_at_0.05": power.get("0.05"), "detectable_difference": detectable,
                "power_target": POWER_TARGET, "power_sims": power_sims,
                "wall_s": round(time.perf_counter() - t0, 2)})  # fmt: skip
    return out


def summary(check: dict) -> str:
    """One paragraph for the verdict: the measured error rates and the smallest detectable difference."""
    if not check or check.get("error"):
        return (check or {}).get("error", "not measured")
    n, sims = check["n_test"], check["sims"]
    mc = 1.96 * math.sqrt(0.05 * 0.95 / sims)
    det = check.get("detectable_difference")
    largest = max(float(k) for k in check.get("power", {"0.4": 0})) if check.get("power") else 0.4
    size = (
        f"differences of {det:g} macro AP or more are detected {check['power_target']:.0%} of the time"
        if det is not None
        else f"with {n} test images no difference up to {largest:g} macro AP is detected "
        f"{check['power_target']:.0%} of the time: the test set is too small for any claim about the difference"
    )
    return (
        f"Measured on this run's {n} test images ({sims} simulations, +-{mc:.2f} Monte-Carlo error on a 5% rate): "
        f"a model whose scores know nothing is called better than the baseline {check['false_beats_rate']:.1%} of "
        f"the time (alpha {check['alpha']:.0%}); two equally good models are called different "
        f"{check['false_ahead_rate']:.1%} of the time; the 95% macro-AP intervals contain the true value "
        f"{check['coverage']:.0%} of the time; a real difference of 0.05 macro AP is detected "
        f"{(check.get('power_at_0.05') or 0):.0%} of the time, and {size}."
    )
