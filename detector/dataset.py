"""A YOLO dataset view of the caller's images in a folder of our own.

Ultralytics reads `images/<split>/x.jpg` with labels at `labels/<split>/x.txt` and writes `labels/<split>.cache`
beside them, so the view holds links to the images (symlink; hardlink or copy where symlinks are refused), label
files written here and `data.yaml`. Nothing is written next to the source images. Link files are named by the
caller's unique image id, so `a/img.jpg` and `b/img.jpg` cannot collide.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SPLITS = ("train", "val", "test")


class DatasetViewError(ValueError):
    user_error = True


@dataclass
class ViewImage:
    id: str
    path: Path
    width: int
    height: int
    boxes: list[tuple[int, float, float, float, float]] = field(default_factory=list)  # (class, x1, y1, x2, y2) px


def _safe_name(image_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(image_id)).strip(".") or "_"


def yolo_lines(boxes, width: int, height: int, n_classes: int, where: str) -> tuple[list[str], int]:
    """Pixel corner boxes -> YOLO 'cls cx cy w h' lines (normalised, clipped to the image); also the number of
    boxes dropped because nothing of them is left inside the image."""
    if width <= 0 or height <= 0:
        raise DatasetViewError(f"{where}: image size {width}x{height} is not positive; the manifest must carry it")
    lines, dropped = [], 0
    for box in boxes:
        c, x1, y1, x2, y2 = box
        if not (isinstance(c, int) or float(c).is_integer()) or not 0 <= int(c) < n_classes:
            raise DatasetViewError(f"{where}: box {tuple(box)} has class index {c!r}; allowed: 0..{n_classes - 1}")
        x1, x2 = sorted((min(max(float(x1), 0.0), width), min(max(float(x2), 0.0), width)))
        y1, y2 = sorted((min(max(float(y1), 0.0), height), min(max(float(y2), 0.0), height)))
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            dropped += 1
            continue
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        lines.append(f"{int(c)} {cx:.6f} {cy:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}")
    return lines, dropped


def _link(src: Path, dst: Path) -> str:
    """Symlink, else hardlink, else copy; returns the method used."""
    try:
        dst.symlink_to(src)
        return "symlink"
    except (OSError, NotImplementedError):
        pass
    try:
        dst.hardlink_to(src)
        return "hardlink"
    except OSError:
        shutil.copy2(src, dst)
        return "copy"


def _check_inputs(out_dir: Path, classes, splits, need: tuple[str, ...] = ("train", "val")) -> None:
    if not classes or len(set(classes)) != len(classes):
        raise DatasetViewError(f"dataset view: classes {list(classes)!r} must be a non-empty list of unique names")
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise DatasetViewError(f"dataset view: unknown split(s) {unknown}; allowed: {', '.join(SPLITS)}")
    for s in need:
        if not splits.get(s):
            raise DatasetViewError(f"dataset view: split {s!r} is empty; Ultralytics needs train and val images")
    seen: dict[str, str] = {}
    for s, images in splits.items():
        for im in images:
            name = _safe_name(im.id)
            if name in seen:
                raise DatasetViewError(
                    f"dataset view: image id {im.id!r} ({s}) collides with {seen[name]!r} as file name {name!r}; "
                    "ids must be unique across splits"
                )
            seen[name] = f"{im.id} ({s})"
            src = Path(im.path).resolve()
            if not src.is_file():
                raise DatasetViewError(f"dataset view: image {im.id!r} ({s}): {src} is not a file")
            if src.is_relative_to(out_dir):
                raise DatasetViewError(
                    f"dataset view: out_dir {out_dir} contains the source image {src}; "
                    "choose a folder of its own (Ultralytics writes label caches into the view)"
                )


def build_dataset_view(
    out_dir: str | Path, classes: list[str], splits: dict[str, list[ViewImage]], eval_only: bool = False
) -> Path:
    """Write `out_dir/{images,labels}/<split>/`, `data.yaml` and `view.json`; returns out_dir. Rebuilds our own
    subfolders from scratch, so a second call with other images leaves no stale links. `eval_only`: a view of the
    test split alone (box metrics), whose data.yaml points train/val at it too (Ultralytics' loader wants both keys).
    """
    out_dir = Path(out_dir).expanduser().resolve()
    _check_inputs(out_dir, classes, splits, need=("test",) if eval_only else ("train", "val"))
    for sub in ("images", "labels"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)  # links only: removing them leaves the sources alone
    summary: dict = {"classes": list(classes), "splits": {}, "link_methods": {}}
    data = {"path": str(out_dir), "names": dict(enumerate(classes))}
    for s in SPLITS:
        images = splits.get(s) or []
        if not images:
            continue
        img_dir, lbl_dir = out_dir / "images" / s, out_dir / "labels" / s
        img_dir.mkdir(parents=True)
        lbl_dir.mkdir(parents=True)
        n_boxes = n_dropped = n_empty = 0
        for im in images:
            name = _safe_name(im.id)
            src = Path(im.path).resolve()
            method = _link(src, img_dir / f"{name}{src.suffix.lower()}")
            summary["link_methods"][method] = summary["link_methods"].get(method, 0) + 1
            lines, dropped = yolo_lines(im.boxes, im.width, im.height, len(classes), f"image {im.id!r} ({src})")
            (lbl_dir / f"{name}.txt").write_text("".join(line + "\n" for line in lines))
            n_boxes += len(lines)
            n_dropped += dropped
            n_empty += not lines
        data[s] = f"images/{s}"
        summary["splits"][s] = {"images": len(images), "boxes": n_boxes, "empty_images": n_empty, "dropped": n_dropped}
    if eval_only:
        data["train"] = data["val"] = data["test"]
    (out_dir / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (out_dir / "view.json").write_text(json.dumps(summary, indent=2) + "\n")
    return out_dir
