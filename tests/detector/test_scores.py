"""The reduction the image-level comparison rests on: per class, the highest detection confidence, 0 when none."""

from __future__ import annotations

import numpy as np
import pytest

from detector.scores import max_conf_per_class


def test_max_conf_per_class():
    dets = [
        np.array([[0, 0, 5, 5, 0.30, 1], [1, 1, 6, 6, 0.90, 1], [2, 2, 4, 4, 0.10, 0]]),
        np.zeros((0, 6)),
        np.array([[0, 0, 5, 5, 0.42, 2]]),
    ]
    scores = max_conf_per_class(dets, 3)
    assert scores.dtype == np.float32 and scores.shape == (3, 3)
    np.testing.assert_allclose(scores, [[0.10, 0.90, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.42]], rtol=1e-6)


def test_empty_and_bad_class():
    assert max_conf_per_class([], 4).shape == (0, 4)
    with pytest.raises(ValueError, match="class 5 outside 0..1"):
        max_conf_per_class([np.array([[0, 0, 1, 1, 0.5, 5]])], 2)
