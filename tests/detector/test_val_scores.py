"""The detector's image-level val macro AP per epoch (detector.val_scores), on synthetic validator stats: the AP rule,
the per-image reduction of the validator's predictions, and the history.csv column. The real training that writes
the column is checked in test_detector_training.py."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from detector.val_scores import COLUMN, ValImageScores, image_macro_ap, write_history


def test_image_macro_ap_matches_sklearn_and_skips_classes_without_a_positive():
    rng = np.random.default_rng(0)
    truth = rng.random((40, 3)) < [0.3, 0.5, 0.0]  # class 2 has no positive in val
    scores = np.round(0.5 * truth + rng.random((40, 3)), 1)  # rounded: ties, as many images score 0
    scores[rng.random((40, 3)) < 0.3] = 0.0
    want = np.mean([average_precision_score(truth[:, c], scores[:, c]) for c in (0, 1)])
    assert image_macro_ap(scores, truth) == pytest.approx(want, abs=1e-6)
    assert math.isnan(image_macro_ap(scores, np.zeros_like(truth)))
    with pytest.raises(ValueError, match="must both be"):
        image_macro_ap(scores, truth[:, :2])


def _validator(stats, n_classes=3):
    return SimpleNamespace(metrics=SimpleNamespace(stats=stats), names={i: f"c{i}" for i in range(n_classes)})


def test_collector_reduces_each_image_to_max_conf_per_class():
    """What the validator appends per image (detections' conf and cls, the image's true classes) becomes per class the
    highest confidence, 0 when none: the reduction predict_scores applies to test images."""
    stats = {"conf": [], "pred_cls": [], "target_img": [], "tp": []}
    v = _validator(stats)
    col = ValImageScores()
    col.on_val_start(v)
    batches = [  # (conf, cls, true classes) per image
        [(np.array([0.9, 0.2, 0.4]), np.array([0.0, 0.0, 1.0]), np.array([0.0])),
         (np.zeros(0), np.zeros(0), np.array([1.0]))],
        [(np.array([0.7]), np.array([1.0]), np.array([0.0, 1.0])),
         (np.array([0.3, 0.6]), np.array([0.0, 1.0]), np.array([], dtype=float))],
    ]  # fmt: skip
    for batch in batches:
        for c, k, t in batch:
            stats["conf"].append(c)
            stats["pred_cls"].append(k)
            stats["target_img"].append(t)
        col.on_val_batch_end(v)
    col.on_val_end(v)
    scores = np.array([[0.9, 0.4, 0], [0, 0, 0], [0, 0.7, 0], [0.3, 0.6, 0]])
    truth = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
    assert len(col.images) == 4  # every image once, though the stats lists are read after each batch
    want = np.mean([average_precision_score(truth[:, c], scores[:, c]) for c in (0, 1)])
    assert col.take() == pytest.approx(want)
    assert col.take() is None  # taken once: an epoch without a val pass gets no value
    col.on_val_start(v)  # a new pass starts from an empty collection (the validator clears its stats too)
    assert col.images == []


def test_write_history_adds_the_column_by_epoch(tmp_path):
    results = tmp_path / "results.csv"
    # older Ultralytics releases pad the header names with spaces
    results.write_text("      epoch,  metrics/mAP50(B)\n1,0.1\n2,0.2\n3,0.25\n")
    write_history(results, tmp_path / "history.csv", {1: 0.5, 2: float("nan"), 4: 0.9})
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines == [f"      epoch,  metrics/mAP50(B),{COLUMN}", "1,0.1,0.5", "2,0.2,", "3,0.25,"]
    results.write_text("time,x\n1,2\n")
    with pytest.raises(ValueError, match="no 'epoch' column"):
        write_history(results, tmp_path / "history.csv", {})
