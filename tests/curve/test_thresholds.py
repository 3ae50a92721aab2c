import numpy as np
import pytest

from benchmarks.evaluate import DEFAULT_THRESHOLD, tune_thresholds


def _f1(scores, targets, t):
    pred = scores >= t
    tp = np.sum(pred & (targets == 1))
    return 2 * tp / (pred.sum() + (targets == 1).sum())


def test_threshold_maximises_f1_per_class():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 2, (200, 3)).astype(float)
    scores = np.clip(targets * 0.3 + rng.random((200, 3)) * 0.7, 0, 1)
    th = tune_thresholds(scores, targets)
    assert th.shape == (3,)
    assert th.dtype == np.float32
    for c in range(3):
        best = max(_f1(scores[:, c], targets[:, c], t) for t in np.unique(scores[:, c]))
        assert _f1(scores[:, c], targets[:, c], th[c]) == pytest.approx(best)


def test_separable_scores_put_threshold_between_classes():
    scores = np.array([[0.1], [0.2], [0.7], [0.9]])
    targets = np.array([[0], [0], [1], [1]], dtype=float)
    assert tune_thresholds(scores, targets)[0] == pytest.approx(0.45)


def test_na_entries_are_ignored():
    scores = np.array([[0.1], [0.2], [0.95], [0.7], [0.9]])
    targets = np.array([[0], [0], [np.nan], [1], [1]], dtype=float)
    # were the NA row a negative, the best cut would move above 0.95
    assert tune_thresholds(scores, targets)[0] == pytest.approx(0.45)


def test_class_without_known_positives_gets_default():
    scores = np.array([[0.1, 0.3], [0.8, 0.6]])
    targets = np.array([[0, np.nan], [0, np.nan]], dtype=float)
    assert tune_thresholds(scores, targets).tolist() == [DEFAULT_THRESHOLD, DEFAULT_THRESHOLD]


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="must both be"):
        tune_thresholds(np.zeros((3, 2)), np.zeros((3, 3)))
