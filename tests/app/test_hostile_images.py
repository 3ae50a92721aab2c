"""Hostile images outside `data inspect` (predict, the app, the report's pictures, latency): the same checks as
inspect, through one opening function, each a clear per-file reason instead of a cv2/conv2d traceback."""

from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.app import core
from benchmarks.predictions import PredictionError
from benchmarks.predictions.scoring import predict_encoded
from classifier.data import ImageDecodeError, decode_bytes, open_image
from classifier.predictor import Predictor as ClassifierPredictor


def _bomb_png(side: int = 40_000) -> bytes:
    """A valid PNG header of side x side pixels (1.6 billion) in a few dozen bytes: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def _untrained_classifier() -> ClassifierPredictor:
    from classifier.backbones import IMAGENET_MEAN, IMAGENET_STD
    from classifier.network import build_network

    net = build_network("mobilenet_v3_small", 2, mode="scratch", weights="none")
    norm = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    return ClassifierPredictor(net, ["a", "b"], [0.5, 0.5], norm, {"imgsz": 32}, "cpu")


def _jpeg(size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(
        buf, format="JPEG"
    )
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_bomb_png(), "exceeds limit of"),
        (_jpeg()[:400], "the file is cut short (truncated)"),
        (b"<html>not an image</html>", "not an image (JPEG, PNG, BMP, WebP, GIF or TIFF)"),
        (b"", "the file is empty"),
    ],
    ids=["bomb", "truncated", "html", "empty"],
)
def test_each_hostile_file_gets_its_reason(data, reason):
    reason = re.escape(reason)
    with pytest.raises(ImageDecodeError, match=reason):
        open_image(data, "x.png")
    with pytest.raises(PredictionError, match=reason):  # the app's upload and `clsdet predict`
        core.decode_upload(data, "x.png")
    with pytest.raises(PredictionError, match=reason):  # before any predictor's decoder: no cv2.error traceback
        predict_encoded(None, "detector", "x.png", data)


def test_not_an_image_is_said_so_with_ultralytics_loaded():
    """Ultralytics wraps PIL.Image.open (HEIF support): without pi_heif, an unknown file is an ImportError there."""
    import ultralytics.utils.patches  # noqa: F401 - the wrapping happens on import

    with pytest.raises(PredictionError, match="not an image"):
        core.decode_upload(b"<html>not an image</html>", "x.png")


def test_a_bomb_never_reaches_the_classifier_decoder():
    with pytest.raises(PredictionError, match="exceeds limit of"):
        predict_encoded(None, "classifier", "x.png", _bomb_png())
    pred = _untrained_classifier()
    with pytest.raises(ImageDecodeError, match="exceeds limit of"):  # its own header check, called directly
        pred.scores_encoded(_bomb_png(), "x.png")


def test_animated_image_is_its_first_frame_everywhere():
    gif = _animated_gif()
    rgb = open_image(gif, "a.gif")
    assert rgb.shape == (10, 20, 3) and tuple(rgb[0, 0]) == (255, 0, 0)
    chw = decode_bytes(torch.frombuffer(bytearray(gif), dtype=torch.uint8), "a.gif")
    assert chw.shape == (3, 10, 20) and chw[:, 0, 0].tolist() == [255, 0, 0]  # not (3 frames, 3, 10, 20)

    seen = []

    class Pred(ClassifierPredictor):  # records what the classifier's decode hands the network
        classes, thresholds = ["a"], np.asarray([0.5], np.float32)

        def __init__(self):
            pass

        def preprocess(self, images):
            seen.extend(images)
            return torch.stack([im.float().mean((1, 2)) for im in images])

        def forward(self, x):
            return torch.zeros(len(x), 1)

    scores, boxes = Pred().scores_encoded(gif, "a.gif")
    assert seen[0].shape == (3, 10, 20) and scores.shape == (1,) and boxes is None

    from benchmarks.measure.run_latency import preprocess_images

    seen.clear()
    preprocess_images(Pred(), [gif, _jpeg()])  # the latency stage's decode
    assert [tuple(im.shape) for im in seen] == [(3, 10, 20), (3, 48, 64)]


def test_odd_modes_become_rgb():
    for mode in ("P", "LA", "I;16", "CMYK"):
        buf = io.BytesIO()
        Image.new(mode, (8, 6)).save(buf, format="TIFF" if mode in ("CMYK", "I;16") else "PNG")
        assert open_image(buf.getvalue(), f"{mode}.img").shape == (6, 8, 3), mode


def test_the_classifier_scores_an_upload_as_end_to_end_decides():
    pred = _untrained_classifier()
    for data in (_jpeg(), _animated_gif()):
        scores, boxes = pred.scores_encoded(data, "x")
        assert boxes is None and scores.dtype == np.float32 and scores.shape == (2,)
        np.testing.assert_array_equal(scores >= pred.thresholds, pred.end_to_end([data])[0])
