"""Scores per image: one encoded image through one predictor (the app's Predict page, `clsdet predict`), the
run's test images through one predictor (the app's browser, the report's figure), each model's mistakes against
the truth, and the fixed rule choosing the images the predictions figure shows.

An encoded image is scored as the predictor's `end_to_end` scores it (Predictor.scores_encoded decodes with the
same decoder), so what the app shows is what the latency's end-to-end scope timed. Nothing here asks which
pipeline a predictor belongs to: a predictor with `predict_boxes` draws boxes (benchmarks/registry/pipelines.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.predictions import PredictionError
from benchmarks.predictions.images import decode_checked


@dataclass
class Prediction:
    """One image through one candidate: per-class scores, and the boxes of a box predictor (None otherwise)."""

    name: str
    pipeline: str
    classes: list[str]
    scores: np.ndarray  # (C,)
    thresholds: np.ndarray  # (C,) the tuned ones
    boxes: np.ndarray | None = None  # (K, 6) x1, y1, x2, y2, conf, cls in original pixels, conf >= conf_floor

    def labels(self, thresholds: np.ndarray | None = None) -> list[str]:
        th = self.thresholds if thresholds is None else np.asarray(thresholds, dtype=np.float32)
        return [c for c, s, t in zip(self.classes, self.scores, th) if s >= t]


def predict_encoded(pred, pipeline: str, name: str, data: bytes) -> Prediction:
    """Encoded image bytes through one predictor (`pipeline` only labels the Prediction). The bytes first pass the
    checks `clsdet data inspect` makes, so a bomb, a truncated or a non-image file is a PredictionError naming it
    whatever decoder the predictor uses (cv2's own raises cv2.error on a bomb)."""
    decode_checked(data, name)
    try:
        scores, boxes = pred.scores_encoded(data, name)
    except Exception as exc:
        if getattr(exc, "user_error", False):  # the predictor's own reason for refusing the file
            raise PredictionError(str(exc)) from None
        raise
    return Prediction(name, pipeline, pred.classes, scores, np.asarray(pred.thresholds), boxes)


def score_paths(pred, paths: list[str]) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """(N, C) scores for image files, plus per-image boxes for a predictor with `predict_boxes` (else None): its
    image-level scores from those boxes (`scores_from_boxes`), so the images go through the network once."""
    predict_boxes = getattr(pred, "predict_boxes", None)
    if predict_boxes is None:
        return np.asarray(pred.predict_scores(paths), dtype=np.float32), None
    boxes = predict_boxes(paths)
    return np.asarray(pred.scores_from_boxes(boxes), dtype=np.float32), boxes


def mistakes(labels: list[str], truth_row: np.ndarray, classes: list[str]) -> dict[str, list[str]]:
    """Against the truth: missed (truth 1, not predicted) and false (truth 0, predicted); NA classes are neither."""
    said = set(labels)
    missed = [c for c, t in zip(classes, truth_row) if t == 1 and c not in said]
    false = [c for c, t in zip(classes, truth_row) if t == 0 and c in said]
    return {"missed": missed, "false": false}


def disagreement(*scores: np.ndarray) -> np.ndarray:
    """Per image the largest per-class score difference between any two of the models' (N, C) scores: 1 = one is
    sure, another silent. For two models, the largest |a - b|; one model (or none) disagrees with nobody: zeros."""
    if not scores or len(scores[0]) == 0:
        return np.zeros(len(scores[0]) if scores else 0, dtype=np.float32)
    stack = np.stack([np.asarray(s, np.float32) for s in scores])  # (M, N, C)
    # the largest pairwise difference in a class is its highest score minus its lowest
    return (stack.max(axis=0) - stack.min(axis=0)).max(axis=1)


def choose_examples(disagree: np.ndarray, n: int = 12, n_random: int = 4, seed: int = 0) -> list[int]:
    """The fixed rule for the predictions figure: the n - n_random largest disagreements (ties by position), then
    n_random seeded random picks among the rest, so typical images show beside the hard ones."""
    order = sorted(range(len(disagree)), key=lambda i: (-float(disagree[i]), i))
    top = order[: max(n - n_random, 0)]
    rest = sorted(set(range(len(disagree))) - set(top))
    rng = np.random.default_rng(seed)
    extra = rng.choice(rest, size=min(n_random, len(rest)), replace=False).tolist() if rest else []
    return top + [int(i) for i in extra]
