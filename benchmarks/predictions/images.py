"""Images outside a training job (an upload, `clsdet predict`, the report's and the app's pictures) opened with the
checks `clsdet data inspect` makes, each failure a PredictionError naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.predictions import PredictionError


def decode_checked(data: bytes, name: str) -> np.ndarray:
    """classifier.data.open_image (the checks `clsdet data inspect` makes: pixel limit, truncation, first frame of
    an animated image, any mode to RGB) -> HWC RGB uint8; its reason as a PredictionError."""
    # deferred: classifier.data imports Lightning and torch, which the CLI's start-up path must not load
    from classifier.data import ImageDecodeError, open_image

    try:
        return np.ascontiguousarray(open_image(data, name))
    except ImageDecodeError as exc:
        raise PredictionError(str(exc)) from None


def read_image(path: str | Path) -> np.ndarray:
    """A file the run already reads (a test image) -> HWC RGB uint8; no size cap, unlike an upload."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PredictionError(f"{path}: cannot read it ({exc.strerror})") from None
    return decode_checked(data, str(path))
