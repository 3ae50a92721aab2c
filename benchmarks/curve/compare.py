"""Model against model: one paired, two-level bootstrap over seeds and test images, per budget and along the curve.

Both methods are scored on the same test images, and a seed labels the same images for both (one labeling order
per seed), so the comparison is paired twice. Each bootstrap replicate
1. resamples the test images once (one counts vector for every model, fraction and seed: the image-to-image noise
   the models share cancels out of their difference), and
2. resamples the seeds (with replacement, the same draw for both methods), and averages over them,
so a replicate's difference carries both the test-set noise and the training (seed) noise (Bouthillier et al. 2021:
both are part of what a user sees; Dror et al. 2018 on testing ML comparisons). With few seeds a bootstrap over
them is too narrow (three seeds give ten distinct means; the resampled mean's variance is (k-1)/k of the mean's),
so the seed-level deviation of each replicate is scaled by t(0.975, k-1) / z(0.975) x sqrt(k / (k-1)): with
training noise alone the interval then approaches Student's t interval over k seeds (Agarwal et al. 2021 on
intervals from few runs; with 2 seeds the resamples take 3 values and the interval is about 30% narrower than t's;
3 or more seeds are what the full profile trains). The seed x image interaction enters both levels, so with several
seeds the interval errs wide, not narrow. With one seed there is no seed level: training variance is not measured,
and the result says so.

Per budget: the mean difference (detector - classifier by default), its 95% percentile interval and
P(a better) = the share of replicates above 0. Along the curve: each replicate's two curves are interpolated in
log labeling hours, only where both methods were measured (never extrapolated, never held flat), and a simultaneous
sup-t band over those hours and the full-data comparison decides "ahead" (significance.py).
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.evaluate import macro_ap_under_counts as _macro
from benchmarks.significance import paired_permutation_test, percentile_ci, row_nanmean, sup_t_band

METHOD = (
    "paired two-level bootstrap: test images resampled once per replicate for both models, then seeds resampled "
    "(the same seeds for both methods) and averaged; seed-level deviations scaled by t(0.975, k-1)/z(0.975) x "
    "sqrt(k/(k-1)) for k seeds; 95% percentile interval of the mean difference; P(better) = share of replicates > 0"
)
SPLITS_METHOD = (
    "mean over splits of each split's paired difference (its own test images and seeds); 95% interval and "
    "P(better) from Student's t over the splits"
)
BAND_METHOD = (
    "each replicate's curves interpolated linearly in log labeling hours where both methods were measured; "
    "simultaneous 95% sup-t band over those hours and the full-data difference: 'ahead' where it excludes 0"
)
GRID = 60


def seed_scale(k: int) -> float:
    """The factor the seed-level deviations are scaled by (1 for one seed: nothing to scale)."""
    if k < 2:
        return 1.0
    # deferred: scipy is heavy
    from scipy.stats import norm, t

    return float(t.ppf(0.975, k - 1) / norm.ppf(0.975) * math.sqrt(k / (k - 1)))


class Replicates:
    """Macro AP of every (method, fraction, seed) point, on the test set as given and under one shared set of
    bootstrap resamples of the test images and of the seeds."""

    def __init__(self, sets: dict, targets: np.ndarray, keep: np.ndarray, n_boot: int, seed: int, stream: int = 0):
        """sets: {method: {fraction: {seed: scores (N, C)}}}; every matrix scores the same N test images. `stream`
        keeps the random draws of different test sets (splits) apart."""
        self.n_boot, self.n = int(n_boot), targets.shape[0]
        counts = (
            np.random.default_rng([seed, stream, 0])
            .multinomial(self.n, np.full(self.n, 1.0 / max(self.n, 1)), size=self.n_boot)
            .astype(np.float64)
        )
        one = np.ones((1, self.n))
        # seed draws as uniforms: the same draw picks the same seed position for both methods (paired)
        k_max = max([len(by_s) for by_f in sets.values() for by_s in by_f.values()] or [1])
        self.u = np.random.default_rng([seed, stream, 1]).random((self.n_boot, k_max))
        self.point: dict = {}
        self.boot: dict = {}
        for m, by_f in sets.items():
            for f, by_s in by_f.items():
                for s, sc in by_s.items():
                    sc = np.asarray(sc, dtype=np.float64)
                    self.point[(m, f, s)] = float(_macro(sc, targets, keep, one)[0])
                    self.boot[(m, f, s)] = _macro(sc, targets, keep, counts)
        self.sets = {m: {f: sorted(by_s) for f, by_s in by_f.items()} for m, by_f in sets.items()}
        self.scores, self.targets, self.keep = sets, targets, keep

    def seeds(self, method: str, fraction: float) -> list:
        return self.sets.get(method, {}).get(fraction, [])

    def curve_value(self, method: str, fraction: float, seeds: list | None = None) -> tuple[float, np.ndarray]:
        """(point mean over seeds, (B,) replicates with the seeds resampled and the small-k scaling)."""
        seeds = seeds if seeds is not None else self.seeds(method, fraction)
        k = len(seeds)
        pts = np.array([self.point[(method, fraction, s)] for s in seeds])
        bs = np.stack([self.boot[(method, fraction, s)] for s in seeds], axis=1)  # (B, k)
        mean_all = row_nanmean(bs)
        if k < 2:
            return float(np.nanmean(pts)), mean_all
        idx = np.minimum((self.u[:, :k] * k).astype(int), k - 1)  # (B, k) seed positions
        resampled = row_nanmean(np.take_along_axis(bs, idx, axis=1))
        return float(np.nanmean(pts)), mean_all + seed_scale(k) * (resampled - mean_all)


def difference(rep: Replicates, a: str, b: str, fraction: float, n_perm: int = 0, seed: int = 0) -> dict | None:
    """a - b at one fraction over their common seeds: {fraction, seeds, diff, ci95, p_a_better, training_variance,
    permutation (the paired test on ranks, when n_perm > 0), method}; None when no seed has both."""
    common = sorted(set(rep.seeds(a, fraction)) & set(rep.seeds(b, fraction)))
    if not common:
        return None
    pa, ra = rep.curve_value(a, fraction, common)
    pb, rb = rep.curve_value(b, fraction, common)
    d = ra - rb
    ok = np.isfinite(d)
    perm = None
    if n_perm > 0:
        sa = [rep.scores[a][fraction][s] for s in common]
        sb = [rep.scores[b][fraction][s] for s in common]
        perm = paired_permutation_test(sa, sb, rep.targets, rep.keep, n_perm=n_perm, seed=seed)
    return {
        "permutation": perm,
        "fraction": float(fraction),
        "seeds": list(common),
        "n_seeds": len(common),
        "diff": pa - pb if math.isfinite(pa - pb) else None,
        "ci95": percentile_ci(d),
        "p_a_better": float(np.mean(d[ok] > 0)) if ok.any() else None,
        "training_variance": "measured" if len(common) > 1 else "not measured (one seed)",
        "n_boot": rep.n_boot,
        "method": METHOD,
        "replicates": d,
    }


def curve_band(rep: Replicates, a: str, b: str, hours: dict, headline: dict | None, grid: int = GRID) -> dict:
    """Simultaneous comparison along the labeling-hours axis where both methods were measured.

    hours: {method: {fraction: hours}} (the mean over seeds at each fraction). headline: difference() at the full
    data, included in the band's simultaneity (or None). Returns {grid, diff, lo, hi, state per grid hour
    ('a' | 'b' | 'tie'), overlap (lo, hi) or None, headline {lo, hi, state}, method}."""
    ranges = {m: (min(h.values()), max(h.values())) for m, h in hours.items() if h}
    out = {"method": BAND_METHOD, "overlap": None, "grid": [], "diff": [], "lo": [], "hi": [], "state": []}
    cols, est = [], []
    curves = {}
    for m in (a, b):
        fr = sorted(hours.get(m, {}), key=lambda f: hours[m][f])
        if not fr:
            continue
        vals = [rep.curve_value(m, f) for f in fr]
        x = np.log([hours[m][f] for f in fr])
        curves[m] = (x, np.array([v[0] for v in vals]), np.stack([v[1] for v in vals], 1))
    g = np.array([])
    if a in ranges and b in ranges:
        lo_h, hi_h = max(ranges[a][0], ranges[b][0]), min(ranges[a][1], ranges[b][1])
        if hi_h >= lo_h:
            out["overlap"] = [float(lo_h), float(hi_h)]
            g = np.geomspace(lo_h, hi_h, grid) if hi_h > lo_h else np.array([lo_h])
    if g.size:
        lg = np.log(g)

        def interp(m):
            x, p, r = curves[m]
            if x.size == 1:
                return np.full(lg.size, p[0]), np.repeat(r, lg.size, axis=1)
            pi = np.interp(lg, x, p)
            ri = np.stack([np.interp(lg, x, row) for row in r], axis=0)
            return pi, ri

        pa, ra = interp(a)
        pb, rb = interp(b)
        cols.append(ra - rb)
        est.append(pa - pb)
    if headline is not None and headline.get("diff") is not None:
        cols.append(headline["replicates"][:, None])
        est.append(np.array([headline["diff"]]))
    if not cols:
        return out
    band_lo, band_hi = sup_t_band(np.concatenate(cols, axis=1), np.concatenate(est))
    n_grid = g.size
    states = ["a" if lo > 0 else "b" if hi < 0 else "tie" for lo, hi in zip(band_lo, band_hi)]
    out.update({
        "grid": g.tolist(), "diff": np.concatenate(est)[:n_grid].tolist(), "lo": band_lo[:n_grid].tolist(),
        "hi": band_hi[:n_grid].tolist(), "state": states[:n_grid],
    })  # fmt: skip
    if headline is not None and headline.get("diff") is not None:
        out["headline"] = {"lo": float(band_lo[-1]), "hi": float(band_hi[-1]), "state": states[-1]}
    return out


def combine_splits(per_split: dict[int, dict], seed: int = 0) -> dict:
    """One difference over several splits (each from difference() on its own test images and seeds): the mean of
    the per-split differences, with Student's t over them. Each split's difference already carries its own test-set
    and seed noise, so their spread measures everything at once (test images, seeds and the split itself); adding
    each split's image bootstrap on top would count the test-set noise twice. The replicates (for the band and
    P(better)) are drawn from that t distribution. With one split this is that split's difference."""
    if len(per_split) == 1:
        return {**next(iter(per_split.values())), "n_splits": 1, "splits": list(per_split)}
    # deferred: scipy is heavy
    from scipy.stats import t as student

    keys = sorted(per_split)
    m = len(keys)
    diffs = np.array([per_split[k]["diff"] for k in keys], dtype=float)
    first = per_split[keys[0]]
    out = {
        **{k: first[k] for k in ("fraction", "n_boot")},
        "method": SPLITS_METHOD, "seeds": first["seeds"], "n_seeds": first["n_seeds"], "splits": keys,
        "n_splits": m, "per_split": {str(k): per_split[k]["diff"] for k in keys},
        "training_variance": f"measured ({first['n_seeds']} seeds x {m} splits)", "permutation": None,
    }  # fmt: skip
    if not np.isfinite(diffs).all():
        return {**out, "diff": None, "ci95": None, "p_a_better": None, "replicates": np.full(first["n_boot"], np.nan)}
    mean, se = float(diffs.mean()), float(diffs.std(ddof=1) / np.sqrt(m))
    q = float(student.ppf(0.975, m - 1))
    rng = np.random.default_rng([seed, 7])
    reps = mean + se * rng.standard_t(m - 1, size=first["n_boot"])
    p_better = float(student.cdf(mean / se, m - 1)) if se > 0 else float(mean > 0)
    return {**out, "diff": mean, "ci95": [mean - q * se, mean + q * se], "p_a_better": p_better, "replicates": reps}
