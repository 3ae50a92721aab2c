"""Paired bootstrap difference of two models' macro AP and macro F1 on the SAME test images.

Each resample draws test images with replacement once, and both models are scored on that draw (the same counts
matrix), so the image-to-image variation both models share cancels out of the difference; a CI of the difference
is therefore narrower than comparing two independent CIs. The per-class AP and F1 are evaluate.py's own
(`per_class_under_counts`), and the classes entering the macro are evaluate()'s (a positive and a negative among the
labelled test images), so the point difference equals the difference of the two `evaluate()` macro numbers.
"""

from __future__ import annotations

import numpy as np

from benchmarks.evaluate import _as_arrays, per_class_under_counts, resample_counts, row_nanmean
from benchmarks.significance import percentile_ci

METHOD = (
    "paired percentile bootstrap: test images resampled with replacement, the same resample for both models; "
    "difference = a - b of macro AP / macro F1 over the classes with a positive and a negative"
)


def paired_bootstrap_diff(
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    targets: np.ndarray,
    thresholds_a: np.ndarray,
    thresholds_b: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """{'macro_ap': {diff, ci95, excludes_zero}, 'macro_f1': {...}, n_boot, seed, method}: a minus b.

    For the headline, a = detector, b = classifier. `diff` is the point difference on the test set as given;
    `ci95` is None when no resample defines the metric (e.g. no evaluated class)."""
    classes = [str(i) for i in range(np.asarray(scores_a).shape[-1])]
    sa, y, ta = _as_arrays(scores_a, targets, thresholds_a, classes)
    sb, _, tb = _as_arrays(scores_b, targets, thresholds_b, classes)
    known = ~np.isnan(y)
    yy = np.nan_to_num(y, nan=0.0)
    support, labelled = (yy * known).sum(axis=0), known.sum(axis=0)
    keep = (support > 0) & (labelled > support)
    n = sa.shape[0]
    da, db = sa >= ta[None, :], sb >= tb[None, :]
    ones = np.ones((1, n))
    pa, pb = per_class_under_counts(sa, y, da, ones, keep), per_class_under_counts(sb, y, db, ones, keep)
    out = {"n_boot": int(n_boot), "seed": int(seed), "n_test": int(n), "method": METHOD}
    if n and n_boot > 0:
        counts = resample_counts(n, n_boot, seed)
        ba, bb = per_class_under_counts(sa, y, da, counts, keep), per_class_under_counts(sb, y, db, counts, keep)
    for m, name in enumerate(("macro_ap", "macro_f1")):
        point = row_nanmean(pa[m]) - row_nanmean(pb[m])
        diff = float(point[0]) if np.isfinite(point[0]) else None
        ci = percentile_ci(row_nanmean(ba[m]) - row_nanmean(bb[m])) if n and n_boot > 0 else None
        out[name] = {"diff": diff, "ci95": ci, "excludes_zero": None if ci is None else bool(ci[0] > 0 or ci[1] < 0)}
    return out


def as_rows(result: dict, fraction: float, seed: int) -> list[dict]:
    """The paired rows of results.json ({fraction, seed, metric, diff, ci95, excludes_zero}) from one
    paired_bootstrap_diff result; verdict() reads these."""
    return [
        {"fraction": float(fraction), "seed": int(seed), "metric": m, **{k: result[m][k] for k in ("diff", "ci95")},
         "excludes_zero": result[m]["excludes_zero"], "n_boot": result["n_boot"]}
        for m in ("macro_ap", "macro_f1")
    ]  # fmt: skip
