"""A source's boxes onto one image: checked, put in order, clipped to the image, and merged with a copy's boxes.

Every change is counted (build.py's rule: nothing silently dropped). Coordinates are pixels of the image as
displayed (EXIF orientation applied, see images.py), which is how CVAT, viewers and every decoder here show it.
"""

from __future__ import annotations

import math

from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceRow

# Overshoot up to half a pixel is rounding of normalised coordinates, not a labeling error: clipped silently.
# (coco128's YOLO labels keep 6 decimals: 42 of its 929 boxes overshoot the image, by at most 0.00032 px.)
CLIP_REPORT_PX = 0.5

# A coordinate this many image sizes away is no labeling error but a corrupt number (an export bug, 1e308): the box is
# dropped as corrupt like a non-finite one, not clipped to the edge as if it were a real object there.
CORRUPT_FACTOR = 100

# Two boxes of one class on copies of one image this close are one object annotated twice. 0.95 IoU is ~1 px on
# each side of a 40 px box: closer than two annotators agree (COCO's own duplicate check in its API uses exact
# matches), further than two real neighbouring objects overlap.
DUPLICATE_IOU = 0.95


def iou(a, b) -> float:
    """IoU of two (x1, y1, x2, y2) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def clip_boxes(row: SourceRow, w: int, h: int, problems: Problems, cmap, col) -> tuple[list[list[float]], set[str]]:
    """([[class_idx, x1, y1, x2, y2], ...] kept, benchmark classes whose boxes on this image are incomplete).

    A box that cannot be kept (a non-finite coordinate: the readers refuse those first, this is the guard for any
    reader; a coordinate more than CORRUPT_FACTOR image sizes away; zero area; nothing inside the image) is
    dropped, counted, and makes its class incomplete: the builder then keeps the class NA on the image unless
    another box says 1, and the detector leaves the image out.
    An inverted box (x1 > x2 or y1 > y2) is put in order, counted as a fix.
    """
    kept = []
    incomplete: set[str] = set()
    where = row.where or row.path
    for b in row.boxes:
        cls = cmap.get(b.label)
        if cls is None:
            continue  # ignored or unknown class: counted once per class in _class_map
        if not all(math.isfinite(v) for v in (b.x1, b.y1, b.x2, b.y2)):
            problems.add("skip", "bad_shape", where, f"box {b.label} ({b.x1},{b.y1},{b.x2},{b.y2}) is not finite")
            incomplete.add(cls)
            continue
        if max(abs(v) for v in (b.x1, b.y1, b.x2, b.y2)) > CORRUPT_FACTOR * max(w, h, 1):
            problems.add(
                "skip",
                "bad_shape",
                where,
                f"box {b.label} ({b.x1:g},{b.y1:g},{b.x2:g},{b.y2:g}) lies more than {CORRUPT_FACTOR}x the image "
                f"size ({w}x{h}) away: a corrupt coordinate, dropped; {b.label} is NA on this image unless another "
                "box says it is there",
                fix="fix or delete the box in the annotation tool, or export again",
            )
            incomplete.add(cls)
            continue
        x1, y1, x2, y2 = min(b.x1, b.x2), min(b.y1, b.y2), max(b.x1, b.x2), max(b.y1, b.y2)
        if (x1, y1) != (b.x1, b.y1):
            problems.add(
                "fix",
                "box_inverted",
                where,
                f"box {b.label} ({b.x1:g},{b.y1:g},{b.x2:g},{b.y2:g}) has its corners swapped; put in order",
            )
        cx1, cy1, cx2, cy2 = max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)
        if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
            kind = "box_zero_area" if (x2 - x1) * (y2 - y1) <= 0 else "box_outside_image"
            problems.add(
                "skip",
                kind,
                where,
                f"box {b.label} ({x1:g},{y1:g},{x2:g},{y2:g}) dropped (image is {w}x{h} as displayed); "
                f"{b.label} is NA on this image unless another box says it is there",
                fix="fix or delete the box in the annotation tool",
            )
            incomplete.add(cls)  # an object was marked here: neither a silent 0 nor detector background
            continue
        if max(cx1 - x1, cy1 - y1, x2 - cx2, y2 - cy2) > CLIP_REPORT_PX:
            problems.add(
                "fix",
                "box_clipped",
                where,
                f"box {b.label} ({x1:g},{y1:g},{x2:g},{y2:g}) clipped to the {w}x{h} image",
            )
        kept.append([col[cls], cx1, cy1, cx2, cy2])
    return kept, incomplete


def merge_copy_boxes(have: list[list[float]], new: list[list[float]], where: str, problems: Problems) -> list:
    """`have` + the boxes of `new` (a second copy of the same image) that are not already there: a box of the same
    class with IoU > DUPLICATE_IOU is the same object, counted once (`duplicate_box_merged`)."""
    out = list(have)
    for b in new:
        if any(int(a[0]) == int(b[0]) and iou(a[1:], b[1:]) > DUPLICATE_IOU for a in have):
            problems.add(
                "fix",
                "duplicate_box_merged",
                where,
                f"box {tuple(round(v, 1) for v in b[1:])} of class {int(b[0])} is on another copy of this image "
                "already; counted once",
            )
        else:
            out.append(b)
    return out
