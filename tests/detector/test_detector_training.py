"""A real (tiny) training on synthetic shapes, on CPU: artifact layout, scores, latency hooks, box mAP, isolation.

One session-scoped training (1 epoch, 64 px, 24 images) serves every test here; what is asserted is the
plumbing (shapes, files, the floor, max-per-class, no writes outside out_dir), not accuracy.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import detector
from detector.scores import max_conf_per_class


@pytest.fixture(scope="session")
def trained(shapes, tmp_path_factory):
    from detector_shapes import CLASSES

    root = tmp_path_factory.mktemp("det_run")
    src = shapes["train"][0].path.parents[1]
    before = sorted(p.name for p in src.rglob("*"))
    det_before = torch.are_deterministic_algorithms_enabled()
    view = detector.build_dataset_view(root / "view", CLASSES, shapes)
    cfg = detector.DetectorConfig(epochs=1, imgsz=64, batch=8, device="cpu", close_mosaic=0)
    printed = io.StringIO()  # not a terminal: one line per epoch, no bar
    with contextlib.redirect_stdout(printed):
        artifact = detector.train(view, cfg, root / "det", progress=True)
    return {
        "printed": printed.getvalue(),
        "view": view,
        "artifact": artifact,
        "cfg": cfg,
        "src_unchanged": before == sorted(p.name for p in src.rglob("*")),
        "det_unchanged": det_before == torch.are_deterministic_algorithms_enabled(),
        "threads_after": torch.get_num_threads(),
    }


def test_artifact_layout_and_training_record(trained):
    art = trained["artifact"]
    for f in ("weights/best.pt", "weights/last.pt", "config.json", "classes.json", "thresholds.json", "history.csv"):
        assert (art / f).is_file(), f
    rec = json.loads((art / "training.json").read_text())
    assert rec["epochs_run"] == 1 and rec["device"] == "cpu" and rec["workers"] == 0
    assert rec["train_wall_s"] > 0 and rec["s_per_epoch"] > 0
    assert rec["conf_floor"] == 0.001
    assert rec["best_epoch"] == 1
    history = (art / "history.csv").read_text().splitlines()
    assert len(history) == 2 and "metrics/mAP50(B)" in history[0]  # header + one epoch
    # the image-level val macro AP of the epoch, from the validator's own predictions (detector.val_scores)
    row = dict(zip(history[0].split(","), history[1].split(",")))
    assert 0.0 <= float(row["val/image_macro_ap"]) <= 1.0
    assert json.loads((art / "thresholds.json").read_text())["thresholds"] == {"red_square": 0.25, "blue_circle": 0.25}
    assert (art / "ultralytics" / "results.csv").is_file()  # Ultralytics' own run folder is inside out_dir


def test_one_progress_line_per_epoch_without_bars(trained):
    out = trained["printed"]
    assert "\r" not in out
    line = r"^  detector epoch 1/1: train loss \d+\.\d{3}, val mAP50 \d\.\d{3}, val mAP50-95 \d\.\d{3} \| \d+\.\d s$"
    assert len(re.findall(line, out, re.M)) == 1, out


def test_no_writes_outside_and_no_global_state(trained):
    assert trained["src_unchanged"]  # label caches went to the view, not beside the images
    assert (trained["view"] / "labels" / "train.cache").is_file()
    assert trained["det_unchanged"]  # Ultralytics' deterministic mode was switched back
    assert trained["threads_after"] == 2  # tests/conftest.py sets 2; Ultralytics would leave cpu_count - 1


def test_resume_keeps_a_finished_artifact(trained):
    art = trained["artifact"]
    mtime = (art / "weights" / "best.pt").stat().st_mtime_ns
    assert detector.train(trained["view"], trained["cfg"], art, progress=False) == art
    assert (art / "weights" / "best.pt").stat().st_mtime_ns == mtime


def test_predictor_scores_boxes_and_latency_hooks(trained, shapes):
    pred = detector.load(trained["artifact"], device="cpu")
    assert pred.classes == ["red_square", "blue_circle"] and pred.imgsz == 64 and pred.conf_floor == 0.001
    paths = [v.path for v in shapes["test"]]
    boxes = pred.predict_boxes(paths)
    scores = pred.predict_scores(paths, batch_size=3)
    assert scores.shape == (len(paths), 2) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, max_conf_per_class(boxes, 2))
    assert ((scores == 0) | (scores >= pred.conf_floor)).all()
    for b in boxes:
        assert b.shape[1] == 6
        assert (b[:, :4] >= -1).all() and (b[:, :4] <= 97).all()  # original 96 px frame, not the 64 px letterbox
    batch = pred.preprocess([np.zeros((96, 80, 3), np.uint8), torch.zeros(3, 50, 70, dtype=torch.uint8)])
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == torch.float32
    assert pred.example_input(4).shape == (4, 3, 64, 64)
    assert pred.forward(pred.example_input(2))[0].shape[0] == 2
    encoded = [Path(p).read_bytes() for p in paths[:3]]
    pred.save_thresholds(np.array([0.0, 1.1]))  # everything on for class 0, nothing for class 1
    decisions = pred.end_to_end(encoded)
    assert decisions.dtype == bool and decisions[:, 0].all() and not decisions[:, 1].any()
    reloaded = detector.load(trained["artifact"])
    np.testing.assert_allclose(reloaded.thresholds, [0.0, 1.1])
    pred.save_thresholds([0.25, 0.25])


def test_box_metrics_on_test_split(trained):
    m = detector.box_metrics(trained["artifact"], trained["view"], split="test")
    assert 0.0 <= m["map50_95"] <= m["map50"] <= 1.0
    assert set(m["per_class"]) == {"red_square", "blue_circle"}
    n_boxes = json.loads((trained["view"] / "view.json").read_text())["splits"]["test"]["boxes"]
    assert sum(c["n_instances"] for c in m["per_class"].values()) == n_boxes
    assert (trained["artifact"] / "ultralytics_val").is_dir()


def test_truncated_pretrained_weights_are_a_user_error(trained, tmp_path):
    good = trained["artifact"] / "weights" / "best.pt"
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:4096])  # an interrupted download
    cfg = detector.DetectorConfig(epochs=1, imgsz=64, batch=8, device="cpu", close_mosaic=0, weights=str(cut))
    with pytest.raises(Exception, match="cannot be read") as info:
        detector.train(trained["view"], cfg, tmp_path / "det", progress=False)
    assert getattr(info.value, "user_error", False) and str(cut) in str(info.value)
