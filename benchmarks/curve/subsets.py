"""Nested, stratified train subsets: one ordering of the train ids per seed; fraction f takes its first ceil(f x N).

A team labels progressively, so a smaller budget's images are a prefix of a larger one's (nested). The ordering is
greedy, in the spirit of iterative stratification (Sechidis et al., ECML-PKDD 2011): at each position it serves the
class furthest behind (in images) its share of the full set, so
- every class with a positive appears within the first few positions (rarest first: a class not yet drawn is
  furthest behind), and small subsets cover every class as far as their size allows;
- every prefix keeps class proportions close to the full train set's (images with no positive count as one more
  pseudo-class, so the share of empty images is kept too).
The seed only breaks ties (a seeded random rank), so the ordering is deterministic per seed and differs between
seeds. NaN targets (the source says nothing) count as 0 here, as in the split (benchmarks/data/split.py).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class SubsetError(ValueError):
    user_error = True


def _check(ids: list[str], targets: np.ndarray) -> np.ndarray:
    y = np.asarray(targets, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] != len(ids):
        raise SubsetError(f"nested_subsets: {len(ids)} ids but targets of shape {y.shape}; pass (N, C) targets")
    if len(set(ids)) != len(ids):
        raise SubsetError("nested_subsets: duplicate train ids; each image must appear once")
    return (np.nan_to_num(y, nan=0.0) > 0).astype(np.float64)


def stratified_order(ids: list[str], targets: np.ndarray, seed: int) -> list[str]:
    """All of `ids`, in the seed's stratified labeling order (see the module docstring)."""
    y = _check(ids, targets)
    n = len(ids)
    if n == 0:
        return []
    y = np.concatenate([y, (y.sum(axis=1) == 0)[:, None].astype(np.float64)], axis=1)  # + "no positive"
    share = y.mean(axis=0)
    present = share > 0
    rank = np.random.default_rng(seed).permutation(n).astype(np.float64)  # tie-break only
    remaining = np.ones(n, dtype=bool)
    left = y.sum(axis=0)  # positives still unpicked, per column
    drawn = np.zeros(y.shape[1])
    order = []
    for t in range(n):
        # how many images each column is behind its share at size t+1; a column not drawn yet comes first
        # (rarest first), so small subsets cover every class
        behind = np.where(drawn == 0, 1e6 - share, share * (t + 1) - drawn)
        behind = np.where(present & (left > 0), behind, -np.inf)
        j = int(np.argmax(behind - 1e-9 * share))  # ties: the rarest column first
        cand = remaining & (y[:, j] > 0) if behind[j] > 0 else remaining
        # among candidates, least overshoot of the other columns they also carry; then the seeded rank
        ahead = np.maximum(0.0, drawn + 1 - share * (t + 1))
        cost = y @ ahead - (y @ np.maximum(0.0, share * (t + 1) - drawn)) * 1e-3  # prefer ones that help others too
        idx = np.flatnonzero(cand)
        pick = idx[np.lexsort((rank[idx], cost[idx]))[0]]
        order.append(ids[pick])
        remaining[pick] = False
        drawn += y[pick]
        left -= y[pick]
    return order


def subset_size(fraction: float, n: int) -> int:
    """ceil(f x N), at least 1 when N > 0 (the small epsilon keeps 0.3 x 10 at 3, not 4, despite float error)."""
    return min(n, max(1 if n else 0, math.ceil(fraction * n - 1e-9)))


def nested_subsets(ids: list[str], targets: np.ndarray, fractions: list[float], seed: int) -> dict[float, list[str]]:
    """{fraction: the first ceil(fraction x N) ids of the seed's stratified order}; every subset contains the smaller
    ones. Fractions must lie in (0, 1]."""
    bad = [f for f in fractions if isinstance(f, bool) or not (isinstance(f, numbers.Real) and 0 < f <= 1)]
    if bad:
        raise SubsetError(f"curve fractions {bad}: each must be a number in (0, 1], e.g. [0.1, 0.25, 0.5, 1.0]")
    order = stratified_order(list(ids), targets, seed)
    return {float(f): order[: subset_size(f, len(order))] for f in sorted(set(fractions))}
