"""CVAT "COCO 1.0" exports: `annotations/instances_<subset>.json` (+ optional `images/`), as a zip or a folder,
or one such json file given directly.

Format: the COCO detection format, https://cocodataset.org/#format-data (images, annotations with
`bbox: [x, y, w, h]` in pixels, categories), as CVAT writes it through Datumaro's `coco_instances` exporter
(cvat/apps/dataset_manager/formats/coco.py): empty `licenses`/`info`, `attributes: {occluded, rotation}` on each
annotation (rotation in degrees about the box centre, bbox unrotated), `segmentation: []` for rectangles, polygons
as point lists, masks as RLE with `iscrowd: 1`; an `iscrowd: 1` annotation without `attributes` (COCO's own crowd
region, from a file not written by CVAT) is no single object: skipped and counted. Images lie under `images/`
(Datumaro: `images/<subset>/`).

Categories are the vocabulary; images without annotations are negatives; polygons/masks become their enclosing
box or are skipped (`options.shapes`), counted either way (a skipped one keeps its class present and marks the
image box-incomplete, as in cvat_xml). Every `instances_<subset>.json` of a project export is read
(`instances_default.json` is just the subset named "default"). Unusable geometry (nan, inf, non-numeric) is
skipped and counted; its class is NA on that image unless another box says 1, and the image is box-incomplete.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from benchmarks.data.archive import UNSAFE_FIX, Export, ImageFinder
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceBox, SourceResult, SourceRow, SourceSpec, register_source, zip_names
from benchmarks.data.sources.cvat_xml import LABEL_FIX, cvat_options, finite, points_box, rotated_box


def _rle_counts(counts) -> list[int]:
    """COCO RLE run lengths; a string is the compressed form (pycocotools' rleFrString, maskApi.c)."""
    if isinstance(counts, list):
        return [int(c) for c in counts]
    out: list[int] = []
    p = 0
    while p < len(counts):
        x = k = 0
        more = True
        while more:
            c = ord(counts[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(out) > 2:
            x += out[-2]
        out.append(x)
    return out


def rle_box(rle: dict) -> tuple[float, float, float, float] | None:
    """Enclosing box of a COCO RLE mask (column-major runs, starting with background); None when empty."""
    h, _w = (int(v) for v in rle["size"])
    xs: list[int] = []
    ys: list[int] = []
    pos = 0
    for i, n in enumerate(_rle_counts(rle["counts"])):
        if i % 2 and n > 0:
            first, last = pos, pos + n - 1
            xs += [first // h, last // h]
            # a run that wraps into the next column covers the whole height between
            ys += [0, h - 1] if first // h != last // h else [first % h, last % h]
        pos += n
    return (min(xs), min(ys), max(xs) + 1.0, max(ys) + 1.0) if xs else None


def segmentation_box(seg) -> tuple[float, float, float, float] | None:
    if isinstance(seg, dict):
        return rle_box(seg)
    if any(len(poly) % 2 for poly in seg):
        raise ValueError("a polygon has an odd number of coordinates (x1, y1, x2, y2, ...)")
    xs = [float(v) for poly in seg for v in poly[0::2]]
    ys = [float(v) for poly in seg for v in poly[1::2]]
    return points_box(xs, ys) if xs else None


def _json_members(export: Export) -> list[str]:
    """Every instances_*.json: a project export holds one per subset (default, train, val...)."""
    found = dict.fromkeys(export.names("*.json") + export.names("**/*.json"))  # zips match `*` across `/`
    return sorted(n for n in found if PurePosixPath(n).name.startswith("instances_"))


def _ann_box(ann: dict, label: str, row: SourceRow, opts: dict, problems: Problems):
    where = row.where
    seg = ann.get("segmentation") or []
    if ann.get("iscrowd") and not isinstance(ann.get("attributes"), dict):
        # COCO's crowd region: many objects under one mask, no single object's box (COCO's own evaluation ignores
        # them). CVAT (Datumaro) also writes each mask with `iscrowd: 1`, but always with `attributes`, so only an
        # annotation without them (a COCO file from elsewhere) is taken as a crowd.
        problems.add(
            "skip",
            "crowd_region_skipped",
            where,
            f"annotation {ann.get('id')} ({label}) is a crowd region (iscrowd: 1): not one object, so no box to train "
            f"on; {label} stays present on the image, which is left out of detector training",
        )
        row.labels[label] = 1
        row.incomplete.add(label)
        return None
    is_shape = bool(seg) or bool(ann.get("iscrowd"))
    if is_shape and opts["shapes"] == "skip":
        problems.add(
            "skip",
            "shape_skipped",
            where,
            f"annotation {ann.get('id')} ({label}) is a polygon/mask: skipped (options.shapes: skip); {label} stays "
            "present on the image, which is left out of detector training",
        )
        row.labels[label] = 1
        row.incomplete.add(label)
        return None
    bbox = ann.get("bbox") or []
    if len(bbox) == 4 and (not is_shape or (bbox[2] > 0 and bbox[3] > 0)):
        x, y, w, h = (float(v) for v in bbox)
        box = (x, y, x + w, y + h)
    elif seg:
        box = segmentation_box(seg)
        if box is None:
            problems.add(
                "skip",
                "shape_skipped",
                where,
                f"annotation {ann.get('id')} ({label}) has an empty mask; {label} is NA on this image unless "
                "another box says it is there",
            )
            row.incomplete.add(label)  # a mask was drawn: neither a silent 0 nor detector background
            return None
    else:
        raise ValueError(f"bbox={bbox!r} and no segmentation")
    if is_shape:
        problems.add("fix", "shape_to_box", where, f"annotation {ann.get('id')} ({label}) polygon/mask -> its box")
    degrees = float((ann.get("attributes") or {}).get("rotation", 0) or 0)
    if degrees % 360:
        box = rotated_box(*box, degrees)
        problems.add("fix", "rotated_box_enclosed", where, f"box {label} rotated {degrees:g} deg -> enclosing box")
    return finite(box)


def _duplicate_id(problems: Problems, file: str, what: str, ident, names: str) -> None:
    # annotations point at images and categories by id: with two of one id, nothing says which one they mean
    problems.add(
        "fatal",
        "duplicate_id",
        file,
        f"{what} id {ident!r} is used twice ({names}); annotations cannot tell them apart",
        fix="re-export from CVAT; in a hand-made or merged file give each image and category its own id",
    )


def _read_json(data: dict, file: str, finder: ImageFinder, subset: str, opts: dict, problems: Problems):
    cats: dict = {}
    for c in data.get("categories", []):
        if c["id"] in cats:
            _duplicate_id(problems, file, "category", c["id"], f"{cats[c['id']]!r} and {c['name']!r}")
            continue
        cats[c["id"]] = c["name"]
    rows: dict = {}
    for im in data.get("images", []):
        name = str(im.get("file_name", ""))
        where = f'{file} <image id={im.get("id")} file_name="{name}">'
        if im.get("id") in rows:
            _duplicate_id(problems, file, "image", im.get("id"), f"{rows[im.get('id')].path.name!r} and {name!r}")
            continue
        path = finder.path([f"{subset}/{name}", name] if subset else [name])
        if path is None:
            problems.add("fatal", "unsafe_path", where, f"file_name {name!r} escapes the image folder", fix=UNSAFE_FIX)
            continue
        rows[im.get("id")] = SourceRow(path, where=where, width=im.get("width"), height=im.get("height"))
    for ann in data.get("annotations", []):
        row = rows.get(ann.get("image_id"))
        if row is None:
            problems.add(
                "skip",
                "annotation_without_image",
                file,
                f"annotation {ann.get('id')}: no image with id {ann.get('image_id')!r} in 'images'",
                fix="re-export from CVAT",
            )
            continue
        label = cats.get(ann.get("category_id"))
        if label is None:
            problems.add(
                "fatal",
                "undeclared_label",
                row.where,
                f"annotation {ann.get('id')} has category_id {ann.get('category_id')!r}, not in 'categories' "
                f"({', '.join(f'{k}={v}' for k, v in cats.items()) or 'none'})",
                fix=LABEL_FIX,
            )
            continue
        try:
            box = _ann_box(ann, label, row, opts, problems)
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
            problems.add(
                "skip",
                "bad_shape",
                row.where,
                f"annotation {ann.get('id')} ({label}): bad geometry: {exc}; skipped, {label} is NA on this image "
                "unless another box says it is there, and the image is left out of detector training",
                fix="fix or redraw the shape in CVAT and export again",
            )
            row.incomplete.add(label)
            continue
        if box is not None:
            row.boxes.append(SourceBox(label, *box))
    return list(cats.values()), list(rows.values())


def looks_like_cvat_coco(path: Path) -> bool:
    """A zip or folder holding `instances*.json` (at the top or in `annotations/`), or any .json file. Sniffed
    before class_lists, whose rule (an `annotations/` folder) a COCO export also fits."""
    if path.suffix.lower() == ".zip" and path.is_file():
        return any(n.startswith("instances") and n.endswith(".json") for n in zip_names(path))
    if path.suffix.lower() == ".json":
        return True
    return path.is_dir() and (any(path.glob("annotations/instances*.json")) or any(path.glob("instances*.json")))


@register_source("cvat_coco", kind="boxes", sniff=looks_like_cvat_coco, priority=30)
def read(spec: SourceSpec, problems: Problems) -> SourceResult:
    opts = cvat_options(spec, problems)
    path = Path(spec.path)
    json_given = path.is_file() and path.suffix.lower() == ".json"
    # a json given directly inside a CVAT layout (<root>/annotations/x.json) still finds <root>/images
    folder = path.parent.parent if json_given and path.parent.name == "annotations" else path.parent
    cache = Path(opts["cache_dir"]) if opts["cache_dir"] else None
    vocab: list[str] = []
    rows: list[SourceRow] = []
    with Export(folder if json_given else path, problems) as export:
        members = [path.relative_to(folder).as_posix()] if json_given else _json_members(export)
        if not members:
            problems.add(
                "fatal",
                "annotations_missing",
                path,
                "no annotations/instances_*.json in the export",
                fix="export as 'COCO 1.0', or point `path:` at the instances json file",
            )
            return SourceResult([], [], kind="boxes", exhaustive=True, origin=str(path))
        for member in members:
            file = export.where(member)
            try:
                data = json.loads(export.read_bytes(member))
            except ValueError as exc:
                line = getattr(exc, "lineno", None)
                problems.add("fatal", "malformed_json", file, f"not valid JSON: {exc}", line, fix="re-export")
                continue
            # CVAT layout: <root>/annotations/x.json and <root>/images; a json given directly: its own images/
            parent = PurePosixPath(member).parent
            root = parent.parent if parent.name == "annotations" else parent
            images_dir = (root / "images").as_posix()
            stem = PurePosixPath(member).stem
            subset = stem[len("instances_") :] if stem.startswith("instances_") else ""
            finder = ImageFinder(export, spec.images, images_dir, cache, problems)
            labels, got = _read_json(data, file, finder, subset, opts, problems)
            vocab += [c for c in labels if c not in vocab]
            rows += finder.drop_ambiguous(got)
    if not rows and not problems.fatal:
        problems.add("fatal", "empty_export", path, "export has no images", fix="check the task in CVAT and re-export")
    return SourceResult(rows, vocab, kind="boxes", exhaustive=True, origin=str(path))
