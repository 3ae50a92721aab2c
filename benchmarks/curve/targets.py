"""Hours to reach a target accuracy, per method, with an interval from the verdict's own bootstrap.

Each method's measured points (mean macro AP over seeds per fraction, against its labeling hours) are fitted with a
monotone (isotonic, pool-adjacent-violators) curve: more labels never make the expected model worse, and the fit
does not follow the noise between neighbouring points. The hours to reach a target are where that fit first reaches
it, interpolated linearly in log hours between measured points; a target above the fit's last point is "not
reached with this data" (nothing is extrapolated); a target the cheapest point already meets is reached "at or
below" that point's hours. The interval comes from the same replicates as the comparison (compare.Replicates: test
images and seeds resampled), centred on the estimate per point (AP's resamples are biased upwards with few
positives); a target that is itself an estimate (the other method's full-data AP) is resampled with it. Each
replicate's fit gives its own hours; when more than 2.5% of the replicates never reach the target, the upper end is
"not reached".
"""

from __future__ import annotations

import math

import numpy as np

METHOD = (
    "isotonic (pool-adjacent-violators) fit of mean macro AP against labeling hours over the measured points; first "
    "hours where the fit reaches the target, linear in log hours between points; never extrapolated; 95% interval "
    "from the comparison's bootstrap replicates (upper end 'not reached' when over 2.5% of them never reach it)"
)


def isotonic(y: np.ndarray) -> np.ndarray:
    """Non-decreasing least-squares fit of y (in the given order), equal weights: pool adjacent violators."""
    blocks: list[list[float]] = []  # [sum, count]
    for v in np.asarray(y, dtype=np.float64):
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    return np.concatenate([np.full(int(c), s / c) for s, c in blocks])


def hours_to(target: float, hours: np.ndarray, ap: np.ndarray) -> float | None:
    """Hours at which the isotonic fit of ap (points sorted by hours) first reaches target; None if never."""
    order = np.argsort(hours)
    x, fit = np.asarray(hours, dtype=np.float64)[order], isotonic(np.asarray(ap, dtype=np.float64)[order])
    if not np.isfinite(fit).all():
        return None
    hit = np.flatnonzero(fit >= target - 1e-12)
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0:
        return float(x[0])
    t = (target - fit[i - 1]) / (fit[i] - fit[i - 1])
    return float(math.exp(math.log(x[i - 1]) + t * (math.log(x[i]) - math.log(x[i - 1]))))


def hours_to_target(
    rep, method: str, hours: dict[float, float], target: float, target_reps: np.ndarray | None = None
) -> dict:
    """{target, hours, at_first_point, ci95 [lo, hi] (hi None = not reached), reached_share, method} for one
    method's curve. target_reps (B,): the target's own replicates when it is itself an estimate (the other method's
    full-data AP), so its uncertainty enters the interval."""
    fr = sorted(hours, key=lambda f: hours[f])
    out = {"target": float(target), "hours": None, "at_first_point": False, "ci95": None, "reached_share": 0.0,
           "method": METHOD}  # fmt: skip
    if not fr:
        return out
    vals = [rep.curve_value(method, f) for f in fr]
    x = np.array([hours[f] for f in fr])
    point = np.array([v[0] for v in vals])
    out["hours"] = hours_to(target, x, point)
    out["at_first_point"] = bool(out["hours"] is not None and out["hours"] <= x.min() * (1 + 1e-9))
    reps = np.stack([v[1] for v in vals], axis=1)  # (B, points)
    # AP's resamples sit above the estimate when classes have few positives (significance.py): centre them on it
    reps = reps - (np.nanmean(reps, axis=0) - point)[None, :]
    tr = np.full(reps.shape[0], target) if target_reps is None else np.asarray(target_reps, dtype=float)
    if target_reps is not None:
        tr = tr - (np.nanmean(tr) - target)
    hits = np.array([hours_to(t, x, row) if np.isfinite(row).all() and np.isfinite(t) else np.nan
                     for t, row in zip(tr, reps)], dtype=float)  # fmt: skip
    reached = np.isfinite(hits)
    out["reached_share"] = float(reached.mean())
    if reached.any():
        h = np.sort(np.where(reached, hits, np.inf))  # "not reached" sorts last, as an infinite number of hours
        lo, hi = (float(h[min(len(h) - 1, int(np.floor(q * (len(h) - 1))))]) for q in (0.025, 0.975))
        out["ci95"] = [lo, hi if math.isfinite(hi) else None] if math.isfinite(lo) else None
    return out
