"""Config -> Manifest: run each source's reader, hash and check the images, map class names, merge by content.

Everything changed or left out is counted in `manifest.problems` (clipped boxes, zero-area boxes, corrupt or
missing images, labels that disagree between sources); a fatal problem (unknown class, unreadable export) stops
`clsdet bench` and makes `clsdet data inspect` exit 1.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.config import BenchConfig
from benchmarks.data.boxes import clip_boxes, merge_copy_boxes
from benchmarks.data.images import EXIF_ROTATED, displayed_size
from benchmarks.data.manifest import ImageRecord, Manifest, SourceInfo
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceResult, SourceSpec, read_source
from benchmarks.runtime import available_cpus


def _size_value(v) -> bool:
    """A declared width or height that is an image size: a positive whole number (COCO's JSON may write 640.0)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and v > 0 and float(v).is_integer()


def image_info(path: Path) -> tuple[str, int, int, int]:
    """(sha256, width, height, EXIF orientation), the size as displayed (images.py: every decoder applies the
    orientation); decodes the whole image with PIL, the classifier's fallback decoder, so a truncated or
    undecodable file fails here, not in training."""
    # deferred: PIL is heavy
    from PIL import Image

    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with Image.open(path) as im:
        im.load()
        w, h, orientation = displayed_size(im)
    return sha, w, h, orientation


class _InfoCache:
    """sha256, size and orientation per (path, size, mtime), kept in the cache folder so a re-run does not
    re-decode. Keys carry a version: entries without the orientation (v1) are not reused."""

    def __init__(self, file: Path | None):
        self.file = file
        self.data: dict = {}
        if file and file.exists():
            try:
                self.data = json.loads(file.read_text())
            except (OSError, ValueError):
                self.data = {}

    def key(self, path: Path) -> str:
        st = path.stat()
        return f"v2|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"

    def save(self) -> None:
        if self.file:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self.file.write_text(json.dumps(self.data))


def _class_map(cfg: BenchConfig, name: str, result: SourceResult, problems: Problems) -> dict[str, str | None]:
    """source class name -> benchmark class (None = ignored on purpose). Unknown names are fatal problems."""
    mapping: dict[str, str | None] = {}
    known = set(cfg.classes)
    for cls in result.vocabulary:
        if cls in known:
            mapping[cls] = cls
        elif cls in cfg.aliases:
            mapping[cls] = cfg.aliases[cls]
        elif cls in cfg.ignore:
            mapping[cls] = None
            problems.add("warning", "class_ignored", result.origin, f"source '{name}': class {cls!r} ignored (config)")
        else:
            problems.add(
                "fatal",
                "unknown_class",
                result.origin,
                f"source '{name}' uses class {cls!r}, which is not in the class list ({', '.join(cfg.classes)})",
                fix=f"add it to `classes`, map it with `aliases: {{{cls}: <class>}}`, or list it under `ignore:`",
            )
            mapping[cls] = None
    return mapping


def _infos(paths: list[Path], cache: _InfoCache, problems: Problems, where: dict[Path, str]) -> dict:
    todo = []
    out = {}
    for p in paths:
        if not p.is_file():
            problems.add(
                "skip",
                "missing_image",
                where.get(p, p),
                f"image file {p} does not exist",
                fix="check the source's `images:` folder in the config",
            )
            continue
        k = cache.key(p)
        if k in cache.data:
            out[p] = tuple(cache.data[k])
        else:
            todo.append((p, k))

    def work(item):
        p, k = item
        try:
            return p, k, image_info(p), None
        except Exception as exc:  # any decode error is a corrupt image, counted below
            return p, k, None, exc

    with ThreadPoolExecutor(max_workers=min(8, available_cpus() * 2)) as pool:
        for p, k, info, exc in pool.map(work, todo):
            if info is None:
                problems.add(
                    "skip", "corrupt_image", p, f"cannot decode image: {exc}", fix="re-export or delete the file"
                )
            else:
                cache.data[k] = list(info)
                out[p] = info
    return out


def build_manifest(cfg: BenchConfig, cache_dir: Path | None = None) -> Manifest:
    problems = Problems()
    col = {c: j for j, c in enumerate(cfg.classes)}
    cache = _InfoCache(Path(cache_dir) / "image_info.json" if cache_dir else None)
    records: dict[str, ImageRecord] = {}
    sources: dict[str, SourceInfo] = {}
    for name, sc in cfg.sources.items():
        spec = SourceSpec(name, sc.reader, cfg.resolve(sc.path), cfg.resolve(sc.images), dict(sc.options))
        if not spec.path.exists():
            problems.add(
                "fatal",
                "source_missing",
                spec.path,
                f"source '{name}': {spec.path} does not exist",
                fix=f"fix `sources.{name}.path` in the config",
            )
            continue
        result = read_source(spec, problems)
        cmap = _class_map(cfg, name, result, problems)
        vocab = [c for c in dict.fromkeys(cmap.values()) if c is not None]
        sources[name] = SourceInfo(sc.reader, result.kind, result.origin or str(spec.path), vocab, len(result.rows))
        where = {Path(r.path): r.where for r in result.rows}
        infos = _infos(list(dict.fromkeys(Path(r.path) for r in result.rows)), cache, problems, where)
        touched: set[str] = set()
        for row in result.rows:
            info = infos.get(Path(row.path))
            if info is None:
                continue
            sha, w, h, orientation = info
            declared = (row.width, row.height)
            if declared != (None, None) and not all(_size_value(v) for v in declared):
                problems.add(
                    "warning",
                    "bad_declared_size",
                    row.where or row.path,
                    f"annotation says width={row.width!r} height={row.height!r}, which is not an image size; the "
                    f"file as displayed is {w}x{h} and boxes are read against it",
                    fix="export the annotations again from CVAT (it writes each image's real size)",
                )
            elif row.width and row.height and declared != (w, h):
                problems.add(
                    "warning",
                    "size_mismatch",
                    row.where or row.path,
                    f"annotation says {row.width}x{row.height}, the file as displayed is {w}x{h}; boxes are "
                    "read against the file (clipped or dropped where they do not fit, counted)",
                )
            rec = records.get(sha)
            if rec is None:
                rec = records[sha] = ImageRecord(sha[:16], sha, str(Path(row.path).resolve()), w, h)
                if orientation in EXIF_ROTATED:
                    problems.add(
                        "warning",
                        "exif_rotated",
                        row.path,
                        f"EXIF orientation {orientation}: the image is used as displayed ({w}x{h}), as CVAT, "
                        "viewers and every decoder here show it; boxes are read in those coordinates",
                        fix="if the boxes were drawn on the stored pixels, save the image with the rotation "
                        "applied (e.g. `exiftran -ai`) and label it again",
                    )
            rec.paths.setdefault(name, []).append(str(row.path))
            if row.split and row.split not in (rec.split_hint or "").split(","):
                if rec.split_hint:  # the same bytes in two splits of a source: a leak if that split is used
                    problems.add(
                        "warning",
                        "split_conflict",
                        row.where or row.path,
                        f"the same image is in split {rec.split_hint} as {rec.paths[name][0]} and in {row.split}",
                    )
                rec.split_hint = ",".join(sorted(filter(None, [*(rec.split_hint or "").split(","), row.split])))
            labels = rec.labels.setdefault(name, {})
            new: dict[str, int] = {}
            for cls, v in row.labels.items():
                if cmap.get(cls) is not None:
                    new[cmap[cls]] = max(new.get(cmap[cls], 0), int(v))
            incomplete = {cmap[c] for c in row.incomplete if cmap.get(c) is not None}
            if result.kind == "boxes":
                boxes, bad = clip_boxes(row, w, h, problems, cmap, col)
                incomplete |= bad
                if name in rec.boxes and sha in touched:
                    problems.add(
                        "warning",
                        "duplicate_image",
                        row.where or row.path,
                        f"the same image is annotated twice in source '{name}' (also {rec.paths[name][0]}); "
                        "boxes of both copies kept, a box on both counted once",
                    )
                    boxes = merge_copy_boxes(rec.boxes[name], boxes, row.where or str(row.path), problems)
                    rec.boxes[name] = []
                rec.boxes.setdefault(name, []).extend(boxes)
                for b in boxes:
                    new[cfg.classes[int(b[0])]] = 1
            if incomplete:
                have = rec.box_incomplete.setdefault(name, [])
                have += sorted(c for c in incomplete if c not in have)
            for cls, v in new.items():
                if cls in labels and labels[cls] != v and not result.exhaustive:
                    problems.add(
                        "warning",
                        "conflicting_labels",
                        row.where or row.path,
                        f"source '{name}' gives {cls}={labels[cls]} and {cls}={v} for the same image; kept 1",
                    )
                labels[cls] = max(labels.get(cls, 0), v)
            touched.add(sha)
        for sha in touched:
            labels = records[sha].labels[name]
            unsure = set(records[sha].box_incomplete.get(name, []))
            for cls in vocab if result.exhaustive else []:
                if cls not in unsure:
                    labels.setdefault(cls, 0)
            for cls in unsure:  # an object we could not place and no other box says 1: the source cannot tell
                if labels.get(cls) != 1:
                    labels.pop(cls, None)
    cache.save()
    images = sorted(records.values(), key=lambda r: r.path)
    _check_id_collisions(images, problems)
    _report_disagreements(images, sources, problems)
    return Manifest(list(cfg.classes), sources, images, problems)


def _check_id_collisions(images: list[ImageRecord], problems: Problems) -> None:
    seen: dict[str, str] = {}
    for r in images:
        if r.id in seen and seen[r.id] != r.sha256:  # 64-bit prefix: astronomically unlikely, but checked
            problems.add("fatal", "id_collision", r.path, f"sha256 prefix {r.id} shared with another image")
        seen[r.id] = r.sha256


def _report_disagreements(images: list[ImageRecord], sources: dict[str, SourceInfo], problems: Problems) -> None:
    names = list(sources)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for r in images:
                la, lb = r.labels.get(a), r.labels.get(b)
                if la is None or lb is None:
                    continue
                diff = sorted(c for c in set(la) & set(lb) if la[c] != lb[c])
                if diff:
                    detail = ", ".join(f"{c}: {a}={la[c]} {b}={lb[c]}" for c in diff)
                    problems.add("warning", "sources_disagree", r.path, f"{detail}")


def disagreements(manifest: Manifest, a: str, b: str) -> dict:
    """How often sources a and b disagree on the classes both speak about: per class and per image."""
    ta, tb = manifest.targets(a), manifest.targets(b)
    both = ~(np.isnan(ta) | np.isnan(tb))
    differ = both & (ta != tb)
    per_class = {
        c: {"compared": int(both[:, j].sum()), "differ": int(differ[:, j].sum())}
        for j, c in enumerate(manifest.classes)
    }
    images_compared = int(both.any(axis=1).sum())
    images_differ = int(differ.any(axis=1).sum())
    return {
        "sources": [a, b],
        "images_compared": images_compared,
        "images_differ": images_differ,
        "per_class": per_class,
    }
