"""The statistics behind every claim of the verdict, in numpy: intervals, the baseline test, multiplicity.

Chosen by measured error rates on the small, imbalanced test sets this tool sees (2-10 positives per class among
26-600 test images; the simulations live in tests/curve/test_significance.py and in the report's own
"How sure is this" section, benchmarks/curve/selfcheck.py):

- Interval of a macro AP (or F1): the *basic* bootstrap interval on the logit scale. AP is biased upwards when a
  class has few positives, and a resample (with duplicated images) is biased further, so the percentile interval
  sits above the truth (coverage 54-87% measured at 26-60 images); the basic interval reflects the bootstrap
  distribution around the estimate (2 x estimate - quantiles), which subtracts the bias the resamples show, and the
  logit scale keeps it inside (0, 1) and follows the skew near 0 and 1 (Efron & Tibshirani 1993, ch. 13-14;
  Davison & Hinkley 1997, sec. 5.2-5.3). Measured coverage of the 95% interval, binormal scores with separation
  0.5-2.5: 86-95% at 26 images, 80-94% at 60, 85-95% at 150 (lowest for near-random models, where AP's bias is
  largest); the percentile interval: 52-91%, the plain basic 55-95%, BCa 77-94%, a per-class stratified bootstrap
  52-78%.
- A class whose positives all drop out of a resample is left out of that resample's macro (no AP is defined); this
  measured better than discarding such resamples (coverage 76-95% against 80-95%).
- "Beats the baseline": a one-sided permutation test of macro AP (Good 2005; Dror et al. 2018). The rows of the
  score matrix are permuted over the test images (so the classes' scores stay together, and their correlations are
  kept) and the macro AP recomputed; p = (1 + #{permuted >= observed}) / (1 + permutations). The null is exactly
  "the scores know nothing about the labels", so the false-positive rate is alpha by construction, whatever the
  class counts; the baseline line is the permutation mean (the AP a random ranking gets on these labels), which is
  above the prevalence when a class has few positives.
- "Ahead" between two models on the same test images: a paired permutation test on ranks (Bandos, Rockette & Gur
  2005, for two ROC areas from a paired design): per class each model's scores become ranks (AP depends on nothing
  else), and each test image's pair of rank vectors is swapped between the two models at random; two-sided
  p-value of the mean difference in macro AP (over seeds, one swap mask for every seed). Exact when the two models
  are exchangeable per image; the paired bootstrap alone called equal models different 6.7-6.8% of the time at 26
  and 60 test images (600 simulations). A claim needs this test and the bootstrap interval (which carries the seed
  noise) to agree: an intersection-union test is at most as often wrong as either (Berger 1982).
- Several claims at once: Holm's step-down correction (Holm 1979) across the p-values a sentence cites; across a
  curve's budgets, a simultaneous sup-t band from the bootstrap replicates (Montiel Olea & Plagborg-Moller 2019).
"""

from __future__ import annotations

import warnings

import numpy as np

ALPHA = 0.05
CI_METHOD = (
    "basic bootstrap interval on the logit scale (2 x logit(estimate) - the resamples' logit quantiles), test images "
    "resampled with replacement; a class without a positive in a resample is left out of that resample's macro"
)
PAIRED_PERMUTATION_METHOD = (
    "two-sided paired permutation test on ranks: per class each model's scores ranked, each test image's pair of "
    "rank vectors swapped between the models at random (one mask for every seed), mean macro-AP difference"
)
PERMUTATION_METHOD = (
    "one-sided permutation test: the score matrix's rows permuted over the test images (class correlations kept), "
    "macro AP recomputed; p = (1 + #permuted >= observed) / (1 + permutations); the baseline is the permutations' "
    "mean macro AP (what a random ranking scores on these labels)"
)


def ap_under_labels(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exact AP of one class's N scores under B labelings and weightings at once: scores (N,), labels (B, N) in {0,1},
    weights (B, N) (bootstrap counts or a labelled mask; 0 = left out). Returns (B,), NaN where a row has no
    positive. scikit-learn's definition (sum over distinct thresholds of recall gain x precision; tied scores form
    one threshold)."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    y, w = labels[:, order], weights[:, order]
    group_end = np.r_[s[1:] != s[:-1], True]  # last index of each run of tied scores
    tp = np.cumsum(w * y, axis=1)[:, group_end]
    fp = np.cumsum(w * (1 - y), axis=1)[:, group_end]
    pos = tp[:, -1]
    gain = np.diff(tp, axis=1, prepend=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        ap = (gain * precision).sum(axis=1) / pos
    return np.where(pos > 0, ap, np.nan)


def row_nanmean(x: np.ndarray) -> np.ndarray:
    """Mean over the last axis, NaN where a row has no defined value."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        return np.nanmean(x, axis=-1)


def _logit(p):
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def basic_logit_ci(estimate: float | None, replicates: np.ndarray, level: float = 0.95) -> list[float] | None:
    """[lo, hi] of a quantity in [0, 1]: basic bootstrap interval on the logit scale (see the module docstring)."""
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    if estimate is None or not np.isfinite(estimate) or r.size == 0:
        return None
    a = (1 - level) / 2
    q_lo, q_hi = np.percentile(_logit(r), [100 * a, 100 * (1 - a)])
    t = _logit(estimate)
    return [float(_expit(2 * t - q_hi)), float(_expit(2 * t - q_lo))]


def percentile_ci(replicates: np.ndarray, level: float = 0.95) -> list[float] | None:
    r = np.asarray(replicates, dtype=np.float64)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return None
    a = (1 - level) / 2
    lo, hi = np.percentile(r, [100 * a, 100 * (1 - a)])
    return [float(lo), float(hi)]


def macro_ap_under_permutations(
    score_sets: list[np.ndarray], targets: np.ndarray, keep: np.ndarray, perms: np.ndarray
) -> np.ndarray:
    """(P, S): macro AP of each of S score matrices (N, C) on the same test images when the labels are permuted by
    each row of `perms` (P, N) (equivalent to permuting the score rows: only the pairing changes). `keep` (C,): the
    classes entering the macro. A row of `perms` equal to arange(N) gives the observed value."""
    known = ~np.isnan(targets)
    y = np.nan_to_num(targets, nan=0.0)
    out = np.full((perms.shape[0], len(score_sets)), np.nan)
    per = np.full((perms.shape[0], len(score_sets), targets.shape[1]), np.nan)
    for c in np.flatnonzero(keep):
        yc, kc = y[perms, c], known[perms, c].astype(np.float64)  # labels travel with their "labelled" mask
        for j, s in enumerate(score_sets):
            per[:, j, c] = ap_under_labels(np.asarray(s, dtype=np.float64)[:, c], yc, kc)
    if keep.any():
        out = row_nanmean(per)
    return out


def permutation_test(
    score_sets: list[np.ndarray], targets: np.ndarray, keep: np.ndarray, n_perm: int = 1000, seed: int = 0
) -> dict:
    """Does the mean macro AP of these score matrices (e.g. one model's seeds, all on the same test images) beat a
    random ranking? One permutation of the test images is applied to every matrix alike.

    Returns {observed, random_ranking_ap, p_value, n_perm, method}; p_value None when no class is evaluable."""
    return permutation_test_groups([(score_sets, targets, keep)], n_perm, seed)


def permutation_test_groups(groups: list[tuple], n_perm: int = 1000, seed: int = 0) -> dict:
    """permutation_test over several test sets (splits): groups [(score_sets, targets, keep)]; the statistic is the
    mean over groups of each group's mean macro AP; each group's images are permuted independently."""
    base = {"n_perm": int(n_perm), "method": PERMUTATION_METHOD}
    groups = [g for g in groups if g[1].shape[0] > 0 and np.asarray(g[2]).any() and g[0]]
    if not groups or n_perm < 1:
        return {"observed": None, "random_ranking_ap": None, "p_value": None, **base}
    rng = np.random.default_rng(seed)
    obs, null = 0.0, np.zeros(n_perm)
    for score_sets, targets, keep in groups:
        n = targets.shape[0]
        perms = np.argsort(rng.random((n_perm, n)), axis=1)
        obs += float(np.mean(macro_ap_under_permutations(score_sets, targets, keep, np.arange(n)[None, :])[0]))
        null += macro_ap_under_permutations(score_sets, targets, keep, perms).mean(axis=1)
    obs, null = obs / len(groups), null / len(groups)
    p = (1 + int(np.sum(null >= obs - 1e-12))) / (1 + n_perm)
    return {"observed": obs, "random_ranking_ap": float(np.mean(null)), "p_value": float(p), **base}


def holm(p_values: dict[str, float | None], alpha: float = ALPHA) -> dict[str, dict]:
    """Holm's step-down correction: {name: {p, p_holm, reject}}; None p-values are carried, never rejected."""
    items = sorted(((k, p) for k, p in p_values.items() if p is not None), key=lambda kv: kv[1])
    m = len(items)
    out: dict[str, dict] = {k: {"p": None, "p_holm": None, "reject": False} for k, p in p_values.items() if p is None}
    running, still = 0.0, True
    for i, (k, p) in enumerate(items):
        adj = min(1.0, max(running, (m - i) * p))
        running = adj
        still = still and adj <= alpha
        out[k] = {"p": float(p), "p_holm": float(adj), "reject": bool(still)}
    return out


def sup_t_band(replicates: np.ndarray, estimate: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Simultaneous band over G points from (B, G) bootstrap replicates: estimate +- c x sd, c the `level` quantile
    of max_g |replicate - estimate| / sd over the replicates (sup-t). Points with sd 0 get a zero-width band."""
    r = np.asarray(replicates, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(r, axis=0, ddof=1)
        z = np.abs(r - est[None, :]) / np.where(sd > 0, sd, np.inf)[None, :]
        t = np.nanmax(z, axis=1)
    c = float(np.quantile(t[np.isfinite(t)], level)) if np.isfinite(t).any() else 0.0
    return est - c * sd, est + c * sd


def ap_rows(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exact AP of P score vectors (P, N) against one labelling (N,) with weights (N,) (0 = not labelled); ties form
    one threshold, as in scikit-learn. Returns (P,), NaN when there is no positive."""
    order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, axis=1)
    yw = (labels * weights)[order]
    nw = ((1 - labels) * weights)[order]
    tp, fp = np.cumsum(yw, axis=1), np.cumsum(nw, axis=1)
    n = scores.shape[1]
    end = np.concatenate([s[:, 1:] != s[:, :-1], np.ones((s.shape[0], 1), dtype=bool)], axis=1)
    idx = np.where(end, np.arange(n)[None, :], n - 1)
    nxt = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]  # the end of each position's tie group
    tp_e, fp_e = np.take_along_axis(tp, nxt, axis=1), np.take_along_axis(fp, nxt, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp_e + fp_e > 0, tp_e / (tp_e + fp_e), 0.0)
        ap = (yw * prec).sum(axis=1) / tp[:, -1]
    return np.where(tp[:, -1] > 0, ap, np.nan)


def paired_permutation_test(
    a_sets: list[np.ndarray], b_sets: list[np.ndarray], targets: np.ndarray, keep: np.ndarray,
    n_perm: int = 1000, seed: int = 0,
) -> dict:  # fmt: skip
    """Two-sided paired permutation test on ranks of mean(macro AP(a_j) - macro AP(b_j)) over paired matrices j
    (seeds); see the module docstring. Returns {diff, p_value, n_perm, method}."""
    return paired_permutation_test_groups([(a_sets, b_sets, targets, keep)], n_perm, seed)


def paired_permutation_test_groups(groups: list[tuple], n_perm: int = 1000, seed: int = 0) -> dict:
    """The paired test over several test sets (splits): groups [(a_sets, b_sets, targets, keep)]; statistic = the
    mean over groups of each group's mean difference; each group's images are swapped independently."""
    # deferred: scipy is heavy
    from scipy.stats import rankdata

    out = {"n_perm": int(n_perm), "method": PAIRED_PERMUTATION_METHOD, "diff": None, "p_value": None}
    groups = [g for g in groups if g[2].shape[0] > 0 and np.asarray(g[3]).any() and g[0]]
    if not groups or n_perm < 1:
        return out
    rng = np.random.default_rng(seed)
    stat = np.zeros(n_perm + 1)
    for a_sets, b_sets, targets, keep in groups:
        n = targets.shape[0]
        known = ~np.isnan(targets)
        y = np.nan_to_num(targets, nan=0.0)
        swap = np.concatenate([np.zeros((1, n), dtype=bool), rng.random((n_perm, n)) < 0.5])  # row 0: as observed
        total = np.zeros(n_perm + 1)
        for a, b in zip(a_sets, b_sets):
            ra = rankdata(np.asarray(a, dtype=np.float64), axis=0) / n
            rb = rankdata(np.asarray(b, dtype=np.float64), axis=0) / n
            pa = np.full((n_perm + 1, targets.shape[1]), np.nan)
            pb = pa.copy()
            for c in np.flatnonzero(keep):
                sa = np.where(swap, rb[None, :, c], ra[None, :, c])
                sb = np.where(swap, ra[None, :, c], rb[None, :, c])
                w = known[:, c].astype(np.float64)
                pa[:, c], pb[:, c] = ap_rows(sa, y[:, c], w), ap_rows(sb, y[:, c], w)
            total += row_nanmean(pa) - row_nanmean(pb)
        stat += total / len(a_sets)
    stat /= len(groups)
    obs = float(stat[0])
    p = (1 + int(np.sum(np.abs(stat[1:]) >= abs(obs) - 1e-12))) / (1 + n_perm)
    return {**out, "diff": obs, "p_value": float(p)}
