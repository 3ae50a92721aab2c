"""Object size against training resolution: image sizes, per-class box sizes, and a warning when a model's input
size shrinks a class's median box below MIN_BOX_PX (a detector at 160 px cannot find 40 px platelets in 640 px
photos: they arrive as 10 px smudges).

How each pipeline resizes (what a box's size on the model's input is):
- detector (Ultralytics letterbox): the longer image side becomes imgsz, scale = imgsz / max(W, H);
- classifier at evaluation (classifier/data.py): the shorter side becomes imgsz / eval_crop_ratio (0.875 by
  default), then a centre crop of imgsz, scale = imgsz / (0.875 x min(W, H)).
A box's size is the geometric mean of its width and height, sqrt(w x h), in pixels.
"""

from __future__ import annotations

import numpy as np

from benchmarks.registry.pipelines import PIPELINES

MIN_BOX_PX = 12  # below ~12 px on the input an object is a few cells of a stride-8 feature map: hard to find
RULES = ("long_side", "short_side_crop")  # letterbox to the long side (Ultralytics); resize the short side, crop


def _scale(rule: str, imgsz: int, w: float, h: float, crop_ratio: float) -> float:
    if rule == "long_side":
        return imgsz / max(w, h)
    if rule == "short_side_crop":
        return imgsz / (crop_ratio * min(w, h))
    raise ValueError(f"resize rule {rule!r} unknown; use one of {', '.join(RULES)}")


def _stats(v: list[float]) -> dict | None:
    if not v:
        return None
    a = np.asarray(v, dtype=float)
    return {"min": float(a.min()), "median": float(np.median(a)), "max": float(a.max())}


def object_sizes(manifest, imgsz: dict[str, int], min_px: float = MIN_BOX_PX, crop_ratio: float = 0.875) -> dict:
    """{images: {n, width, height}, per_class: {class: {n_boxes, median_box_px, median_box_px_at: {model: px}}},
    imgsz, warnings: [str]}: every box-kind source of the manifest counts. `imgsz`: model name ('classifier',
    'detector', or a candidate named after its pipeline) -> input size in px."""
    widths = [r.width for r in manifest.images if r.width]
    heights = [r.height for r in manifest.images if r.height]
    sides: dict[int, list[float]] = {j: [] for j in range(len(manifest.classes))}
    scaled: dict[str, dict[int, list[float]]] = {m: {j: [] for j in sides} for m in imgsz}
    no_size = 0
    for rec in manifest.images:
        for boxes in rec.boxes.values():  # every box source (a detector trains on one of them)
            for c, x1, y1, x2, y2 in boxes:
                side = float(np.sqrt(max(x2 - x1, 0) * max(y2 - y1, 0)))
                sides[int(c)].append(side)
                if not (rec.width and rec.height):
                    no_size += 1
                    continue
                for model, px in imgsz.items():
                    p = PIPELINES.get(model.split(":")[0])  # the registry's resize rule of the model's pipeline
                    rule = p.resize if p else "long_side"
                    scaled[model][int(c)].append(side * _scale(rule, px, rec.width, rec.height, crop_ratio))
    per_class, warnings = {}, []
    for j, name in enumerate(manifest.classes):
        at = {m: float(np.median(scaled[m][j])) if scaled[m][j] else None for m in imgsz}
        per_class[name] = {
            "n_boxes": len(sides[j]),
            "median_box_px": float(np.median(sides[j])) if sides[j] else None,
            "median_box_px_at": at,
        }
        for model, px in at.items():
            if px is not None and px < min_px:
                warnings.append(
                    f"{name}: median box {per_class[name]['median_box_px']:.0f} px shrinks to {px:.1f} px at the "
                    f"{model}'s imgsz {imgsz[model]} (< {min_px:g} px): raise {model}.imgsz or crop/tile the images"
                )
    if no_size:
        warnings.append(f"{no_size} box(es) on images of unknown size: left out of the scaled sizes")
    return {
        "images": {"n": len(manifest.images), "width": _stats(widths), "height": _stats(heights)},
        "imgsz": dict(imgsz),
        "min_box_px": min_px,
        "box_size": "sqrt(width x height) in pixels; scaled by each model's resize rule (benchmarks/data/sizes.py)",
        "per_class": per_class,
        "warnings": warnings,
    }


def sizes_text(sizes: dict) -> list[str]:
    """Markdown lines for `data inspect` and the report."""
    im = sizes["images"]
    w, h = im["width"], im["height"]
    lines = ["## object size vs input size"]
    if w and h:
        lines.append(
            f"image width {w['min']:.0f}-{w['max']:.0f} px (median {w['median']:.0f}), height {h['min']:.0f}-"
            f"{h['max']:.0f} px (median {h['median']:.0f}); imgsz: "
            + ", ".join(f"{m} {px}" for m, px in sizes["imgsz"].items())
        )
    models = list(sizes["imgsz"])
    head = "| class | boxes | median box px | " + " | ".join(f"at {m} imgsz" for m in models) + " |"
    lines += ["", head, "|" + "---|" * (3 + len(models))]
    for name, c in sizes["per_class"].items():
        if not c["n_boxes"]:
            continue
        at = [f"{v:.1f}" if v is not None else "-" for v in c["median_box_px_at"].values()]
        lines.append(f"| {name} | {c['n_boxes']} | {c['median_box_px']:.1f} | " + " | ".join(at) + " |")
    lines += [f"WARNING: {w}" for w in sizes["warnings"]]
    return lines
