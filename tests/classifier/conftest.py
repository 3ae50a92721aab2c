"""Tiny synthetic multi-label data: coloured shapes on noise, made with PIL in a temp folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

CLASSES = ["red_circle", "green_square", "blue_triangle"]
COLOURS = [(220, 30, 30), (30, 200, 30), (30, 60, 230)]


def make_shapes(folder: Path, n: int, size: int = 64, seed: int = 0) -> tuple[list[Path], np.ndarray]:
    """n images with each shape present with probability 0.5; returns (paths, targets (n, 3) of 1/0)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths, targets = [], np.zeros((n, len(CLASSES)), dtype=np.float32)
    for i in range(n):
        noise = rng.integers(90, 170, (size, size, 3), dtype=np.uint8)
        img = Image.fromarray(noise)
        draw = ImageDraw.Draw(img)
        for c, colour in enumerate(COLOURS):
            if rng.random() < 0.5:
                continue
            targets[i, c] = 1
            r = size // 6
            x, y = rng.integers(r + 2, size - r - 2, 2)
            box = (x - r, y - r, x + r, y + r)
            if c == 0:
                draw.ellipse(box, fill=colour)
            elif c == 1:
                draw.rectangle(box, fill=colour)
            else:
                draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=colour)
        path = folder / f"img_{i:04d}.png"
        img.save(path)
        paths.append(path)
    return paths, targets


@pytest.fixture(scope="session")
def shapes(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("shapes")
    train = make_shapes(root / "train", 64, seed=1)
    val = make_shapes(root / "val", 24, seed=2)
    test = make_shapes(root / "test", 24, seed=3)
    return {"classes": CLASSES, "train": train, "val": val, "test": test}
