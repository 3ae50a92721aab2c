"""Slow: the detector on real photos (coco128 from ../shared), through the same view/train/load/box_metrics path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

import detector
from detector.dataset import ViewImage

pytestmark = pytest.mark.slow


def _coco128_images(root) -> tuple[list[str], list[ViewImage]]:
    names = yaml.safe_load((root / "coco128.yaml").read_text())["names"]
    classes = [names[i] for i in sorted(names)]
    images = []
    for img in sorted((root / "images" / "train2017").glob("*.jpg")):
        w, h = Image.open(img).size
        boxes = []
        label = root / "labels" / "train2017" / f"{img.stem}.txt"
        for line in label.read_text().splitlines() if label.is_file() else []:
            c, cx, cy, bw, bh = (float(v) for v in line.split())
            boxes.append((int(c), (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h))
        images.append(ViewImage(id=img.stem, path=img, width=w, height=h, boxes=boxes))
    return classes, images


def test_coco128_train_predict_box_metrics(coco128, tmp_path):
    before = sorted(str(p) for p in coco128.rglob("*"))
    classes, images = _coco128_images(coco128)
    splits = {"train": images[:100], "val": images[100:114], "test": images[114:]}
    view = detector.build_dataset_view(tmp_path / "view", classes, splits)
    cfg = detector.DetectorConfig(model="yolo11n", epochs=3, imgsz=160, batch=16, device="cpu")
    art = detector.train(view, cfg, tmp_path / "det", progress=True)
    assert json.loads((art / "training.json").read_text())["epochs_run"] == 3
    pred = detector.load(art)
    scores = pred.predict_scores([v.path for v in splits["test"]])
    assert scores.shape == (14, 80) and np.isfinite(scores).all()
    m = detector.box_metrics(pred, view, split="test")
    assert len(m["per_class"]) == 80 and 0.0 <= m["map50"] <= 1.0
    n_boxes = sum(len(v.boxes) for v in splits["test"])
    assert sum(c["n_instances"] for c in m["per_class"].values()) == n_boxes
    assert sorted(str(p) for p in coco128.rglob("*")) == before  # no label cache beside the shared labels
