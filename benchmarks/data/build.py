"""Config -> Manifest: run each source's reader, hash and check the images, map class names, merge by content.

Everything changed or left out is counted in `manifest.problems` (clipped boxes, zero-area boxes, corrupt or
missing images, labels that disagree between sources); a fatal problem (unknown class, unreadable export) stops
`clsdet bench` and makes `clsdet data inspect` exit 1.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.config import BenchConfig
from benchmarks.data.manifest import ImageRecord, Manifest, SourceInfo
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceResult, SourceRow, SourceSpec, read_source

# Overshoot up to half a pixel is rounding of normalised coordinates, not a labeling error: clipped silently.
# (coco128's YOLO labels keep 6 decimals: 42 of its 929 boxes overshoot the image, by at most 0.00032 px.)
CLIP_REPORT_PX = 0.5


def image_info(path: Path) -> tuple[str, int, int]:
    """(sha256, width, height); decodes the whole image so a truncated file fails here, not in training."""
    from PIL import Image

    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with Image.open(path) as im:
        im.load()
        w, h = im.size
    return sha, w, h


class _InfoCache:
    """sha256 and size per (path, size, mtime), kept in the cache folder so a re-run does not re-decode."""

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
        return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"

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

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        for p, k, info, exc in pool.map(work, todo):
            if info is None:
                problems.add(
                    "skip", "corrupt_image", p, f"cannot decode image: {exc}", fix="re-export or delete the file"
                )
            else:
                cache.data[k] = list(info)
                out[p] = info
    return out


def _clip_boxes(row: SourceRow, w: int, h: int, problems: Problems, cmap, col) -> list[list[float]]:
    kept = []
    for b in row.boxes:
        cls = cmap.get(b.label)
        if cls is None:
            continue  # ignored or unknown class: counted once per class in _class_map
        x1, y1, x2, y2 = min(b.x1, b.x2), min(b.y1, b.y2), max(b.x1, b.x2), max(b.y1, b.y2)
        cx1, cy1, cx2, cy2 = max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2)
        if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
            kind = "box_zero_area" if (x2 - x1) * (y2 - y1) <= 0 else "box_outside_image"
            problems.add(
                "skip",
                kind,
                row.where or row.path,
                f"box {b.label} ({x1:g},{y1:g},{x2:g},{y2:g}) dropped (image is {w}x{h})",
                fix="fix or delete the box in the annotation tool",
            )
            continue
        if max(cx1 - x1, cy1 - y1, x2 - cx2, y2 - cy2) > CLIP_REPORT_PX:
            problems.add(
                "fix",
                "box_clipped",
                row.where or row.path,
                f"box {b.label} ({x1:g},{y1:g},{x2:g},{y2:g}) clipped to the {w}x{h} image",
            )
        kept.append([col[cls], cx1, cy1, cx2, cy2])
    return kept


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
            sha, w, h = info
            if row.width and row.height and (row.width, row.height) != (w, h):
                problems.add(
                    "warning",
                    "size_mismatch",
                    row.where or row.path,
                    f"annotation says {row.width}x{row.height}, file is {w}x{h}; boxes kept as given",
                )
            rec = records.get(sha)
            if rec is None:
                rec = records[sha] = ImageRecord(sha[:16], sha, str(Path(row.path).resolve()), w, h)
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
            if result.kind == "boxes":
                boxes = _clip_boxes(row, w, h, problems, cmap, col)
                if name in rec.boxes and sha in touched:
                    problems.add(
                        "warning",
                        "duplicate_image",
                        row.where or row.path,
                        f"the same image is annotated twice in source '{name}' (also {rec.paths[name][0]}); "
                        "both sets of boxes kept",
                    )
                rec.boxes.setdefault(name, []).extend(boxes)
                for b in boxes:
                    new[cfg.classes[int(b[0])]] = 1
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
        if result.exhaustive:
            for sha in touched:
                labels = records[sha].labels[name]
                for cls in vocab:
                    labels.setdefault(cls, 0)
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
