"""CVAT "YOLO 1.1" exports (Darknet layout), as a zip or a folder.

Format: CVAT's YOLO 1.1 (https://docs.cvat.ai/docs/manual/advanced/formats/format-yolo/), written by Datumaro's
`yolo` exporter: `obj.names` (one class per line, line i = class id i), `obj.data` (`classes = N`,
`train = data/train.txt`, `names = data/obj.names`, optional `valid = data/valid.txt`), `train.txt` listing
`data/obj_train_data/NAME.jpg`, and one `obj_<subset>_data/NAME.txt` per image with lines `cls cx cy w h`
normalised to [0, 1] by the image's width and height (an empty file = no objects).

Image sizes come from the image files (PIL reads the header only, no decode), as displayed (EXIF orientation
applied, images.py): YOLO files carry none. A line that cannot be read (wrong field count, non-numeric, nan, inf)
is skipped and counted, and its image is marked box-incomplete (its class NA there; every class when the class id
itself is unreadable) so it neither trains the detector as background nor becomes a silent negative.
"""

from __future__ import annotations

import math
import re
from pathlib import Path, PurePosixPath

from benchmarks.data.archive import UNSAFE_FIX, Export, ImageFinder
from benchmarks.data.images import header_size
from benchmarks.data.problems import Problems
from benchmarks.data.sources import (
    IMAGE_SUFFIXES,
    SourceBox,
    SourceResult,
    SourceRow,
    SourceSpec,
    register_source,
    zip_names,
)
from benchmarks.data.sources.cvat_xml import LABEL_FIX, cvat_options
from benchmarks.data.text import decode


def _text(export: Export, member: str) -> list[str]:
    return decode(export.read_bytes(member), export.where(member)).splitlines()


def _lists(export: Export, base: str) -> list[str]:
    """Image-list members named in obj.data (train =, valid = ...), else every <subset>.txt beside obj.names."""
    pre = f"{base}/" if base else ""
    found = []
    data = f"{pre}obj.data"
    if export.exists(data):
        for line in _text(export, data):
            key, _, value = line.partition("=")
            if key.strip() in ("train", "valid", "test") and value.strip():
                name = PurePosixPath(value.strip()).name  # `data/train.txt`: data/ is Darknet's folder = the export
                if export.exists(pre + name):
                    found.append(pre + name)
    if not found:
        found = [n for n in export.names(f"{pre}*.txt") if n.count("/") == pre.count("/")]
    return list(dict.fromkeys(found))


def _image_names(export: Export, base: str, lists: list[str]) -> list[str]:
    """Image paths relative to the export's root folder, e.g. `obj_train_data/a.jpg`."""
    names = []
    for member in lists:
        for line in _text(export, member):
            line = line.strip()
            if line:
                # `data/obj_train_data/a.jpg`: strip Darknet's `data/` prefix
                names.append(re.sub(r"^(\./)?data/", "", line.replace("\\", "/")))
    if names:
        return list(dict.fromkeys(names))
    # no list file: one image per label file, suffix unknown, so list the label files with a placeholder suffix
    pre = f"{base}/" if base else ""
    return [n[len(pre) :] for n in export.names(f"{pre}obj_*_data/*.txt")]


def _image_size(path: Path | None) -> tuple[int, int] | None:
    """Displayed (width, height) from the header; None for a missing or corrupt file (the builder counts it)."""
    if path is None or not path.is_file():
        return None
    size = header_size(path)
    return size[:2] if size else None


def _class_id(text: str) -> int:
    """`1` or `1.0` (Ultralytics reads label files as floats, so tools that write `1.0` are read as class 1); a
    non-whole `1.5` is a ValueError naming it."""
    value = float(text)
    if not math.isfinite(value) or not value.is_integer():
        raise ValueError(f"class id {text!r} is not a whole number")
    return int(value)


def _read_labels(lines: list[str], file: str, row: SourceRow, names: list[str], size, problems: Problems) -> None:
    for i, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        cls = None
        try:
            if len(parts) != 5:
                raise ValueError(f"{len(parts)} fields, expected 5: cls cx cy w h")
            cls = _class_id(parts[0])
            cx, cy, w, h = (float(v) for v in parts[1:])
            if not all(math.isfinite(v) for v in (cx, cy, w, h)):
                raise ValueError("non-finite value")
        except ValueError as exc:
            problems.add(
                "skip",
                "bad_line",
                file,
                f"{line.strip()!r}: {exc}; skipped, the image is left out of detector training",
                i,
                fix="fix or delete the line",
            )
            known = cls is not None and 0 <= cls < len(names)
            row.incomplete |= {names[cls]} if known else set(names)
            continue
        if not 0 <= cls < len(names):
            problems.add(
                "fatal",
                "undeclared_label",
                file,
                f"class id {cls} but obj.names declares {len(names)} classes (0..{len(names) - 1})",
                i,
                fix=LABEL_FIX,
            )
            continue
        if size is None:
            continue  # the image is missing: the builder counts it, there is nothing to scale the box by
        iw, ih = size
        row.boxes.append(
            SourceBox(names[cls], (cx - w / 2) * iw, (cy - h / 2) * ih, (cx + w / 2) * iw, (cy + h / 2) * ih)
        )


def looks_like_cvat_yolo(path: Path) -> bool:
    """A zip or folder holding `obj.names` (Darknet's class list, which only this layout has)."""
    if path.suffix.lower() == ".zip" and path.is_file():
        return "obj.names" in zip_names(path)
    return path.is_dir() and (path / "obj.names").is_file()


@register_source("cvat_yolo", kind="boxes", sniff=looks_like_cvat_yolo, priority=20)
def read(spec: SourceSpec, problems: Problems) -> SourceResult:
    opts = cvat_options(spec, problems, allowed={"cache_dir": str})
    cache = Path(opts["cache_dir"]) if opts["cache_dir"] else None
    path = Path(spec.path)
    rows: list[SourceRow] = []
    with Export(path, problems) as export:
        names_member = export.find("obj.names")
        if names_member is None:
            problems.add(
                "fatal",
                "annotations_missing",
                path,
                "no obj.names in the export",
                fix="export as 'YOLO 1.1' (obj.names, obj.data, train.txt, obj_train_data/)",
            )
            return SourceResult([], [], kind="boxes", exhaustive=True, origin=str(path))
        base = names_member.rpartition("/")[0]
        pre = f"{base}/" if base else ""
        names = [n.strip() for n in _text(export, names_member) if n.strip()]
        image_names = _image_names(export, base, _lists(export, base))
        if not image_names:
            problems.add("fatal", "empty_export", export.where(names_member), "export has no images", fix="re-export")
        # images: the config's folder (Darknet keeps `obj_train_data/`; CVAT without images: the files by name)
        finder = ImageFinder(export, spec.images, base, cache, problems)
        for name in image_names:
            stem = PurePosixPath(name).with_suffix("")
            label_member = f"{pre}{stem}.txt"
            where = export.where(label_member)
            if name.endswith(".txt"):  # no list file: find the image by stem
                candidates = [f"{stem}{s}" for s in sorted(IMAGE_SUFFIXES)]
            else:
                candidates = [name]
            path_ = finder.path(candidates)  # with `images:`, a flat folder is found by file name
            if path_ is None:
                problems.add("fatal", "unsafe_path", where, f"image name {name!r} escapes the folder", fix=UNSAFE_FIX)
                continue
            size = _image_size(path_)
            row = SourceRow(path_, where=where, width=size[0] if size else None, height=size[1] if size else None)
            if export.exists(label_member):
                _read_labels(_text(export, label_member), where, row, names, size, problems)
            else:
                problems.add("warning", "labels_missing", where, "no label file for this image: taken as no objects")
            rows.append(row)
        rows = finder.drop_ambiguous(rows)
        if spec.images is None and rows and not any(Path(r.path).is_file() for r in rows):
            problems.add(
                "warning",
                "images_not_found",
                export.path,
                "no image of train.txt is in the export and no `images:` folder is given; every image is missing",
                fix="export with 'Save images' on, or set `images:` to the folder holding the image files",
            )
    return SourceResult(rows, names, kind="boxes", exhaustive=True, origin=str(path))
