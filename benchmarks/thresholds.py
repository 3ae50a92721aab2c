"""Per-class decision thresholds tuned on validation scores (max F1); shared with the detector's val scores."""

from __future__ import annotations

import numpy as np

DEFAULT_THRESHOLD = 0.5  # used for a class whose val data cannot define F1 (no known positives)


def _best_f1_threshold(scores: np.ndarray, targets: np.ndarray) -> float:
    pos_total = int(targets.sum())
    if pos_total == 0:
        return DEFAULT_THRESHOLD
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], targets[order]
    tp = np.cumsum(t)
    fp = np.cumsum(1 - t)
    # only cut where the score changes: a threshold cannot separate tied scores
    last_of_run = np.r_[s[1:] != s[:-1], True]
    f1 = np.where(last_of_run, 2 * tp / (tp + fp + pos_total), -1.0)
    k = int(np.argmax(f1))
    if k + 1 < len(s):
        # midway to the next lower score: the same val F1, and less sensitive to small score shifts on test
        return float((s[k] + s[k + 1]) / 2)
    return float(s[k])


def tune_thresholds(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """scores (N, C) in [0, 1], targets (N, C) in {1, 0, NaN}: per class the threshold t maximising F1 of
    `score >= t` over that class's known entries. Returns float32 (C,)."""
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and targets {targets.shape} must both be (N, C)")
    out = np.full(scores.shape[1], DEFAULT_THRESHOLD, dtype=np.float32)
    for c in range(scores.shape[1]):
        known = ~np.isnan(targets[:, c])
        if known.any():
            out[c] = _best_f1_threshold(scores[known, c], targets[known, c])
    return out
