"""Image-level accuracy of one model on the test images: one function, the same for classifier and detector.

`evaluate(scores, targets, thresholds, classes)` -> the `accuracy` object of results.json (schema in
benchmarks/record.py). Point estimates come from torchmetrics; the bootstrap uses an exact vectorised AP and F1
(`bootstrap_macro`) that reproduces scikit-learn's `average_precision_score` (checked in the tests), because
calling torchmetrics 1000 times per model takes seconds where one batched numpy pass takes milliseconds.

Conventions, stated once:
- Targets are 1 / 0 / NaN; NaN (the source says nothing about that class for that image) is masked everywhere:
  mapped to -1 and passed as torchmetrics' `ignore_index=-1`.
- Decisions are `score >= threshold` per class (the val-tuned thresholds; the rule classifier/thresholds.py tunes).
- A class with no positive among its labelled test images has no defined AP (and no defined recall/F1): it is left
  out of macro AP and macro F1 and listed in `excluded_classes`; its per-class `ap` is null.
- Baseline: every image scored by its class's test prevalence (a constant per class). A constant score ranks at
  random, and its AP equals the positive rate exactly; micro AP of that matrix is computed, not assumed.
"""

from __future__ import annotations

import warnings

import numpy as np

BASELINE_METHOD = "class prevalence as constant score (AP of a constant score = the positive rate)"
BOOTSTRAP_METHOD = "percentile, resampling test images with replacement; macro over classes with a positive"


def _as_arrays(scores, targets, thresholds, classes):
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if scores.ndim != 2 or scores.shape != targets.shape:
        raise ValueError(f"evaluate: scores {scores.shape} and targets {targets.shape} must both be (N, C)")
    n_cls = scores.shape[1]
    if thresholds.shape != (n_cls,) or len(classes) != n_cls:
        raise ValueError(
            f"evaluate: {n_cls} score columns but {thresholds.shape[0]} thresholds and {len(classes)} classes; "
            "pass one threshold and one class name per score column"
        )
    known = targets[~np.isnan(targets)]
    if not np.isin(known, (0.0, 1.0)).all():
        raise ValueError(f"evaluate: targets must be 1, 0 or NaN; found {sorted(set(known.tolist()) - {0.0, 1.0})}")
    if np.isnan(scores).any():
        raise ValueError("evaluate: scores contain NaN; a model must score every image and class")
    return scores, targets, thresholds


def _nanmean(x: np.ndarray):
    x = np.asarray(x, dtype=np.float64)
    return float(np.nanmean(x)) if np.isfinite(x).any() else None


def _f(x):
    """float, or None for NaN (JSON has no NaN)."""
    x = float(x)
    return x if np.isfinite(x) else None


def _point_metrics(scores: np.ndarray, targets: np.ndarray, decisions: np.ndarray) -> dict:
    import torch
    from torchmetrics.functional.classification import (
        multilabel_average_precision,
        multilabel_confusion_matrix,
        multilabel_exact_match,
        multilabel_f1_score,
        multilabel_hamming_distance,
    )

    n_cls = scores.shape[1]
    p = torch.from_numpy(scores).float()
    t = torch.from_numpy(np.nan_to_num(targets, nan=-1.0)).long()
    d = torch.from_numpy(decisions).long()  # integer predictions: torchmetrics applies no threshold of its own
    kw = {"num_labels": n_cls, "ignore_index": -1}
    with warnings.catch_warnings():
        # "No positive samples found in target": such a class's AP is replaced by None by the caller
        warnings.filterwarnings("ignore", message="No positive samples")
        # a column with no labelled image at all (a class no source labels) makes torchmetrics raise IndexError:
        # AP is computed on the columns with a label; the others stay NaN and are excluded by the caller
        ap = np.full(n_cls, np.nan)
        cols = (t != -1).any(dim=0)
        if cols.any():
            sub = multilabel_average_precision(
                p[:, cols], t[:, cols], num_labels=int(cols.sum()), average=None, ignore_index=-1
            )
            ap[cols.numpy()] = sub.numpy().astype(np.float64)
        micro_ap = float(multilabel_average_precision(p, t, average="micro", **kw))
    return {
        "ap": ap,
        "micro_ap": micro_ap,
        "micro_f1": float(multilabel_f1_score(d, t, average="micro", **kw)),
        "hamming_loss": float(multilabel_hamming_distance(d, t, average="micro", **kw)),
        # ignored cells count as correct: an image matches when all its labelled classes are right
        "exact_match": float(multilabel_exact_match(d, t, **kw)),
        "confusion": multilabel_confusion_matrix(d, t, **kw).numpy(),  # (C, 2, 2): [[tn, fp], [fn, tp]]
    }


def average_precision_weighted(scores: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exact AP of one class under B weightings of its N images at once: scores (N,), targets (N,) in {0, 1},
    weights (B, N) (bootstrap counts; 0 = left out). Returns (B,), NaN where a weighting has no positive.

    Same definition as scikit-learn's `average_precision_score`: sum over distinct score thresholds of
    (recall gain) x precision. Tied scores form one threshold, which is what makes counts equivalent to
    duplicated images (a duplicate ties with its original).
    """
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], targets[order]
    w = weights[:, order]
    group_end = np.r_[s[1:] != s[:-1], True]  # last index of each run of tied scores
    tp = np.cumsum(w * y, axis=1)[:, group_end]
    fp = np.cumsum(w * (1 - y), axis=1)[:, group_end]
    pos = tp[:, -1]
    gain = np.diff(tp, axis=1, prepend=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        ap = (gain * precision).sum(axis=1) / pos
    return np.where(pos > 0, ap, np.nan)


def bootstrap_macro(
    scores: np.ndarray, targets: np.ndarray, decisions: np.ndarray, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(macro AP, macro F1) for each of n_boot resamples of the images: arrays (n_boot,).

    Per resample a class without a positive is left out of both macros (as in the point estimate).
    """
    n_img, n_cls = scores.shape
    rng = np.random.default_rng(seed)
    # counts of each image in each resample: equivalent to indexing with rng.integers(0, N, (B, N))
    counts = rng.multinomial(n_img, np.full(n_img, 1.0 / n_img), size=n_boot).astype(np.float64)
    known = ~np.isnan(targets)
    y = np.nan_to_num(targets, nan=0.0)
    ap = np.full((n_boot, n_cls), np.nan)
    for c in range(n_cls):
        k = known[:, c]
        if y[k, c].any():
            ap[:, c] = average_precision_weighted(scores[k, c], y[k, c], counts[:, k])
    yk, nk, dk = y * known, (1 - y) * known, decisions.astype(np.float64)
    tp = counts @ (dk * yk)
    fp = counts @ (dk * nk)
    fn = counts @ ((1 - dk) * yk)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    with warnings.catch_warnings():
        # a resample where no class has a positive gives an all-NaN row: nanmean warns, the row is dropped later
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(ap, axis=1), np.nanmean(f1, axis=1)


def _ci95(values: np.ndarray):
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [float(lo), float(hi)]


def evaluate(
    scores: np.ndarray,
    targets: np.ndarray,
    thresholds: np.ndarray,
    classes: list[str],
    n_boot: int = 1000,
    seed: int = 0,
    ids: list[str] | None = None,
) -> dict:
    """Accuracy of (N, C) scores against (N, C) targets in {1, 0, NaN} with per-class thresholds (C,).

    Returns the `accuracy` object of results.json; every float is a plain float or None (undefined).
    """
    classes = [str(c) for c in classes]
    scores, targets, thresholds = _as_arrays(scores, targets, thresholds, classes)
    n_img, n_cls = scores.shape
    known = ~np.isnan(targets)
    y = np.nan_to_num(targets, nan=0.0)
    decisions = scores >= thresholds[None, :]
    support = (y * known).sum(axis=0).astype(int)
    labelled = known.sum(axis=0).astype(int)
    has_pos = support > 0
    excluded = [c for c, ok in zip(classes, has_pos) if not ok]

    pm = _point_metrics(scores, targets, decisions) if n_img else None
    cm = pm["confusion"] if pm else np.zeros((n_cls, 2, 2), dtype=int)
    tn, fp, fn, tp = cm[:, 0, 0], cm[:, 0, 1], cm[:, 1, 0], cm[:, 1, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)  # sklearn's zero_division=0
        recall = np.where(has_pos, tp / np.maximum(tp + fn, 1), np.nan)
        f1 = np.where(has_pos, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)
        prevalence = np.where(labelled > 0, support / np.maximum(labelled, 1), np.nan)
    ap = np.where(has_pos, pm["ap"], np.nan) if pm else np.full(n_cls, np.nan)

    base = _baseline(targets, prevalence, has_pos)
    if n_img and has_pos.any() and n_boot > 0:
        boot_ap, boot_f1 = bootstrap_macro(scores, targets, decisions, n_boot, seed)
        ap_ci, f1_ci = _ci95(boot_ap), _ci95(boot_f1)
    else:
        ap_ci = f1_ci = None

    return {
        "n_test": int(n_img),
        "n_classes_evaluated": int(has_pos.sum()),
        "excluded_classes": excluded,
        "excluded_reason": "no positive among the labelled test images: AP, recall and F1 undefined",
        "macro_ap": _nanmean(ap),
        "macro_ap_ci95": ap_ci,
        "micro_ap": _f(pm["micro_ap"]) if pm and support.sum() else None,
        "macro_f1": _nanmean(f1),
        "macro_f1_ci95": f1_ci,
        "micro_f1": _f(pm["micro_f1"]) if pm else None,
        "hamming_loss": _f(pm["hamming_loss"]) if pm else None,
        "exact_match": _f(pm["exact_match"]) if pm else None,
        "decision_rule": "score >= threshold (per class, tuned on val)",
        "thresholds": [float(t) for t in thresholds],
        "per_class": {
            c: {
                "ap": _f(ap[i]),
                "precision": _f(precision[i]),
                "recall": _f(recall[i]),
                "f1": _f(f1[i]),
                "support": int(support[i]),
                "n_labelled": int(labelled[i]),
                "prevalence": _f(prevalence[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion": {
            c: {"tn": int(tn[i]), "fp": int(fp[i]), "fn": int(fn[i]), "tp": int(tp[i])} for i, c in enumerate(classes)
        },
        "baseline": base,
        "bootstrap": {"resamples": int(n_boot), "seed": int(seed), "method": BOOTSTRAP_METHOD},
        "test_ids": list(ids) if ids is not None else None,
    }


def _baseline(targets: np.ndarray, prevalence: np.ndarray, has_pos: np.ndarray) -> dict:
    """Scores and thresholds-free metrics of the constant-prevalence scorer."""
    n_img = targets.shape[0]
    macro = _nanmean(np.where(has_pos, prevalence, np.nan))
    micro = None
    if n_img and has_pos.any():
        const = np.broadcast_to(np.nan_to_num(prevalence, nan=0.0), targets.shape).copy()
        micro = _f(_point_metrics(const, targets, np.zeros(targets.shape, dtype=bool))["micro_ap"])
    return {"macro_ap": macro, "micro_ap": micro, "method": BASELINE_METHOD}
