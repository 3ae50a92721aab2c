"""Fixtures for the detector tests; the synthetic shapes live in detector_shapes.py (a unique module name: a plain
`from conftest import ...` could pick another folder's conftest)."""

from __future__ import annotations

import pytest
from detector_shapes import make_images

from detector.dataset import ViewImage


@pytest.fixture(scope="session")
def shapes(tmp_path_factory) -> dict[str, list[ViewImage]]:
    """train 24 / val 8 / test 8 images of 96 px in a read-only-by-convention source folder."""
    src = tmp_path_factory.mktemp("shapes_src")
    return {
        "train": make_images(src / "train", 24, seed=1, prefix="tr"),
        "val": make_images(src / "val", 8, seed=2, prefix="va"),
        "test": make_images(src / "test", 8, seed=3, prefix="te"),
    }
