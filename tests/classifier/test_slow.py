"""Slow: real photos (coco128) for a few epochs, and a 2-process DDP run on CPU (gloo)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from classifier import ClassifierConfig, load, train

COCO_CLASSES = ["person", "car", "cup", "potted plant"]  # coco128's most frequent classes (shared/README)


def coco128_image_labels(root):
    """YOLO box labels -> image-level multi-hot targets over COCO_CLASSES (an image without a label file: all 0)."""
    names = yaml.safe_load((root / "coco128.yaml").read_text())["names"]
    ids = {names[k]: int(k) for k in names}
    wanted = [ids[c] for c in COCO_CLASSES]
    paths = sorted((root / "images" / "train2017").glob("*.jpg"))
    targets = np.zeros((len(paths), len(COCO_CLASSES)), np.float32)
    for i, p in enumerate(paths):
        label = root / "labels" / "train2017" / (p.stem + ".txt")
        present = (
            {int(line.split()[0]) for line in label.read_text().splitlines() if line.strip()}
            if label.exists()
            else set()
        )
        targets[i] = [cid in present for cid in wanted]
    return paths, targets


@pytest.mark.slow
def test_few_epochs_on_coco128(coco128, tmp_path):
    paths, targets = coco128_image_labels(coco128)
    # images per class; shared/README's "potted plant 10" includes an orphan label file whose image is absent
    assert targets.sum(0).tolist() == [61, 12, 10, 9]
    tr, va = slice(0, 96), slice(96, None)
    cfg = ClassifierConfig(epochs=3, imgsz=96, batch=16, workers=1)
    out = train(paths[tr], targets[tr], paths[va], targets[va], COCO_CLASSES, cfg, tmp_path / "a", progress=False)
    hist = pd.read_csv(out / "history.csv")
    assert len(hist) == 3
    assert np.isfinite(hist["train/loss"]).all()
    summary = json.loads((out / "training.json").read_text())
    assert summary["workers"] == 1
    scores = load(out).predict_scores(paths[va])
    assert scores.shape == (32, 4)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert np.allclose(scores, np.load(out / "val_scores.npy"), atol=1e-5)


@pytest.mark.slow
def test_two_process_ddp_on_cpu(shapes, tmp_path):
    (tr_paths, tr_t), (va_paths, va_t) = shapes["train"], shapes["val"]
    cfg = ClassifierConfig(
        epochs=2, imgsz=48, batch=8, workers=0, device="cpu", devices=2, strategy="ddp_spawn", backbone="resnet18"
    )
    out = train(tr_paths, tr_t, va_paths, va_t, shapes["classes"], cfg, tmp_path / "ddp", progress=False)
    hist = pd.read_csv(out / "history.csv")
    assert list(hist["epoch"]) == [0, 1]
    assert hist["val/macro_ap"].notna().all()
    # the artifact loads in one process and reproduces the scores train() computed after the DDP fit
    scores = load(out).predict_scores(va_paths)
    assert np.allclose(scores, np.load(out / "val_scores.npy"), atol=1e-5)
