"""The app's Streamlit-free parts: runs and candidates, upload decoding, Grad-CAM, and the trained predictors'
scores and boxes on the tiny run's images."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.app import core
from benchmarks.app.cam import CamUnavailable, crop_box, grad_cam, last_conv
from benchmarks.predictions import PredictionError
from benchmarks.predictions import run as run_parts  # a module: pytest would collect a bare `test_set`
from benchmarks.predictions.images import read_image
from benchmarks.predictions.scoring import predict_encoded, score_paths


# --- runs and candidates -----------------------------------------------------------------------------------------
def test_newest_run_and_a_clear_error_without_one(tmp_path):
    with pytest.raises(core.AppError, match="no finished run under"):
        core.newest_run(tmp_path)
    for i, name in enumerate(["b-old", "a-new"]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text("{}")
        os.utime(tmp_path / name / "results.json", (time.time() - 100 + i * 50,) * 2)
    (tmp_path / "c-unfinished").mkdir()  # no results.json: never chosen
    assert core.newest_run(tmp_path).name == "a-new"


def test_candidates_group_by_pipeline_and_fall_back_to_the_key():
    results = {
        "models": {
            "r18-scratch": {"pipeline": "classifier", "artifact": "cands/r18"},
            "yolo11n": {"pipeline": "detector", "artifact": "cands/y11n"},
            "classifier": {"artifact": "classifier"},  # an old record: keyed by pipeline
            "broken": {"pipeline": "detector", "artifact": None},  # failed training: no artifact
        }
    }
    assert run_parts.candidates(results) == {"classifier": ["r18-scratch", "classifier"], "detector": ["yolo11n"]}
    assert core.resolve_candidate(results, "detector") == ["yolo11n"]
    assert core.resolve_candidate(results, "r18-scratch") == ["r18-scratch"]
    with pytest.raises(core.AppError, match="has candidates"):
        core.resolve_candidate(results, "vit")


# --- uploads -------------------------------------------------------------------------------------------------------
def test_decode_upload_reads_images_and_names_what_is_wrong():
    import cv2

    ok, png = cv2.imencode(".png", np.full((5, 7, 3), (0, 0, 255), np.uint8))  # BGR red
    rgb = core.decode_upload(png.tobytes(), "red.png")
    assert rgb.shape == (5, 7, 3) and tuple(rgb[0, 0]) == (255, 0, 0)
    with pytest.raises(core.AppError, match="empty.txt: the file is empty"):
        core.decode_upload(b"", "empty.txt")
    with pytest.raises(PredictionError, match="notes.txt: not an image"):
        core.decode_upload(b"hello", "notes.txt")
    with pytest.raises(core.AppError, match="over the 20 MB limit"):
        core.decode_upload(b"\0" * (core.MAX_UPLOAD_MB * 2**20 + 1), "big.jpg")


def test_image_files_expands_folders_and_reports_skips(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.JPG").write_bytes(b"1")
    (tmp_path / "a" / "notes.txt").write_text("no")
    (tmp_path / "a" / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    files, skipped = core.image_files([tmp_path / "a", tmp_path / "empty", tmp_path / "missing.jpg"])
    assert [f.name for f in files] == ["x.JPG"]
    # what a folder holds besides images is said, not silently dropped (hidden files excepted, as inspect does)
    assert skipped == [
        f"{tmp_path / 'a' / 'gone.jpg'}: a link to a missing file",
        f"{tmp_path / 'a' / 'notes.txt'}: not an image file name ({', '.join(sorted(core.IMAGE_SUFFIXES))})",
        f"{tmp_path / 'empty'}: no image files ({', '.join(sorted(core.IMAGE_SUFFIXES))}) in this folder",
        f"{tmp_path / 'missing.jpg'}: no such file or folder",
    ]


# --- Grad-CAM ------------------------------------------------------------------------------------------------------
def test_crop_box_matches_the_eval_transform():
    assert crop_box(100, 200, 64) == (0.0, 50.0, 100.0, 150.0)  # the centred square of a wide image
    y0, x0, y1, x1 = crop_box(64, 64, 64, crop_ratio=0.8)  # resize to 80, crop 64: a 51.2 px centre region
    assert (y0, x0) == pytest.approx((6.4, 6.4)) and (y1, x1) == pytest.approx((57.6, 57.6))


class _RedBlue(torch.nn.Module):
    """Channel 0 of the conv sees red, channel 1 blue; class 0's logit is the mean red, class 1's the mean blue."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.weight[0, 0] = 1.0
            self.conv.weight[1, 2] = 1.0

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


class _Pred:
    def __init__(self, model, imgsz=32):
        self.model, self.imgsz, self.config = model, imgsz, {"eval_crop_ratio": 1.0}

    def preprocess(self, images):
        return torch.stack([torch.nn.functional.interpolate(i[None].float() / 255, size=(32, 32))[0] for i in images])


def test_grad_cam_lights_the_region_the_score_comes_from():
    image = np.zeros((48, 48, 3), np.uint8)
    image[:16, :16] = (255, 0, 0)  # red top-left
    image[32:, 32:] = (0, 0, 255)  # blue bottom-right
    red, blue = (grad_cam(_Pred(_RedBlue()), image, k) for k in (0, 1))
    assert red.shape == (48, 48) and red.dtype == np.float32
    assert red.max() == pytest.approx(1.0) and red.min() >= 0.0
    assert red[2:12, 2:12].mean() > 0.8 and red[36:, 36:].max() < 0.1
    assert blue[36:, 36:].mean() > 0.8 and blue[2:12, 2:12].max() < 0.1


def test_grad_cam_without_a_convolution_says_so():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 2))
    with pytest.raises(CamUnavailable, match="not available for this backbone"):
        last_conv(model)
    with pytest.raises(CamUnavailable):
        grad_cam(_Pred(model), np.zeros((32, 32, 3), np.uint8), 0)


def test_grad_cam_on_the_trained_classifier(run_dir):
    results = core.load_run(run_dir)
    pred = run_parts.load_predictor(run_dir, results, run_parts.candidates(results)["classifier"][0])
    ts = run_parts.test_set(run_dir, results)
    image = read_image(ts.paths[0])
    heat = grad_cam(pred, image, 0)
    assert heat.shape == image.shape[:2] and np.isfinite(heat).all() and 0 <= heat.min() <= heat.max() <= 1
    assert not pred.model.training


# --- the detector's boxes ------------------------------------------------------------------------------------------
def test_predict_boxes_takes_paths_or_arrays_and_agrees_with_scores(run_dir):
    from detector.scores import max_conf_per_class

    results = core.load_run(run_dir)
    det = run_parts.load_predictor(run_dir, results, run_parts.candidates(results)["detector"][0])
    ts = run_parts.test_set(run_dir, results)
    paths = ts.paths[:4]
    from_paths = det.predict_boxes(paths)
    from_arrays = det.predict_boxes([np.ascontiguousarray(read_image(p)[..., ::-1]) for p in paths])
    for a, b in zip(from_paths, from_arrays):
        np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(max_conf_per_class(from_paths, len(det.classes)), det.predict_scores(paths))
    conf = float(np.median(np.concatenate([b[:, 4] for b in from_paths]))) if any(len(b) for b in from_paths) else 0.5
    kept = det.predict_boxes(paths, conf=conf)
    for full, k in zip(from_paths, kept):
        assert (k[:, 4] >= conf).all() and len(k) == int((full[:, 4] >= conf).sum())
    for b, p in zip(from_paths, paths):
        h, w = read_image(p).shape[:2]
        assert (b[:, [0, 2]] <= w + 1).all() and (b[:, [1, 3]] <= h + 1).all()  # original pixels


# --- one encoded image, as end_to_end sees it ------------------------------------------------------------------
def test_scores_encoded_decides_as_end_to_end_and_boxes_match_the_file(run_dir):
    """Each trained predictor scores an upload with its end_to_end decoder: the same decisions as the timed scope,
    and the detector's boxes those of the same file read from disk (score_paths, the browser and the figure)."""
    results = core.load_run(run_dir)
    ts = run_parts.test_set(run_dir, results)
    paths = ts.paths[:3]
    for pipeline, names in run_parts.candidates(results).items():
        pred = run_parts.load_predictor(run_dir, results, names[0])
        scores, boxes = score_paths(pred, paths)
        assert (boxes is not None) == hasattr(pred, "predict_boxes"), pipeline
        for k, path in enumerate(paths):
            data = Path(path).read_bytes()
            p = predict_encoded(pred, pipeline, path, data)
            assert p.scores.dtype == np.float32 and p.scores.shape == (len(pred.classes),)
            np.testing.assert_array_equal(p.scores >= pred.thresholds, pred.end_to_end([data])[0])
            np.testing.assert_allclose(p.scores, scores[k], atol=1e-4)  # an upload scores as its file does
            if boxes is None:
                assert p.boxes is None
            else:
                np.testing.assert_allclose(p.boxes, boxes[k], atol=1e-3)
