"""`clsdet data inspect`: what the benchmark will read, per class and source, and every problem found with its file.

Accepts a benchmark config, or a bare dataset (a CVAT export, a YOLO dataset, a folder tree...) whose reader is
detected from its files and whose class list is its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.config import BenchConfig, LabelsConfig, SourceConfig, load_config
from benchmarks.data.build import build_manifest, disagreements
from benchmarks.data.manifest import Manifest
from benchmarks.data.problems import DataError, Problems
from benchmarks.data.sizes import object_sizes, sizes_text
from benchmarks.data.sources import SourceSpec, list_readers, read_source, sniff
from benchmarks.registry.pipelines import PIPELINES


def detect_reader(path: Path) -> str:
    """Guess the reader of a bare dataset from its files (each reader's own sniffing rule, in their priority
    order); an error lists the readers when nothing fits."""
    found = sniff(path)
    if found is None:
        raise DataError(
            f"cannot tell what kind of dataset {path} is; pass --reader (one of: {', '.join(list_readers())}) "
            "or a benchmark config (clsdet.yaml)"
        )
    return found


def adhoc_config(path: Path, reader: str | None = None, images: Path | None = None) -> BenchConfig:
    """A one-source config for a bare dataset: its own class names, in the order it declares them."""
    path = Path(path).resolve()
    reader = reader or detect_reader(path)
    if images is None and reader == "cvat_xml":
        folder = path if path.is_dir() else path.parent
        images = folder / "images" if (folder / "images").is_dir() else None
    spec = SourceSpec("data", reader, path, Path(images).resolve() if images else None, {})
    result = read_source(spec, Problems())
    classes = list(dict.fromkeys(result.vocabulary)) or ["object"]
    src = SourceConfig(reader=reader, path=str(path), images=str(spec.images) if spec.images else None)
    # every pipeline trains on the one source, a box pipeline only when it has boxes
    roles = {p.name: "data" if result.kind == "boxes" or not p.uses_boxes else "" for p in PIPELINES.values()}
    labels = LabelsConfig(roles=roles, truth="data")
    return BenchConfig(name=path.stem, classes=classes, sources={"data": src}, labels=labels, base_dir=str(path.parent))


def load_any(target: str | Path, reader: str | None = None, images: str | None = None) -> BenchConfig:
    p = Path(target)
    if p.is_file() and p.suffix.lower() in (".yaml", ".yml") and reader is None:
        text = p.read_text(errors="replace")
        if "sources:" in text or p.name == "clsdet.yaml":  # a benchmark config, not a YOLO data.yaml
            return load_config(p)
    return adhoc_config(p, reader, Path(images) if images else None)


def flag_unlabeled_classes(manifest: Manifest) -> list[str]:
    """Add a `class_unlabeled` warning for each class no source gives a single positive, and return them. Such a
    class trains nothing and has no AP: the classifier's validation and the evaluation leave it out of macro AP
    (evaluation lists it in `excluded_classes`); inspect says so before a bench does."""
    found = []
    for cls in manifest.classes:
        if any(r.labels.get(s, {}).get(cls) == 1 for r in manifest.images for s in manifest.sources):
            continue
        found.append(cls)
        speak = [s for s, info in manifest.sources.items() if cls in info.vocabulary]
        manifest.problems.add(
            "warning",
            "class_unlabeled",
            "config: classes",
            f"class {cls!r} has no positive image in any source"
            + (f" (sources that speak about it: {', '.join(speak)})" if speak else " (no source speaks about it)"),
            fix="label some images with it, or remove it from `classes`; until then it is left out of macro metrics",
        )
    return found


def _fmt_table(df) -> str:
    return df.to_markdown(index=False) if len(df) else "(none)"


def model_imgsz(cfg: BenchConfig) -> dict[str, int]:
    """Each pipeline's input size from the config: the smallest over its candidates (the worst case for object size)."""
    out: dict[str, int] = {}
    for c in cfg.candidates:
        out[c.pipeline] = min(out.get(c.pipeline, 10**6), int(c.config.imgsz))
    if not out:  # a bare dataset (no config): each pipeline's default input size
        out = {name: int(p.config_class()().imgsz) for name, p in PIPELINES.items()}
    return out


def inspect_report(manifest: Manifest, cfg: BenchConfig, show_all: bool = False) -> str:
    # deferred: pandas is heavy
    import pandas as pd

    lines = [f"# data inspect: {cfg.name}", ""]
    n = len(manifest)
    n_boxes = sum(len(b) for r in manifest.images for b in r.boxes.values())
    lines.append(f"images: {n}   boxes: {n_boxes}   classes: {len(manifest.classes)}")
    lines.append("")
    src_rows = [
        {
            "source": k,
            "reader": v.reader,
            "kind": v.kind,
            "rows": v.n_rows,
            "images": len(manifest.covered_by(k)),
            "classes": len(v.vocabulary),
            "origin": v.origin,
        }
        for k, v in manifest.sources.items()
    ]
    lines += ["## sources", _fmt_table(pd.DataFrame(src_rows)), ""]
    table = manifest.class_table()
    if len(table):
        wide = table.pivot_table(
            index="class",
            columns="source",
            values=["positives", "negatives", "na", "boxes"],
            aggfunc="first",
            sort=False,
        )
        wide.columns = [f"{src}:{what}" for what, src in wide.columns]
        order = [
            f"{s}:{w}"
            for s in manifest.sources
            for w in ("positives", "negatives", "na", "boxes")
            if f"{s}:{w}" in wide.columns
        ]
        wide = wide[order].reindex(manifest.classes).reset_index()
        lines += ["## per class", _fmt_table(wide), ""]
    if any(v.kind == "boxes" for v in manifest.sources.values()):
        lines += [*sizes_text(object_sizes(manifest, model_imgsz(cfg))), ""]
    truth = cfg.labels.truth or next(iter(manifest.sources), "")
    if truth in manifest.sources:
        t = manifest.targets(truth)
        covered = ~np.isnan(t).all(axis=1)
        no_label = int(((np.nan_to_num(t, nan=0) == 0).all(axis=1) & covered).sum())
        lines.append(
            f"images with no positive label in `{truth}`: {no_label}; not covered by `{truth}`: {int((~covered).sum())}"
        )
        lines.append("")
    for src, info in manifest.sources.items():
        incomplete = [r for r in manifest.images if r.box_incomplete.get(src)]
        if info.kind == "boxes" and incomplete:
            lines.append(
                f"boxes incomplete in `{src}`: {len(incomplete)} image(s) hold an object without a box (skipped "
                "shape, unusable coordinates); left out of detector training and box metrics"
            )
            lines.append("")
    names = list(manifest.sources)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            d = disagreements(manifest, a, b)
            lines.append(f"## {a} vs {b}: {d['images_differ']} of {d['images_compared']} images disagree")
            rows = [{"class": c, "compared": v["compared"], "differ": v["differ"]} for c, v in d["per_class"].items()]
            lines += [_fmt_table(pd.DataFrame(rows)), ""]
    probs = manifest.problems
    lines.append(
        f"## problems: {len(probs)} ({', '.join(f'{k}: {v}' for k, v in probs.by_severity().items()) or 'none'})"
    )
    for kind, count in sorted(probs.counts().items()):
        lines.append(f"- {kind}: {count}")
    limit = None if show_all else 30
    shown = probs.items[:limit]
    if shown:
        lines.append("")
        lines += [
            p.format() for p in sorted(shown, key=lambda p: ("fatal", "skip", "fix", "warning").index(p.severity))
        ]
        if limit and len(probs) > limit:
            lines.append(f"... {len(probs) - limit} more (use --all)")
    if probs.fatal:
        lines += ["", f"FATAL: {len(probs.fatal)} problem(s) stop a benchmark run; fix them first."]
    return "\n".join(lines)


def run_inspect(target, reader=None, images=None, show_all=False, cache_dir=None) -> tuple[str, Manifest]:
    cfg = load_any(target, reader, images)
    manifest = build_manifest(cfg, cache_dir=cache_dir)
    flag_unlabeled_classes(manifest)
    return inspect_report(manifest, cfg, show_all), manifest
