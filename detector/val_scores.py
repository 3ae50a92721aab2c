"""The image-level val macro AP of every epoch, from the predictions Ultralytics' validator already makes.

The harness asks of every run whether it was still improving when it stopped, and asks it of the same number for
both pipelines: the image-level macro AP on val (the classifier logs it as val/macro_ap). Ultralytics' results.csv
has only box metrics, so this module adds `COLUMN` to the detector's history.csv, with no extra forward pass:
callbacks added to the YOLO model are shared with the trainer's validator; after each val batch they read the
per-image confidences, classes and true classes the validator has just put in its `metrics.stats`, and at the end of
the pass reduce them as `predict_scores` does for test (detector.scores.max_conf_per_class: per class the highest
confidence, 0 when none) and score them with the classifier's macro AP rule (classes without a val positive left out).

One difference from `predict_scores`: the validator's NMS is multi-label (a box may count for several classes), the
predictor's is not, so a class that is never a box's top class can score a little higher here. Both use the same
confidence floor (0.001) and NMS IoU (0.7) by default. Under Ultralytics' multi-GPU (DDP) training the callbacks do
not reach the worker processes: the column is then empty and the harness falls back to box mAP, saying so.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from detector.scores import max_conf_per_class

COLUMN = "val/image_macro_ap"


def image_macro_ap(scores: np.ndarray, truth: np.ndarray) -> float:
    """Mean average precision over the classes with at least one positive image; NaN when no class has one.

    scores: (N, C) image-level scores; truth: (N, C) bool, the class is in the image. Exact AP (torchmetrics'
    binary_average_precision, the classifier's val/macro_ap): a class absent from val has no AP, not 0."""
    import torch
    from torchmetrics.functional.classification import binary_average_precision

    scores, truth = np.asarray(scores, dtype=np.float32), np.asarray(truth, dtype=bool)
    if scores.shape != truth.shape or scores.ndim != 2:
        raise ValueError(f"image_macro_ap: scores {scores.shape} and truth {truth.shape} must both be (N, C)")
    aps = [
        float(binary_average_precision(torch.from_numpy(scores[:, c]), torch.from_numpy(truth[:, c]).long()))
        for c in range(truth.shape[1])
        if truth[:, c].any()
    ]
    return float(np.mean(aps)) if aps else float("nan")


class ValImageScores:
    """Validator callbacks collecting per image (conf, cls of each detection, true classes); `take()` returns the
    image-level macro AP of the last val pass once (None when no pass ran since the last take)."""

    def __init__(self):
        self.images: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._read = 0
        self._value: float | None = None

    def register(self, model) -> None:
        for event in ("on_val_start", "on_val_batch_end", "on_val_end"):
            model.add_callback(event, getattr(self, event))

    def on_val_start(self, validator) -> None:
        self.images, self._read = [], 0  # the validator clears its stats right after this event

    def on_val_batch_end(self, validator) -> None:
        stats = validator.metrics.stats
        new = zip(stats["conf"][self._read :], stats["pred_cls"][self._read :], stats["target_img"][self._read :])
        self.images += [(np.asarray(c), np.asarray(k), np.asarray(t)) for c, k, t in new]
        self._read = len(stats["conf"])

    def on_val_end(self, validator) -> None:
        self._value = self.score(len(validator.names))

    def score(self, n_classes: int) -> float:
        """The macro AP of the images collected so far."""
        dets = [np.column_stack([np.zeros((len(c), 4)), c, k]) for c, k, _ in self.images]
        truth = np.zeros((len(self.images), n_classes), dtype=bool)
        for i, (_, _, t) in enumerate(self.images):
            truth[i, np.asarray(t, dtype=np.int64)] = True
        return image_macro_ap(max_conf_per_class(dets, n_classes), truth)

    def take(self) -> float | None:
        value, self._value = self._value, None
        return value


def write_history(results_csv: Path, out_csv: Path, per_epoch: dict[int, float | None]) -> None:
    """Ultralytics' results.csv plus COLUMN (by its `epoch` column; empty where an epoch had no val pass)."""
    with open(results_csv, newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    if "epoch" not in header:
        raise ValueError(f"{results_csv}: no 'epoch' column in its header {header}; is it Ultralytics' results.csv?")
    at = header.index("epoch")
    out = [[*rows[0], COLUMN]]
    for row in rows[1:]:
        v = per_epoch.get(int(float(row[at])))
        out.append([*row, f"{v:.6g}" if v is not None and math.isfinite(v) else ""])
    with open(out_csv, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(out)
