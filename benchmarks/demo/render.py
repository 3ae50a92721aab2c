"""One demo scene: a pure function of (seed, index, size) -> JPEG bytes + the objects in it, with their full boxes.

Kept apart from benchmarks/demo/dataset.py (which writes the dataset) so worker processes import only this, numpy and
PIL (the package's __init__ adds the standard library and the demo's small option modules), and so parallel
generation is byte-identical to serial: nothing here reads a global random state or the clock.

What makes the scenes quick to learn from scratch at 128-160 px (the benchmark trains both models in minutes on a
CPU): every class differs from every other in shape AND colour; objects span 12-45% of the image side; each object
keeps >= 60% of its pixels visible; backgrounds are muted (saturation <= 0.3) so they never look like an object.

`RenderOptions` makes it harder, for budget curves where the answer is not obvious: `object_scale`
shrinks every object (small objects are hard for an image classifier at low resolution), `distractors` adds up to
that many non-class shapes painted in class colours (colour alone stops telling the class). Distractors use their
own random stream and the defaults draw nothing extra, so the default scenes are byte-identical to before.
"""

from __future__ import annotations

import colorsys
import io
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


@dataclass(frozen=True)
class DemoClass:
    name: str
    rgb: tuple[int, int, int]
    # Share of images holding at least one: drawn independently per class, so images are truly multi-label and the
    # share of empty images is prod(1 - p) = 8.2% for the values below
    presence: float


CLASSES: tuple[DemoClass, ...] = (
    DemoClass("circle", (220, 40, 40), 0.50),  # red
    DemoClass("square", (40, 80, 220), 0.40),  # blue
    DemoClass("triangle", (40, 170, 60), 0.32),  # green
    DemoClass("star", (240, 210, 30), 0.26),  # yellow
    DemoClass("cross", (150, 50, 190), 0.22),  # purple
    DemoClass("ring", (245, 130, 20), 0.17),  # orange
    DemoClass("heart", (30, 200, 210), 0.10),  # cyan; the rare class (issue: one class in < 15% of images)
)

MAX_OBJECTS = 6
MIN_SIDE, MAX_SIDE = 0.12, 0.45  # object extent as a share of the image side (design brief)
MIN_VISIBLE = 0.60  # every object keeps at least this share of its own pixels uncovered
OCCLUDED_IF_COVERED = 0.03  # occluded="1" once another object hides more than this share (a human would tick it)
SUPERSAMPLE = 2  # masks drawn at 2x and box-filtered down: anti-aliased edges like a photo, at ~4x mask cost
JPEG_QUALITY = 92


@dataclass(frozen=True)
class RenderOptions:
    object_scale: float = 1.0  # multiplies MIN_SIDE and MAX_SIDE: 0.3 -> objects 3.6-13.5% of the image side
    distractors: int = 0  # at most this many non-class shapes per image (uniform 0..n), under the objects

    def __post_init__(self) -> None:
        if not 0.1 <= self.object_scale <= 1.5:
            raise ValueError(f"object_scale = {self.object_scale!r}; use 0.1 to 1.5 (1.0 = the default sizes)")
        if not (isinstance(self.distractors, int) and 0 <= self.distractors <= 20):
            raise ValueError(f"distractors = {self.distractors!r}; use an integer from 0 to 20")


DEFAULT_OPTIONS = RenderOptions()


@dataclass
class DemoObject:
    cls: int  # index into CLASSES
    box: tuple[float, float, float, float]  # x1, y1, x2, y2: the object's full extent in pixels
    visible: float  # share of the object's pixels not covered by objects drawn after it
    occluded: bool


# --- shapes: unit outlines in [-0.5, 0.5]^2, y down ---------------------------------------------------------------
def _ellipse(n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([0.5 * np.cos(t), 0.5 * np.sin(t)], axis=1)


def _star(points: int = 5, inner: float = 0.45) -> np.ndarray:
    t = -np.pi / 2 + np.arange(2 * points) * np.pi / points
    r = np.where(np.arange(2 * points) % 2 == 0, 0.5, 0.5 * inner)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _cross(arm: float = 0.17) -> np.ndarray:
    a, b = arm, 0.5
    return np.array(
        [(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b), (-a, b), (-a, a), (-b, a), (-b, -a), (-a, -a)]
    )


def _heart(n: int = 64) -> np.ndarray:
    # the classic parametric heart (x = 16 sin^3 t, y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t), y flipped
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    p = np.stack([x, y], axis=1)
    lo, hi = p.min(axis=0), p.max(axis=0)
    return (p - (lo + hi) / 2) / (hi - lo)


# name -> (outer outline, hole outline or None, max rotation in degrees). Circles and rings are not turned: a
# turned ellipse of aspect ~1 looks the same, and their boxes stay exact.
SHAPES: dict[str, tuple[np.ndarray, np.ndarray | None, float]] = {
    "circle": (_ellipse(), None, 0.0),
    "square": (np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]), None, 25.0),
    "triangle": (np.array([(0.0, -0.5), (0.5, 0.5), (-0.5, 0.5)]), None, 25.0),
    "star": (_star(), None, 30.0),
    "cross": (_cross(), None, 25.0),
    "ring": (_ellipse(), _ellipse() * 0.56, 0.0),
    "heart": (_heart(), None, 15.0),
}


def _hexagon() -> np.ndarray:
    t = np.arange(6) * np.pi / 3
    return np.stack([0.5 * np.cos(t), 0.5 * np.sin(t)], axis=1)


def _half_disc(n: int = 32) -> np.ndarray:
    t = np.linspace(0, np.pi, n)
    return np.stack([0.5 * np.cos(t), 0.25 - 0.5 * np.sin(t)], axis=1)  # the upper half of a disc, centred


# Distractors: outlines that are no class's shape (a hexagon is the nearest to a circle: still different corners)
DISTRACTORS: dict[str, tuple[np.ndarray, np.ndarray | None, float]] = {
    "hexagon": (_hexagon(), None, 30.0),
    "diamond": (np.array([(0.0, -0.5), (0.3, 0.0), (0.0, 0.5), (-0.3, 0.0)]), None, 40.0),
    "half_disc": (_half_disc(), None, 180.0),
    "bar": (np.array([(-0.5, -0.09), (0.5, -0.09), (0.5, 0.09), (-0.5, 0.09)]), None, 90.0),
}


# --- backgrounds: muted, textured, never object-coloured ----------------------------------------------------------
@lru_cache(maxsize=4)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return yy, xx


def _muted(rng: np.random.Generator) -> np.ndarray:
    h, s, v = rng.random(), rng.uniform(0.03, 0.3), rng.uniform(0.3, 0.75)
    return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32) * 255


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    kind = rng.integers(4)
    base, other = _muted(rng), _muted(rng)
    if kind == 0:  # smooth noise: a coarse random grid, upsampled bicubically
        cells = int(rng.integers(3, 10))
        grid = rng.random((cells, cells)).astype(np.float32)
        t = np.asarray(Image.fromarray((grid * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)) / 255.0
        img = base + (other - base) * t[..., None].astype(np.float32)
    elif kind == 1:  # stripes at a random angle and period
        yy, xx = _grid(size)
        a, period = rng.uniform(0, np.pi), rng.uniform(5, 28) * size / 160
        t = 0.5 + 0.5 * np.sin((xx * np.cos(a) + yy * np.sin(a)) * 2 * np.pi / period)
        img = base + (other - base) * t[..., None]
    else:  # blobs (2) or clutter of lines and rectangles (3) in muted colours, slightly blurred
        im = Image.new("RGB", (size, size), tuple(int(c) for c in base))
        draw = ImageDraw.Draw(im)
        for _ in range(int(rng.integers(8, 25))):
            x, y = rng.uniform(-0.1, 1.1, 2) * size
            r = rng.uniform(0.03, 0.2, 2) * size
            fill = tuple(int(c) for c in _muted(rng))
            if kind == 2:
                draw.ellipse([x - r[0], y - r[1], x + r[0], y + r[1]], fill=fill)
            elif rng.random() < 0.5:
                draw.line([x, y, x + rng.normal() * r[0] * 3, y + rng.normal() * r[1] * 3], fill=fill, width=2)
            else:
                draw.rectangle([x, y, x + r[0] / 2, y + r[1] / 2], fill=fill)
        im = im.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.5, 2.0))))
        img = np.asarray(im, dtype=np.float32)
    return img


# --- objects ------------------------------------------------------------------------------------------------------
def _outline(
    shape: str, rng: np.random.Generator, size: int, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray | None]:
    """The shape stretched, turned, then scaled so the longer side of its box is 12-45% (x scale) of the image side."""
    outer, hole, max_deg = SHAPES[shape] if shape in SHAPES else DISTRACTORS[shape]
    side = rng.uniform(MIN_SIDE * scale, MAX_SIDE * scale) * size  # x 1.0 is exact: default draws are unchanged
    aspect = math.exp(rng.uniform(-0.15, 0.15))
    a = math.radians(rng.uniform(-max_deg, max_deg))
    m = np.diag([aspect, 1 / aspect]) @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    pts = outer @ m
    m = m * (side / (pts.max(axis=0) - pts.min(axis=0)).max())
    return outer @ m, None if hole is None else hole @ m


def _mask(outer: np.ndarray, hole: np.ndarray | None, size: int) -> np.ndarray:
    """Anti-aliased coverage in [0, 1], (size, size) float32. Pixel (i, j) covers [j, j+1) x [i, i+1)."""
    big = size * SUPERSAMPLE
    m = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(m)
    draw.polygon([tuple(p) for p in (outer * SUPERSAMPLE - 0.5)], fill=255)
    if hole is not None:
        draw.polygon([tuple(p) for p in (hole * SUPERSAMPLE - 0.5)], fill=0)
    return np.asarray(m.reduce(SUPERSAMPLE), dtype=np.float32) / 255.0


def _fill(rgb: tuple[int, int, int], rng: np.random.Generator, size: int, box: tuple) -> np.ndarray:
    """The object's colour, jittered, with a linear shading across it (lit from a random side)."""
    colour = np.clip(np.array(rgb) + rng.uniform(-18, 18, 3), 0, 255).astype(np.float32)
    x1, y1, x2, y2 = box
    a = rng.uniform(0, 2 * np.pi)
    yy, xx = _grid(size)
    d = ((xx - (x1 + x2) / 2) * math.cos(a) + (yy - (y1 + y2) / 2) * math.sin(a)) / max(x2 - x1, y2 - y1, 1.0)
    shade = np.clip(1.0 + 0.35 * d, 0.75, 1.15)
    return colour * shade[..., None]  # may pass 255 on the lit side: clipped once, at encoding


def _place(shape: str, rng: np.random.Generator, size: int, placed: list[dict], scale: float = 1.0) -> dict | None:
    """Random size, rotation and position such that every earlier object stays >= MIN_VISIBLE visible."""
    for _ in range(25):
        outer, hole = _outline(shape, rng, size, scale)
        lo, hi = outer.min(axis=0), outer.max(axis=0)
        if np.any(hi - lo > size - 2):
            continue
        offset = rng.uniform(1 - lo, size - 1 - hi)  # the whole object inside the frame
        outer = outer + offset
        hole = None if hole is None else hole + offset
        alpha = _mask(outer, hole, size)
        solid = alpha > 0.5
        if solid.sum() == 0:
            continue
        if all((o["visible"] & ~solid).sum() >= MIN_VISIBLE * o["area"] for o in placed):
            box = (*(lo + offset), *(hi + offset))
            return {"alpha": alpha, "solid": solid, "visible": solid.copy(), "area": int(solid.sum()), "box": box}
    return None


def sample_classes(rng: np.random.Generator) -> list[int]:
    """Class index per object to draw, in drawing order (later = on top); at most MAX_OBJECTS."""
    objects = []
    for j, c in enumerate(CLASSES):
        if rng.random() < c.presence:
            objects += [j] * (2 if rng.random() < 0.25 else 1)
    order = rng.permutation(len(objects))
    return [objects[i] for i in order][:MAX_OBJECTS]


def _distractors(img: np.ndarray, seed: int, index: int, size: int, opt: RenderOptions) -> np.ndarray:
    """Up to opt.distractors non-class shapes in class colours, from their own stream (the scene's is untouched)."""
    rng = np.random.default_rng([seed, index, size, 1])
    names = sorted(DISTRACTORS)
    for _ in range(int(rng.integers(0, opt.distractors + 1))):
        obj = _place(names[int(rng.integers(len(names)))], rng, size, [], opt.object_scale)
        if obj is None:
            continue
        a = obj["alpha"][..., None]
        img = img * (1 - a) + _fill(CLASSES[int(rng.integers(len(CLASSES)))].rgb, rng, size, obj["box"]) * a
    return img


def render(
    seed: int, index: int, size: int, options: RenderOptions = DEFAULT_OPTIONS
) -> tuple[bytes, list[DemoObject]]:
    """The JPEG bytes of image `index` of the dataset `seed`, and its objects (boxes = full extents)."""
    rng = np.random.default_rng([seed, index, size])
    img = _background(rng, size)
    if options.distractors:
        img = _distractors(img, seed, index, size, options)
    placed: list[dict] = []
    classes: list[int] = []
    for j in sample_classes(rng):
        obj = _place(CLASSES[j].name, rng, size, placed, options.object_scale)
        if obj is None:  # no room left that keeps the others visible enough: leave it out (rare)
            continue
        for o in placed:
            o["visible"] &= ~obj["solid"]
        a = obj["alpha"][..., None]
        img = img * (1 - a) + _fill(CLASSES[j].rgb, rng, size, obj["box"]) * a
        placed.append(obj)
        classes.append(j)
    # sensor-like grain, so flat fills do not compress into clean JPEG blocks
    img = img + 3.0 * rng.standard_normal(img.shape, dtype=np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=JPEG_QUALITY)
    objects = []
    for j, o in zip(classes, placed):
        vis = float(o["visible"].sum()) / o["area"]
        box = tuple(round(float(v), 2) for v in o["box"])
        objects.append(DemoObject(j, box, round(vis, 3), vis < 1 - OCCLUDED_IF_COVERED))
    return buf.getvalue(), objects
