"""benchmarks/predictions/draw.py: one caption line per model named by its pipeline, boxes for every model that
has them, whatever the pipelines are called and however many there are."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from benchmarks.predictions.draw import WRONG, draw_prediction  # noqa: E402
from benchmarks.predictions.scoring import Prediction  # noqa: E402

CLASSES = ["circle", "star"]
TRUTH = np.array([1.0, 0.0])
IMAGE = np.zeros((40, 60, 3), np.uint8)


def _preds() -> list[Prediction]:
    th = np.array([0.5, 0.5], np.float32)
    boxes_a = np.array([[1, 20, 10, 30, 0.9, 0], [5, 5, 20, 20, 0.3, 1]], np.float32)  # star below its threshold
    boxes_b = np.array([[30, 10, 50, 30, 0.7, 1]], np.float32)
    return [
        Prediction("resnet", "classifier", CLASSES, np.array([0.9, 0.2], np.float32), th),
        Prediction("yolo", "detector", CLASSES, np.array([0.9, 0.3], np.float32), th, boxes_a),
        Prediction("tag1", "tagger", CLASSES, np.array([0.1, 0.7], np.float32), th, boxes_b),
    ]


def _draw(**kw):
    fig, ax = plt.subplots()
    draw_prediction(ax, IMAGE, CLASSES, TRUTH, **kw)
    captions = [(t.get_text(), t.get_color()) for t in ax.texts if isinstance(t, matplotlib.text.Annotation)]
    tags = [t.get_text() for t in ax.texts if not isinstance(t, matplotlib.text.Annotation)]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    plt.close(fig)
    return captions, tags, boxes


def test_three_models_get_a_caption_line_each_and_every_box_model_its_boxes():
    captions, tags, boxes = _draw(predictions=_preds())
    assert captions == [
        ("truth: circle", "black"),
        ("classifier: circle 0.90", "black"),
        ("detector: circle 0.90", "black"),
        ("tagger: star 0.70 | missed circle; false star", WRONG),
    ]
    assert tags == ["circle 0.90", "star 0.70"] and len(boxes) == 2  # the 0.3 star box is under its threshold


def test_thresholds_are_overridden_per_model_and_box_conf_floors_every_box():
    low = np.array([0.1, 0.1], np.float32)
    captions, tags, boxes = _draw(predictions=_preds(), thresholds={"yolo": low})
    assert captions[2] == ("detector: circle 0.90, star 0.30 | false star", WRONG)  # only yolo's thresholds moved
    assert captions[1] == ("classifier: circle 0.90", "black")
    assert tags == ["circle 0.90", "star 0.30", "star 0.70"]
    _, tags, _ = _draw(predictions=_preds(), box_conf=0.8)
    assert tags == ["circle 0.90"]
    _, tags, _ = _draw(predictions=_preds(), only_class=1)
    assert tags == ["star 0.70"]


@pytest.mark.parametrize("n", [0, 1])
def test_no_or_one_model_still_draws_the_truth(n):
    captions, _, _ = _draw(predictions=_preds()[:n])
    assert [c for c, _ in captions] == ["truth: circle", "classifier: circle 0.90"][: n + 1]
