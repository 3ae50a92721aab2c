"""NA-masked multi-label BCE and the per-class positive weights it uses."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def masked_bce_with_logits(logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None = None):
    """Mean BCE over the known (non-NaN) entries only: an NA entry adds nothing to the loss or its gradient.

    Equal to BCE-with-logits averaged over the batch with the NA entries removed."""
    known = ~torch.isnan(targets)
    per_entry = F.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(targets, nan=0.0), pos_weight=pos_weight, reduction="none"
    )
    return (per_entry * known).sum() / known.sum().clamp_min(1)


def pos_weight_from_targets(targets: np.ndarray) -> np.ndarray:
    """Per class neg/pos over the known entries (torch's BCEWithLogitsLoss recipe); 1.0 where a class has no
    positives or no negatives, since the ratio is then undefined or zero."""
    t = np.asarray(targets, dtype=np.float64)
    pos = np.nansum(t == 1, axis=0).astype(np.float64)
    neg = np.nansum(t == 0, axis=0).astype(np.float64)
    out = np.ones(t.shape[1], dtype=np.float32)
    ok = (pos > 0) & (neg > 0)
    out[ok] = neg[ok] / pos[ok]
    return out


def targets_for_metrics(targets: torch.Tensor) -> torch.Tensor:
    """NaN -> -1 (torchmetrics' ignore_index), others as int."""
    return torch.nan_to_num(targets, nan=-1.0).long()
