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
from classifier.data import ImageDecodeError, decode_bytes, open_image


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
    with pytest.raises(core.AppError, match=reason):  # the app's upload and `clsdet predict`
        core.decode_upload(data, "x.png")
    with pytest.raises(core.AppError, match=reason):  # the detector's path: no cv2.error traceback
        core.predict_encoded(None, "detector", "x.png", data)


def test_not_an_image_is_said_so_with_ultralytics_loaded():
    """Ultralytics wraps PIL.Image.open (HEIF support): without pi_heif, an unknown file is an ImportError there."""
    import ultralytics.utils.patches  # noqa: F401 - the wrapping happens on import

    with pytest.raises(core.AppError, match="not an image"):
        core.decode_upload(b"<html>not an image</html>", "x.png")


def test_a_bomb_never_reaches_the_classifier_decoder():
    with pytest.raises(core.AppError, match="exceeds limit of"):
        core.predict_encoded(None, "classifier", "x.png", _bomb_png())


def test_animated_image_is_its_first_frame_everywhere():
    gif = _animated_gif()
    rgb = open_image(gif, "a.gif")
    assert rgb.shape == (10, 20, 3) and tuple(rgb[0, 0]) == (255, 0, 0)
    chw = decode_bytes(torch.frombuffer(bytearray(gif), dtype=torch.uint8), "a.gif")
    assert chw.shape == (3, 10, 20) and chw[:, 0, 0].tolist() == [255, 0, 0]  # not (3 frames, 3, 10, 20)

    seen = []

    class Pred:  # records what the classifier path hands the network
        classes, thresholds = ["a"], np.asarray([0.5], np.float32)

        def preprocess(self, images):
            seen.extend(images)
            return torch.stack([im.float().mean((1, 2)) for im in images])

        def forward(self, x):
            return torch.zeros(len(x), 1)

    p = core.predict_encoded(Pred(), "classifier", "a.gif", gif)
    assert seen[0].shape == (3, 10, 20) and p.scores.shape == (1,)

    from benchmarks.measure.run_latency import preprocess_images

    seen.clear()
    preprocess_images(Pred(), [gif, _jpeg()])  # the latency stage's decode
    assert [tuple(im.shape) for im in seen] == [(3, 10, 20), (3, 48, 64)]


def test_odd_modes_become_rgb():
    for mode in ("P", "LA", "I;16", "CMYK"):
        buf = io.BytesIO()
        Image.new(mode, (8, 6)).save(buf, format="TIFF" if mode in ("CMYK", "I;16") else "PNG")
        assert open_image(buf.getvalue(), f"{mode}.img").shape == (6, 8, 3), mode
