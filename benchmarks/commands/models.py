"""`clsdet models`: what can be benchmarked on this machine, by pipeline.

Classifier backbones are torchvision's classification registry (params and default input size from its weights
metadata, no model built; whether the ImageNet weights file is in the torch hub cache). Detector models are the
detection yamls the installed Ultralytics ships (params from the yaml's summary comment at 80 classes, '-' when it
has none; whether `<model>.pt` is in the weights cache). Nothing heavy is imported at module level.
"""

from __future__ import annotations

import json

PIPELINES = ("classifier", "detector")


def register(sub) -> None:
    p = sub.add_parser("models", help="list the classifier backbones and detector models this machine can benchmark")
    p.add_argument("--pipeline", choices=PIPELINES, help="only this pipeline (default: both)")
    p.add_argument("--json", action="store_true", help="print JSON ({pipeline: [rows]}) instead of tables")
    p.set_defaults(func=models_cmd)


def classifier_rows() -> list[dict]:
    from classifier.backbones import info, list_backbones

    return [info(name) for name in list_backbones()]


def detector_rows() -> list[dict]:
    from detector.models import UNSUPPORTED_HEADS, all_detection_yamls, cached_weights

    rows = []
    for name, spec in sorted(all_detection_yamls().items()):
        cached = cached_weights(name) if spec.supported else None
        rows.append(
            {
                "name": name,
                "yaml": spec.family_yaml.name,
                "scale": spec.scale,
                "params": spec.params,
                "weights_file": spec.weights_file,
                "cached": cached is not None,
                "supported": spec.supported,
                "note": "" if spec.supported else UNSUPPORTED_HEADS[spec.head],
            }
        )
    return rows


def _millions(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f}M"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def render(data: dict) -> str:
    parts = []
    if "classifier" in data:
        import torch

        rows = [
            [r["name"], r["family"], _millions(r["params"]), r["input_size"] or "-", r["input_rule"],
             "yes" if r["cached"] else "no"]
            for r in data["classifier"]
        ]  # fmt: skip
        n_cached = sum(r["cached"] for r in data["classifier"])
        parts.append(
            f"classifier backbones ({len(rows)}, torchvision; `backbone:`)\n"
            + _table(["name", "family", "params", "default imgsz", "imgsz rule", "imagenet cached"], rows)
            + f"\nImageNet weights cached: {n_cached}; weights: imagenet reads them from "
            f"{torch.hub.get_dir()}/checkpoints (file names: --json, imagenet_weights)"
        )
    if "detector" in data:
        from detector.models import weights_cache_dirs

        rows = [
            [r["name"], r["yaml"], _millions(r["params"]), "yes" if r["cached"] else "no", r["note"]]
            for r in data["detector"]
        ]
        n_ok = sum(r["supported"] for r in data["detector"])
        parts.append(
            f"detector models ({n_ok} supported, installed ultralytics; `model:`; params at 80 classes)\n"
            + _table(["name", "yaml", "params", "weights cached", "note"], rows)
            + f"\nweights: pretrained reads <name>.pt from {' or '.join(str(d) for d in weights_cache_dirs())}"
        )
    return "\n\n".join(parts)


def models_cmd(args) -> int:
    wanted = [args.pipeline] if args.pipeline else list(PIPELINES)
    data = {}
    if "classifier" in wanted:
        data["classifier"] = classifier_rows()
    if "detector" in wanted:
        data["detector"] = detector_rows()
    print(json.dumps(data, indent=2, default=str) if args.json else render(data))
    return 0
