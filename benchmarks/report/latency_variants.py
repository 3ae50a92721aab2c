"""Report helpers for deployment variants: backend/dtype of a latency cell, its speed-up over eager
float32, the accuracy-gate verdict, rounds and spread, peak throughput, model-to-model ratios, the timer check.
Read finished records only (measuring, statistics and reporting are separate steps)."""

from __future__ import annotations

import statistics

import pandas as pd

from benchmarks.measure.rounds import ratios
from benchmarks.record import newest_per_cell
from benchmarks.registry.backends import BACKENDS
from benchmarks.report.common import (
    SCOPE_NAMES,
    cell_text,
    fmt,
    machine_label,
    machines,
    model_entry,
    model_label,
    model_names,
)

# the backends clsdet measures in table order; the ones recorded unavailable (no runner) after them, by name
BACKEND_ORDER = {name: i for i, name in enumerate(n for n, b in BACKENDS.items() if b.runs)}
DTYPE_ORDER = {"float32": 0, "bfloat16": 1, "float16": 2}
FAILED = "failed accuracy gate"  # = benchmarks.measure.gate.FAILED (not imported: reports need no torch)


def backend(c: dict) -> str:
    return c.get("backend") or "eager"  # records before deployment variants existed were all eager


def is_reference_variant(c: dict) -> bool:
    return backend(c) == "eager" and c.get("dtype") in ("float32", None)


def gate_failed(c: dict) -> bool:
    return c.get("gate") == FAILED


def kind_cells(results: dict, kind: str) -> list[dict]:
    """Newest record per cell of `kind` (peak_throughput, timer_check) over all models."""
    return [
        {**rec, "model": rec.get("model") or m}
        for m in model_names(results)
        for rec in newest_per_cell(model_entry(results, m).get("latency") or [], kind=kind)
    ]


def variant_order(c: dict) -> tuple:
    return (c["model"], c.get("batch_size") or 0, {"model": 0, "end_to_end": 1}.get(c.get("scope"), 9),
            BACKEND_ORDER.get(backend(c), 9), DTYPE_ORDER.get(str(c.get("dtype")), 9), backend(c))  # fmt: skip


def _cell_key(c: dict) -> tuple:
    return (c.get("model"), c.get("machine_id"), c.get("device"), c.get("batch_size"), c.get("scope"))


def reference_cells(cells: list[dict], results: dict | None = None) -> dict[tuple, float]:
    """Eager float32 p50 each variant's speed-up is taken against (same model, machine, device, batch, scope):
    from the variant's own session when `results` has one (same threads, same machine load), else the newest."""
    refs: dict[tuple, float] = {}
    for c in cells:
        if is_reference_variant(c) and c.get("status") == "ok" and c.get("latency_ms_p50"):
            refs[_cell_key(c)] = c["latency_ms_p50"]
    by_session: dict[tuple, list[float]] = {}
    for m in model_names(results or {}):
        for r in model_entry(results, m).get("latency") or []:
            ok = isinstance(r, dict) and r.get("status") == "ok" and r.get("kind", "latency") == "latency"
            if ok and r.get("session") and is_reference_variant(r) and r.get("latency_ms_p50"):
                by_session.setdefault((*_cell_key({**r, "model": m}), r["session"]), []).append(r["latency_ms_p50"])
    refs.update({k: statistics.median(v) for k, v in by_session.items()})
    return refs


def speedup(c: dict, refs: dict) -> float | None:
    ref = refs.get((*_cell_key(c), c.get("session"))) or refs.get(_cell_key(c))
    if c.get("status") != "ok" or ref is None or not c.get("latency_ms_p50"):
        return None
    return ref / c["latency_ms_p50"]


def speedup_text(c: dict, refs: dict) -> str:
    s = speedup(c, refs)
    return "—" if s is None else f"×{s:.2f}"


def gate_text(c: dict) -> str:
    g = c.get("gate")
    if not g:
        return "—"
    drop = c.get("gate_drop")
    extra = f" (ΔAP {-drop:+.3f})" if isinstance(drop, (int, float)) and drop else ""
    diff = c.get("max_abs_diff")
    return g + extra + (f", max |Δout| {diff:.2g}" if isinstance(diff, (int, float)) and diff else "")


def rounds_text(c: dict) -> str:
    n = c.get("n_rounds")
    sp = c.get("latency_ms_p50_spread_pct")
    return "1" if not n else f"{n} ({sp:.0f}%)" if isinstance(sp, (int, float)) else str(n)


def variant_text(c: dict, refs: dict) -> str:
    """p50 (median over rounds) x speed-up [failed accuracy gate]; the reference cell shows its p50 only."""
    text = cell_text(c)
    if c.get("status") != "ok":
        return text
    if not is_reference_variant(c):
        text += f" {speedup_text(c, refs)}" if speedup(c, refs) else ""
    return text + (f" · {FAILED}" if gate_failed(c) else "")


def peak_text(c: dict) -> str:
    if c.get("status") != "ok":
        return cell_text(c)
    return f"{fmt(c.get('throughput_img_s'), 1)} img/s @ b{c.get('batch_size')}" + (
        f" · {FAILED}" if gate_failed(c) else ""
    )


def latency_ratios(results: dict) -> pd.DataFrame:
    """The second model's p50 over the first's per (machine, session, device, backend, dtype, batch, scope):
    median over interleaved rounds [min, max]. A rerun (`clsdet latency`) is another session, its own row."""
    names = model_names(results)
    if len(names) < 2:
        return pd.DataFrame()
    recs = [r for m in names for r in (model_entry(results, m).get("latency") or []) if isinstance(r, dict)]
    mach = machines(results)
    rows = []
    for num in names[1:]:
        for q in ratios(recs, num, names[0]):
            mid = q.get("machine_id") or "?"
            rows.append({
                "ratio": f"{model_label(results, num)} / {model_label(results, names[0])}",
                "machine": machine_label(mid, mach.get(mid, {"hostname": "?"})),
                "session (UTC)": q.get("session") or "—",
                "device": q.get("device"), "backend": q.get("backend") or "eager", "dtype": q.get("dtype"),
                "batch": q.get("batch_size"), "scope": SCOPE_NAMES.get(q.get("scope"), q.get("scope")),
                "ratio (median)": fmt(q["ratio_median"], 3),
                "min – max": f"{fmt(q['ratio_min'], 3)} – {fmt(q['ratio_max'], 3)}", "rounds": q["n_rounds"],
            })  # fmt: skip
    return pd.DataFrame(rows)


def timer_checks(results: dict) -> pd.DataFrame:
    """The harness's CPU timer against torch.utils.benchmark.Timer.blocked_autorange, per model and machine."""
    mach = machines(results)
    rows = []
    for c in kind_cells(results, "timer_check"):
        mid = c.get("machine_id") or "?"
        ok = c.get("status") == "ok"
        rows.append({
            "model": model_label(results, c["model"]), "machine": machine_label(mid, mach.get(mid, {"hostname": "?"})),
            "threads": c.get("threads"), "harness p50 ms": fmt(c.get("harness_ms"), 3) if ok else cell_text(c),
            "Timer median ms": fmt(c.get("torch_timer_ms"), 3), "diff %": fmt(c.get("diff_pct"), 1),
            "harness mean vs Timer %": fmt(c.get("diff_pct_mean"), 1), "load avg (1 min)": fmt(c.get("load_avg_1m"), 2),
        })  # fmt: skip
    return pd.DataFrame(rows)


def blocks(results: dict, table) -> list[tuple]:
    """The report's blocks for the ratio and timer-check tables (`table(fn, results)` renders one or says n/a)."""
    return [
        ("h3", "Model-to-model latency ratio (median over interleaved rounds)"),
        ("p", "Each round times every model in the same cell one after the other, so machine drift between rounds "
              "cancels in the ratio; each `clsdet latency` rerun is a new session row."),
        table(latency_ratios, results),
        ("h3", "Timer check"),
        ("p", "The harness's CPU p50 against torch.utils.benchmark.Timer.blocked_autorange on the same predictor, "
              "input and threads (median of interleaved rounds). Timer's blocks are means of many calls, so a "
              "loaded machine (load average above the core count) reads higher there."),
        table(timer_checks, results),
    ]  # fmt: skip
