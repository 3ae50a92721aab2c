"""An Ultralytics YOLO dataset: a data.yaml plus `images/...` and `labels/...` with `cls cx cy w h` (normalised).

    sources:
      yolo: {reader: yolo_dataset, path: coco128/coco128.yaml}     # or the folder holding one *.yaml

How the yaml is read (as Ultralytics' `check_det_dataset` does, except where noted):
- `path`: the dataset root. Relative to the yaml's folder (Ultralytics tries the working directory and its global
  datasets dir, which would make the benchmark depend on where it runs); absent = the yaml's folder.
- `train`, `val`, `test`: a folder (searched recursively), a .txt listing images (`./x` relative to the txt, other
  relative paths to the txt's folder, else to the root), or a list of those. `row.split` is the split named here;
  an image listed under two splits (coco128 uses the same folder for train and val) is kept once, in the first of
  train/val/test, and the overlap is one warning per pair of splits.
- `names`: a list or an {id: name} mapping (or just `nc`: names class_0...). The vocabulary is all names, so a class
  with no boxes in an image is a 0 there, not NA.
- Label file of `a/images/b/x.jpg` = `a/labels/b/x.txt` (the last `/images/` replaced, as Ultralytics'
  `img2label_paths`). No label file or an empty one = a negative image. Rows of more than 6 fields are polygons
  (segmentation labels) and become their bounding box, as Ultralytics does.
- A bad label line (wrong field count, non-numeric, class id out of range, negative size) is fatal, with the file
  and line: training on the rest would make that image a silent partial negative.
- Boxes become pixels with the size PIL reads from the header (no decode), as displayed: Ultralytics decodes with
  OpenCV, which applies the EXIF orientation, and normalises labels by that size (`exif_size`), so an EXIF-rotated
  photo's labels are in displayed coordinates (images.py; build.py warns `exif_rotated` once per image). Boxes
  outside the image are clipped or dropped by build.py, which counts them.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from benchmarks.config import load_yaml
from benchmarks.data.images import check_options, header_size, list_images
from benchmarks.data.problems import Problems
from benchmarks.data.sources import IMAGE_SUFFIXES, SourceBox, SourceResult, SourceRow, SourceSpec, register_source
from benchmarks.data.text import read_text

SPLITS = ("train", "val", "test")


def _find_yaml(path: Path, problems: Problems) -> Path | None:
    if path.is_file():
        return path
    found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    if len(found) == 1:
        return found[0]
    named = [p for p in found if p.stem == "data"]
    if named:
        return named[0]
    problems.add(
        "fatal",
        "no_data_yaml",
        path,
        f"{'no' if not found else len(found)} dataset yaml file(s) here ({', '.join(p.name for p in found)})",
        fix="point `path:` at the dataset's yaml file",
    )
    return None


def _names(data: dict, file: Path, problems: Problems) -> dict[int, str] | None:
    names, nc = data.get("names"), data.get("nc")
    if names is not None and isinstance(nc, int) and len(names) != nc:
        problems.add(
            "fatal", "bad_names", file, f"`nc: {nc}` but {len(names)} names", fix="make `nc` match `names` or drop it"
        )
        return None
    if names is None and isinstance(nc, int):
        return {i: f"class_{i}" for i in range(nc)}
    if isinstance(names, list):
        return {i: str(n) for i, n in enumerate(names)}
    if isinstance(names, dict):
        try:
            return {int(k): str(v) for k, v in sorted(names.items(), key=lambda kv: int(kv[0]))}
        except (TypeError, ValueError):
            pass
    problems.add(
        "fatal",
        "bad_names",
        file,
        f"`names` must be a list or an {{id: name}} mapping with integer ids, got {names!r}",
        fix="write `names: [cat, dog]` or `names: {0: cat, 1: dog}`",
    )
    return None


def _split_images(root: Path, entry: str, file: Path, split: str, problems: Problems, name: str) -> list[Path]:
    p = Path(entry) if Path(entry).is_absolute() else (root / entry).resolve()
    if not p.exists() and entry.startswith("../"):  # Ultralytics' fallback for yamls written one level up
        p = (root / entry[3:]).resolve()
    if p.is_dir():
        return list_images(p, problems, name)
    if p.is_file():
        out = []
        for no, raw in enumerate(read_text(p).splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            q = Path(line)
            if not q.is_absolute():
                q = p.parent / line if line.startswith("./") or (p.parent / line).exists() else root / line
            if q.suffix.lower() in IMAGE_SUFFIXES:
                out.append(q.resolve())
            else:  # not silently: its boxes would vanish and the image with them
                problems.add(
                    "skip",
                    "not_an_image",
                    p,
                    f"source '{name}': {line!r} is not an image file this benchmark reads; skipped",
                    line=no,
                    fix=f"image suffixes are {', '.join(sorted(IMAGE_SUFFIXES))}; convert the file or drop the line",
                )
        return out
    problems.add(
        "fatal",
        "split_missing",
        file,
        f"`{split}: {entry}` -> {p} does not exist",
        fix=f"fix `{split}:` (relative to the dataset root {root})",
    )
    return []


def label_path(image: Path) -> Path:
    """Ultralytics' img2label_paths: the last `/images/` becomes `/labels/`, the suffix `.txt`."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def parse_label_file(file: Path, size: tuple[int, int], names: dict[int, str], problems: Problems) -> list[SourceBox]:
    w_img, h_img = size
    boxes = []
    for no, raw in enumerate(read_text(file).splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        bad = ""
        values: list[float] = []
        if len(fields) != 5 and (len(fields) < 7 or len(fields) % 2 == 0):
            bad = f"{len(fields)} fields; a box is `cls cx cy w h` (5), a polygon `cls x1 y1 x2 y2 x3 y3 ...`"
        else:
            try:
                values = [float(f) for f in fields]
            except ValueError:
                bad = "non-numeric field"
        if not bad:
            cls = values[0]
            if not all(math.isfinite(v) for v in values):
                bad = "non-finite value"
            elif cls != int(cls):  # `1.0` is class 1, as Ultralytics reads it; `1.5` is no class
                bad = f"class id {fields[0]} is not a whole number"
            elif int(cls) not in names:
                bad = f"class id {fields[0]} not in names (ids {min(names)}..{max(names)})"
            elif len(values) == 5 and (values[3] < 0 or values[4] < 0):
                bad = "negative width or height"
        if bad:
            problems.add(
                "fatal",
                "bad_label_line",
                file,
                f"{bad}: {raw.strip()!r}",
                line=no,
                fix="fix or delete the line; coordinates are normalised to 0..1 by the image width and height",
            )
            continue
        label = names[int(values[0])]
        if len(values) == 5:
            cx, cy, w, h = values[1:]
            x1, x2, y1, y2 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
        else:
            xs, ys = values[1::2], values[2::2]
            x1, x2, y1, y2 = min(xs), max(xs), min(ys), max(ys)
        boxes.append(SourceBox(label, x1 * w_img, y1 * h_img, x2 * w_img, y2 * h_img))
    return boxes


def looks_like_yolo_dataset(path: Path) -> bool:
    """A .yaml/.yml file, or a folder with one at its top (`data.yaml` by habit). Sniffed after the CVAT formats,
    whose exports may carry a YAML beside their own annotation file."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return True
    return path.is_dir() and ((path / "data.yaml").is_file() or any(path.glob("*.yaml")))


@register_source("yolo_dataset", kind="boxes", sniff=looks_like_yolo_dataset, priority=40)
def read(spec: SourceSpec, problems: Problems) -> SourceResult:
    check_options(spec, {}, problems)
    file = _find_yaml(Path(spec.path), problems)
    if file is None:
        return SourceResult([], [], kind="boxes", origin=str(spec.path))
    try:
        data = load_yaml(file.read_text()) or {}
    except yaml.YAMLError as exc:
        problems.add("fatal", "bad_yaml", file, f"not valid YAML: {exc}", fix="fix the file's syntax")
        return SourceResult([], [], kind="boxes", origin=str(file))
    names = _names(data if isinstance(data, dict) else {}, file, problems)
    if names is None:
        return SourceResult([], [], kind="boxes", origin=str(file))
    root = Path(str(data.get("path") or "."))
    root = root if root.is_absolute() else (file.parent / root).resolve()
    if not root.is_dir():  # e.g. an absolute path from the machine that made the dataset
        problems.add(
            "warning",
            "dataset_root_moved",
            file,
            f"`path: {data.get('path')}` does not exist here; using the yaml's folder {file.parent}",
            fix="set `path: .` in the yaml",
        )
        root = file.parent

    split_of: dict[Path, str] = {}
    overlap: dict[tuple[str, str], int] = {}
    for split in SPLITS:
        entries = data.get(split)
        for entry in [entries] if isinstance(entries, str) else entries or []:
            for p in _split_images(root, str(entry), file, split, problems, spec.name):
                first = split_of.setdefault(p, split)
                if first != split:
                    overlap[(first, split)] = overlap.get((first, split), 0) + 1
    for (a, b), n in overlap.items():
        problems.add(
            "warning",
            "split_overlap",
            file,
            f"{n} image(s) are listed under both `{a}` and `{b}`; each is kept once, in `{a}`",
            fix="give each split its own images, or use `split.mode: stratified` to split them anew",
        )
    if not split_of:
        problems.add("fatal", "source_empty", file, "no images under train/val/test", fix="check `path:` and splits")

    rows = []
    for image, split in split_of.items():
        lf = label_path(image)
        boxes: list[SourceBox] = []
        if lf.is_file():
            size = header_size(image)  # None: missing or unreadable, counted by build.py
            if size is not None:
                boxes = parse_label_file(lf, size[:2], names, problems)
        rows.append(SourceRow(image, {}, boxes, where=str(lf if lf.is_file() else image), split=split))
    vocabulary = list(dict.fromkeys(names.values()))
    return SourceResult(rows, vocabulary, kind="boxes", exhaustive=True, origin=str(file))
