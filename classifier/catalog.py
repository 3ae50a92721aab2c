"""`clsdet models` for the classifier: torchvision's classification registry (params and default input size from
its weights metadata, no model built; whether the ImageNet weights file is in the torch hub cache)."""

from __future__ import annotations


def model_catalog() -> dict:
    """{rows (JSON), title, header, cells (a row of strings or ints per backbone; `params` in raw counts), footer}."""
    import torch

    from classifier.backbones import info, list_backbones

    rows = [info(name) for name in list_backbones()]
    cells = [
        [r["name"], r["family"], r["params"], r["input_size"] or "-", r["input_rule"], "yes" if r["cached"] else "no"]
        for r in rows
    ]
    n_cached = sum(r["cached"] for r in rows)
    return {
        "rows": rows,
        "title": f"classifier backbones ({len(rows)}, torchvision; `backbone:`)",
        "header": ["name", "family", "params", "default imgsz", "imgsz rule", "imagenet cached"],
        "cells": cells,
        "footer": f"ImageNet weights cached: {n_cached}; weights: imagenet reads them from "
        f"{torch.hub.get_dir()}/checkpoints (file names: --json, imagenet_weights)",
    }
