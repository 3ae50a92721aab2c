"""`clsdet models` for the detector: the detection yamls the installed Ultralytics ships (params from the yaml's
summary comment at 80 classes, '-' when it has none; whether `<model>.pt` is in the weights cache)."""

from __future__ import annotations


def model_catalog() -> dict:
    """{rows (JSON), title, header, cells (a row per model; `params` in raw counts), footer}."""
    from detector.models import UNSUPPORTED_HEADS, all_detection_yamls, cached_weights, weights_cache_dirs

    rows = []
    for name, spec in sorted(all_detection_yamls().items()):
        cached = cached_weights(name) if spec.supported else None
        rows.append({
            "name": name, "yaml": spec.family_yaml.name, "scale": spec.scale, "params": spec.params,
            "weights_file": spec.weights_file, "cached": cached is not None, "supported": spec.supported,
            "note": "" if spec.supported else UNSUPPORTED_HEADS[spec.head],
        })  # fmt: skip
    n_ok = sum(r["supported"] for r in rows)
    return {
        "rows": rows,
        "title": f"detector models ({n_ok} supported, installed ultralytics; `model:`; params at 80 classes)",
        "header": ["name", "yaml", "params", "weights cached", "note"],
        "cells": [[r["name"], r["yaml"], r["params"], "yes" if r["cached"] else "no", r["note"]] for r in rows],
        "footer": f"weights: pretrained reads <name>.pt from {' or '.join(str(d) for d in weights_cache_dirs())}",
    }
