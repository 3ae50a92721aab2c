"""Image-level accuracy of one model on the test images, and the decision thresholds it is judged at: one module,
the same for every pipeline (the thresholds are tuned per class on val, at the end of this file).

`evaluate(scores, targets, thresholds, classes)` -> the `accuracy` object of results.json (schema in
benchmarks/record.py). Point estimates come from torchmetrics; the bootstrap uses an exact vectorised AP and F1
(`bootstrap_macro`) that reproduces scikit-learn's `average_precision_score` (checked in the tests), because
calling torchmetrics 1000 times per model takes seconds where one batched numpy pass takes milliseconds.

Conventions, stated once:
- Targets are 1 / 0 / NaN; NaN (the source says nothing about that class for that image) is masked everywhere:
  mapped to -1 and passed as torchmetrics' `ignore_index=-1`.
- Decisions are `score >= threshold` per class (the val-tuned thresholds: `tune_thresholds` below).
- A class with no positive among its labelled test images has no defined AP (and no defined recall/F1); one with no
  negative has AP trivially 1. Both are left out of macro AP and macro F1 and listed in `excluded_classes` (why in
  `excluded_reasons`); the first has per-class `ap` null, the second keeps its (uninformative) per-class numbers.
- Baselines: a random ranking (benchmarks/significance.py): its expected macro AP on these labels is the mean over
  the permutation test's permutations (`baseline.random_ranking_macro_ap`), which is above the prevalence when a
  class has few positives (2 positives among 26 images: 0.18 against 0.077), so a model must beat *that*; the
  prevalence (a constant score's AP) is kept beside it. For F1 and exact match, the always-positive decision (tuned
  thresholds can collapse to it on prevalent classes; a model whose decisions equal it on every evaluated class is
  flagged in `decisions_equal_always_positive`). `vs_baseline`: the one-sided permutation test of macro AP
  (p-value, `beats_baseline` at alpha 0.05 for this point alone; the verdict corrects across the claims it makes).
- Intervals: the basic bootstrap interval on the logit scale (why, and its measured coverage: significance.py).
"""

from __future__ import annotations

import warnings

import numpy as np

from benchmarks.significance import (
    ALPHA,
    CI_METHOD,
    PERMUTATION_METHOD,
    ap_under_labels,
    basic_logit_ci,
    permutation_test,
)
from benchmarks.significance import row_nanmean as row_nanmean

BASELINE_METHOD = (
    "random ranking: the permutation test's mean macro AP (scores shuffled over the test images); beside it the "
    "class prevalence, the AP of a constant score"
)
BOOTSTRAP_METHOD = CI_METHOD + "; macro over the evaluated classes (a positive and a negative among the labelled)"
ALWAYS_POSITIVE_METHOD = "every class decided positive on every image (F1 = 2p / (1 + p) per class, p = prevalence)"
VS_BASELINE_METHOD = PERMUTATION_METHOD + "; beats_baseline when p < 0.05 (this point alone)"
NO_POSITIVE = "no positive among the labelled test images: AP, recall and F1 undefined"
NO_NEGATIVE = "no negative among the labelled test images: AP is trivially 1"
EXCLUDED_REASON = "left out of macro AP and macro F1: " + NO_POSITIVE + "; or " + NO_NEGATIVE


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
    # deferred: torch is heavy
    import torch

    # deferred: torchmetrics is heavy
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
    return ap_under_labels(scores, np.broadcast_to(targets, weights.shape), weights)


def resample_counts(n_img: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_img) counts of each image in each resample: equivalent to indexing with rng.integers(0, N, (B, N)).

    One function so two models (or a model and a baseline) can be resampled on the SAME images (paired bootstrap)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_img, np.full(n_img, 1.0 / n_img), size=n_boot).astype(np.float64)


def per_class_under_counts(
    scores: np.ndarray, targets: np.ndarray, decisions: np.ndarray, counts: np.ndarray, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class AP and F1 under B weightings of the images: arrays (B, C), NaN where undefined.

    `keep` (C,) bool: classes to compute (others stay NaN, i.e. out of any macro); default every class with a
    labelled positive. A weighting in which a class has no positive, or no negative, leaves that class NaN in it."""
    n_cls = scores.shape[1]
    known = ~np.isnan(targets)
    y = np.nan_to_num(targets, nan=0.0)
    if keep is None:
        keep = (y * known).any(axis=0)
    ap = np.full((counts.shape[0], n_cls), np.nan)
    for c in range(n_cls):
        k = known[:, c]
        if keep[c] and y[k, c].any():
            ap[:, c] = average_precision_weighted(scores[k, c], y[k, c], counts[:, k])
            # a resample without a negative of the class has AP 1 trivially: out of that resample's macro, as the
            # point estimate leaves out a class without a test negative
            ap[(counts[:, k] @ (1 - y[k, c])) <= 0, c] = np.nan
    yk, nk, dk = y * known, (1 - y) * known, decisions.astype(np.float64)
    tp = counts @ (dk * yk)
    fp = counts @ (dk * nk)
    fn = counts @ ((1 - dk) * yk)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where((tp + fn > 0) & keep[None, :], 2 * tp / (2 * tp + fp + fn), np.nan)
    return ap, f1


def bootstrap_macro(
    scores: np.ndarray,
    targets: np.ndarray,
    decisions: np.ndarray,
    n_boot: int,
    seed: int,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(macro AP, macro F1) for each of n_boot resamples of the images: arrays (n_boot,).

    Per resample a class without a positive is left out of both macros (as in the point estimate); `keep` as in
    `per_class_under_counts` (evaluate() passes the classes that enter its macro metrics)."""
    counts = resample_counts(scores.shape[0], n_boot, seed)
    ap, f1 = per_class_under_counts(scores, targets, decisions, counts, keep)
    return row_nanmean(ap), row_nanmean(f1)


def macro_ap_under_counts(scores: np.ndarray, targets: np.ndarray, keep: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Macro AP over the `keep` classes under each row of counts: (B,), NaN where no class is defined."""
    ap, _ = per_class_under_counts(scores, targets, np.zeros_like(scores, dtype=bool), counts, keep)
    return row_nanmean(ap)


def evaluate(
    scores: np.ndarray,
    targets: np.ndarray,
    thresholds: np.ndarray,
    classes: list[str],
    n_boot: int = 1000,
    seed: int = 0,
    ids: list[str] | None = None,
    n_perm: int = 1000,
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
    has_neg = labelled > support
    evaluated = has_pos & has_neg
    reasons = {c: NO_POSITIVE for c, ok in zip(classes, has_pos) if not ok}
    reasons.update({c: NO_NEGATIVE for c, p, n in zip(classes, has_pos, has_neg) if p and not n})
    excluded = [c for c in classes if c in reasons]  # in class order

    pm = _point_metrics(scores, targets, decisions) if n_img else None
    cm = pm["confusion"] if pm else np.zeros((n_cls, 2, 2), dtype=int)
    tn, fp, fn, tp = cm[:, 0, 0], cm[:, 0, 1], cm[:, 1, 0], cm[:, 1, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)  # sklearn's zero_division=0
        recall = np.where(has_pos, tp / np.maximum(tp + fn, 1), np.nan)
        f1 = np.where(has_pos, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)
        prevalence = np.where(labelled > 0, support / np.maximum(labelled, 1), np.nan)
    ap = np.where(has_pos, pm["ap"], np.nan) if pm else np.full(n_cls, np.nan)

    base = _baseline(targets, prevalence, has_pos, evaluated)
    always_pos = [c for i, c in enumerate(classes) if labelled[i] and decisions[known[:, i], i].all()]
    macro_ap = _nanmean(np.where(evaluated, ap, np.nan))
    macro_f1 = _nanmean(np.where(evaluated, f1, np.nan))
    ap_ci = f1_ci = None
    vs_base = {"macro_ap_diff": None, "p_value": None, "beats_baseline": None, "alpha": ALPHA,
               "n_perm": int(n_perm), "method": VS_BASELINE_METHOD}  # fmt: skip
    if n_img and evaluated.any() and n_perm > 0:
        perm = permutation_test([scores], targets, evaluated, n_perm=n_perm, seed=seed)
        base["random_ranking_macro_ap"] = base["macro_ap"] = perm["random_ranking_ap"]
        vs_base["macro_ap_diff"] = macro_ap - perm["random_ranking_ap"]
        vs_base["p_value"] = perm["p_value"]
        vs_base["beats_baseline"] = bool(perm["p_value"] < ALPHA)
    if n_img and evaluated.any() and n_boot > 0:
        counts = resample_counts(n_img, n_boot, seed)
        boot_ap, boot_f1 = per_class_under_counts(scores, targets, decisions, counts, evaluated)
        ap_ci, f1_ci = basic_logit_ci(macro_ap, row_nanmean(boot_ap)), basic_logit_ci(macro_f1, row_nanmean(boot_f1))

    return {
        "n_test": int(n_img),
        "n_classes_evaluated": int(evaluated.sum()),
        "excluded_classes": excluded,
        "excluded_reason": EXCLUDED_REASON,
        "excluded_reasons": reasons,
        "macro_ap": macro_ap,
        "macro_ap_ci95": ap_ci,
        "micro_ap": _f(pm["micro_ap"]) if pm and support.sum() else None,
        "macro_f1": macro_f1,
        "macro_f1_ci95": f1_ci,
        "micro_f1": _f(pm["micro_f1"]) if pm else None,
        "hamming_loss": _f(pm["hamming_loss"]) if pm else None,
        "exact_match": _f(pm["exact_match"]) if pm else None,
        "decision_rule": "score >= threshold (per class, tuned on val)",
        "thresholds": [float(t) for t in thresholds],
        "always_positive_classes": always_pos,
        # the tuned thresholds collapsed to "always yes" on every evaluated class: the F1 / exact match baseline
        "decisions_equal_always_positive": bool(evaluated.any())
        and all(c in always_pos for c, e in zip(classes, evaluated) if e),
        "vs_baseline": vs_base,
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
        "permutation": {"permutations": int(n_perm), "seed": int(seed), "method": PERMUTATION_METHOD},
        "test_ids": list(ids) if ids is not None else None,
    }


def _baseline(targets: np.ndarray, prevalence: np.ndarray, has_pos: np.ndarray, evaluated: np.ndarray) -> dict:
    """Metrics of the two trivial scorers: constant prevalence (AP) and always-positive (F1, exact match).

    Macros are over the same classes as the model's (`evaluated`)."""
    n_img = targets.shape[0]
    known = ~np.isnan(targets)
    y = np.nan_to_num(targets, nan=0.0)
    macro = _nanmean(np.where(evaluated, prevalence, np.nan))
    micro = None
    if n_img and has_pos.any():
        const = np.broadcast_to(np.nan_to_num(prevalence, nan=0.0), targets.shape).copy()
        micro = _f(_point_metrics(const, targets, np.zeros(targets.shape, dtype=bool))["micro_ap"])
    # always positive: precision = prevalence, recall = 1, so F1 = 2p / (1 + p)
    f1_pos = np.where(evaluated, 2 * prevalence / (1 + prevalence), np.nan)
    # an image matches when all its labelled classes are positive (unlabelled cells count as correct, as for models)
    exact_pos = float(((y == 1) | ~known).all(axis=1).mean()) if n_img else None
    return {
        "macro_ap": macro,  # what a model must beat: the random ranking's once evaluate() has permuted, else this
        "prevalence_macro_ap": macro,
        "random_ranking_macro_ap": None,  # filled by evaluate() from its permutation test
        "micro_ap": micro,
        "method": BASELINE_METHOD,
        "always_positive": {"macro_f1": _nanmean(f1_pos), "exact_match": exact_pos, "method": ALWAYS_POSITIVE_METHOD},
    }


# --- decision thresholds: tuned per class on val (max F1), the same for every pipeline ----------------------------
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
