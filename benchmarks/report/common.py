"""Shared by the report's tables and plots: display formatting and tolerant access to a results document.

Formatting lives here once, so Markdown, HTML and plots show the same strings; every accessor returns an empty value
(never raises) when a part of the document is missing.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks.record import model_pipeline, newest_per_cell
from benchmarks.registry import methods
from benchmarks.registry.pipelines import PIPELINES, of_method  # its order groups candidates by labeling method

SCOPE_NAMES = {"model": "model", "end_to_end": "end-to-end"}
SCOPE_ORDER = {"model": 0, "end_to_end": 1}


# --- formatting --------------------------------------------------------------------------------------------------
def na(reason: str | None = None) -> str:
    reason = " ".join(str(reason or "").split())
    if len(reason) > 90:
        reason = reason[:87] + "..."
    return f"n/a ({reason})" if reason else "n/a"


def num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


def fmt(x: Any, digits: int = 3, missing: str = "n/a") -> str:
    v = num(x)
    return missing if v is None else f"{v:.{digits}f}"


def fmt_ci(value: Any, ci: Any, digits: int = 3) -> str:
    if num(value) is None:
        return na("not computed")
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(num(c) is not None for c in ci):
        return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"
    return f"{value:.{digits}f} [CI n/a]"


def fmt_big(n: Any) -> str:
    v = num(n)
    if v is None:
        return na("not measured")
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"{v / div:.2f} {unit}"
    return f"{v:.0f}"


def fmt_seconds(s: Any) -> str:
    v = num(s)
    if v is None:
        return na("not measured")
    if v >= 3600:
        return f"{v / 3600:.2f} h"
    if v >= 60:
        return f"{v / 60:.1f} min"
    return f"{v:.1f} s"


def fmt_ms(x: Any) -> str:
    v = num(x)
    if v is None:
        return "n/a"
    return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


# --- access helpers ----------------------------------------------------------------------------------------------
def model_names(results: dict) -> list[str]:
    """Candidate names grouped by pipeline (registry order), in the config's order within a pipeline."""
    models = results.get("models") or {}
    order = list(PIPELINES)

    def rank(name: str) -> int:
        p = pipeline_of(results, name)
        return order.index(p) if p in order else len(order)

    return sorted(models, key=rank)


def pipeline_of(results: dict, model: str) -> str:
    return model_pipeline(model, model_entry(results, model))


def pipelines_in(results: dict) -> dict[str, str]:
    """{pipeline: its labeling method's label} of the run's models, in registry order (one no longer registered:
    last): 'classifier' -> 'folder sorting'."""
    out: dict[str, str] = {}
    for m in model_names(results):
        out.setdefault(pipeline_of(results, m), method_label(results, m))
    return out


def method_pair(results: dict) -> tuple[str, str]:
    """(a, b): the verdict's two labeling methods, "a - b" (stored with the statistics; else the registry's pair of
    the run's methods)."""
    stored = ((results.get("curve") or {}).get("stats") or {}).get("pair")
    return tuple(stored) if stored else methods.pair(labeling_method(results, m) for m in model_names(results))


def method_pipeline(method: str) -> str:
    """The pipeline a labeling method trains ('detector' for 'cvat'), or the method's name."""
    p = of_method(method)
    return p.name if p else method


def labeling_method(results: dict, model: str) -> str:
    """The labeling method whose cost a candidate carries (its pipeline's: folder_sort or cvat)."""
    entry = model_entry(results, model)
    p = PIPELINES.get(pipeline_of(results, model))
    return str(entry.get("labeling_method") or (p.labeling_method if p else model))


def method_label(results: dict, model: str) -> str:
    p = PIPELINES.get(pipeline_of(results, model))
    return p.method_label if p else labeling_method(results, model)


def model_entry(results: dict, model: str) -> dict:
    entry = (results.get("models") or {}).get(model)
    return entry if isinstance(entry, dict) else {}


def model_label(results: dict, model: str) -> str:
    """`r18-scratch (classifier, resnet18)`; a candidate named after its pipeline: `classifier (resnet18)`."""
    e = model_entry(results, model)
    arch, pipe = e.get("architecture") or e.get("name"), pipeline_of(results, model)
    parts = [x for x in ((pipe if pipe != model else None), (arch if arch and arch != model else None)) if x]
    return f"{model} ({', '.join(parts)})" if parts else model


def why_missing(results: dict, model: str, part: str) -> str:
    """The recorded reason a model's `part` is absent: its error, its stage's status, or a plain statement."""
    for err in results.get("errors") or []:
        if isinstance(err, dict) and err.get("model") == model and err.get("stage") != "latency" and err.get("error"):
            return f"{err.get('stage', 'error')}: {err['error']}"
    stages = results.get("stages") or {}
    for stage in ("train", "evaluate", "size"):
        st = stages.get(stage) or {}
        if st.get("status") not in (None, "done"):
            return f"stage {stage} {st['status']}" + (f": {st['error']}" if st.get("error") else "")
    if model not in (results.get("models") or {}):
        return f"no {model} in this run"
    return f"no {part} recorded"


def section(results: dict, model: str, part: str) -> dict | None:
    value = model_entry(results, model).get(part)
    return value if isinstance(value, dict) and value else None


def baseline(results: dict) -> dict:
    for m in model_names(results):
        b = (section(results, m, "accuracy") or {}).get("baseline")
        if isinstance(b, dict):
            return b
    return {}


def machines(results: dict) -> dict[str, dict]:
    """machine_id -> {'hostname', 'this_run', 'devices': {device: {device_name, ...}}}, the run's machine first."""
    out: dict[str, dict] = {}
    own = results.get("machine") or {}
    if own.get("machine_id"):
        out[own["machine_id"]] = {"hostname": own.get("hostname") or "?", "this_run": True, "devices": {}}
    for m in model_names(results):
        for rec in model_entry(results, m).get("latency") or []:
            if not isinstance(rec, dict):
                continue
            mid = rec.get("machine_id") or "?"
            info = out.setdefault(mid, {"hostname": rec.get("hostname") or "?", "this_run": False, "devices": {}})
            names = info["devices"].setdefault(rec.get("device") or "?", set())
            if rec.get("device_name"):
                names.add(rec["device_name"])
    return out


def machine_label(mid: str, info: dict) -> str:
    return f"{info['hostname']} [{str(mid)[-6:]}]"


def latency_cells(results: dict) -> list[dict]:
    """Newest record per cell over all models, each with `n_measurements`."""
    cells = []
    for m in model_names(results):
        for rec in newest_per_cell(model_entry(results, m).get("latency") or []):
            cells.append({**rec, "model": rec.get("model") or m})
    return cells


def cell_text(rec: dict | None) -> str:
    if rec is None:
        return "—"
    if rec.get("status") != "ok":
        return na(f"{rec.get('status', 'error')}: {rec.get('error') or 'no reason recorded'}")
    text = fmt_ms(rec.get("latency_ms_p50"))
    n = rec.get("n_measurements", 1)
    return f"{text} (n={n})" if n > 1 else text


def cell_order(c: dict) -> tuple:
    return (c["model"], c.get("batch_size") or 0, SCOPE_ORDER.get(c.get("scope"), 9), str(c.get("dtype")))
