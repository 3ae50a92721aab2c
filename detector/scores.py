"""From detections to image-level scores: per class, the highest confidence among the image's boxes (0 if none).

Pure numpy, so the reduction the whole comparison rests on is tested on its own.
"""

from __future__ import annotations

import numpy as np


def max_conf_per_class(detections, n_classes: int) -> np.ndarray:
    """detections: per image an array (K, 6) of x1, y1, x2, y2, conf, cls -> (N, C) float32 scores."""
    scores = np.zeros((len(detections), n_classes), dtype=np.float32)
    for i, det in enumerate(detections):
        det = np.asarray(det, dtype=np.float32).reshape(-1, 6)
        if not len(det):
            continue
        cls = det[:, 5].astype(np.int64)
        if cls.min() < 0 or cls.max() >= n_classes:
            raise ValueError(f"image {i}: detection class {int(cls.max())} outside 0..{n_classes - 1}")
        np.maximum.at(scores[i], cls, det[:, 4])
    return scores
