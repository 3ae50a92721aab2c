"""Synthetic detection data for the detector tests: coloured shapes on grey, rendered with PIL in milliseconds."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

from detector.dataset import ViewImage

CLASSES = ["red_square", "blue_circle"]
COLORS = {0: (220, 30, 30), 1: (30, 60, 220)}


def render(path: Path, objects: list[tuple[int, int, int, int]], size: int = 96) -> list[tuple]:
    """objects: (class, x, y, side) -> writes a JPEG; returns the boxes as (class, x1, y1, x2, y2)."""
    im = Image.new("RGB", (size, size), (128, 128, 128))
    draw = ImageDraw.Draw(im)
    boxes = []
    for c, x, y, s in objects:
        xy = (x, y, x + s, y + s)
        (draw.rectangle if c == 0 else draw.ellipse)(xy, fill=COLORS[c])
        boxes.append((c, float(x), float(y), float(x + s), float(y + s)))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, quality=95)
    return boxes


def make_images(root: Path, n: int, seed: int, size: int = 96, prefix: str = "") -> list[ViewImage]:
    """n images, about one in six empty (negatives); classes independent, so some images hold both."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        objects = []
        for c in (0, 1):
            if rng.random() < 0.55:
                s = rng.randint(size // 4, size // 2)
                objects.append((c, rng.randint(0, size - s), rng.randint(0, size - s), s))
        path = root / f"{prefix}img{i:03d}.jpg"
        out.append(ViewImage(id=f"{prefix}{i:03d}", path=path, width=size, height=size, boxes=render(path, objects)))
    return out
