"""Flat tables of a run, for spreadsheets, pandas and diffs between machines or runs: `results.csv` (one row per
candidate x budget point) and `latency.csv` (one row per model x machine x device x backend x dtype x batch x scope
x kind), both built from results.json alone.

Each column is (name, where its value is in results.json), in one list per table: a new column is one line. A path
is dotted keys and list indices into a row's context (`point`, `model`, `run`); a key that is missing gives an empty
cell, never an error, so the tables follow results.json as its fields change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.record import model_pipeline
from benchmarks.report.common import latency_cells, model_entry, model_names
from benchmarks.report.latency_variants import backend, kind_cells, reference_cells, speedup

# results.csv: `point` is a budget-curve point (curve.points[], or a failed one from curve.failed[]); `model` is
# models[<candidate>] (what only the headline training has: box mAP, size); `run` is the whole document
RESULTS_COLUMNS: list[tuple[str, str | Callable[[dict], Any]]] = [
    ("run_id", "run.run_id"),
    ("candidate", "point.candidate"),
    ("pipeline", "point.pipeline"),
    ("method", "point.method"),  # labeling method: folder_sort | cvat (benchmarks/registry/methods.py)
    ("fraction", "point.fraction"),
    ("seed", "point.seed"),
    ("headline", "point.headline"),
    ("status", "point.status"),  # ok, or failed (curve.failed) with its error
    ("error", "point.error"),
    ("images", "point.n_images"),
    ("labels", "point.n_labels"),
    ("boxes", "point.n_boxes"),
    ("labeling_hours", "point.labeling.hours"),
    ("labeling_hours_lo", "point.labeling.hours_lo"),
    ("labeling_hours_hi", "point.labeling.hours_hi"),
    ("labeling_source", "point.labeling.source"),  # measured (logs) | modeled (cited rates)
    ("macro_ap", "point.accuracy.macro_ap"),
    ("macro_ap_ci95_lo", "point.accuracy.macro_ap_ci95.0"),
    ("macro_ap_ci95_hi", "point.accuracy.macro_ap_ci95.1"),
    ("baseline_macro_ap", "point.accuracy.baseline.macro_ap"),  # what a model must beat (older runs: prevalence)
    ("random_ranking_ap", "point.accuracy.baseline.random_ranking_macro_ap"),
    ("prevalence_ap", "point.accuracy.baseline.prevalence_macro_ap"),
    ("beats_baseline", "point.accuracy.vs_baseline.beats_baseline"),
    ("baseline_diff", "point.accuracy.vs_baseline.macro_ap_diff"),
    ("baseline_p_value", "point.accuracy.vs_baseline.p_value"),
    ("macro_f1", "point.accuracy.macro_f1"),
    ("macro_f1_ci95_lo", "point.accuracy.macro_f1_ci95.0"),
    ("macro_f1_ci95_hi", "point.accuracy.macro_f1_ci95.1"),
    ("box_map50", lambda ctx: _get(ctx, "model.box.map50") if _get(ctx, "point.headline") else None),
    ("box_map50_95", lambda ctx: _get(ctx, "model.box.map50_95") if _get(ctx, "point.headline") else None),
    ("n_test", "point.accuracy.n_test"),
    ("epochs_run", "point.epochs_run"),
    ("train_wall_s", "point.train_wall_s"),
    ("undertrained", "point.undertrained"),
    ("params", "model.size.params"),
    ("gflops", "model.size.gflops"),
    ("file_mb_fp32", "model.size.file_mb_fp32"),
    ("file_mb_fp16", "model.size.file_mb_fp16"),
    ("labeling_usd", "point.labeling.usd"),
    ("compute_usd", "point.compute_usd"),
]

# latency.csv: `cell` is one timing cell, its rounds merged (record.newest_per_cell: the newest session, statistics
# are medians over its rounds); `machine` is the run's machine record when the cell was measured on it
LATENCY_COLUMNS: list[tuple[str, str | Callable[[dict], Any]]] = [
    ("run_id", "run.run_id"),
    ("model", "cell.model"),
    ("pipeline", "cell.pipeline"),
    ("kind", "cell.kind"),  # latency, or peak_throughput (batch = the best batch of the sweep)
    ("machine_id", "cell.machine_id"),
    ("hostname", "cell.hostname"),
    ("device", "cell.device"),
    ("device_name", "cell.device_name"),
    ("backend", lambda ctx: backend(ctx["cell"])),
    ("dtype", "cell.dtype"),
    ("batch_size", "cell.batch_size"),
    ("scope", "cell.scope"),  # model (forward pass) | end_to_end (decode + preprocess + forward + decide)
    ("status", "cell.status"),
    ("error", "cell.error"),
    ("latency_ms_p50", "cell.latency_ms_p50"),
    ("latency_ms_p90", "cell.latency_ms_p90"),
    ("latency_ms_p99", "cell.latency_ms_p99"),
    ("latency_ms_mean", "cell.latency_ms_mean"),
    ("latency_ms_std", "cell.latency_ms_std"),
    ("throughput_img_s", "cell.throughput_img_s"),
    ("speedup_vs_eager_fp32", "speedup"),  # eager float32 p50 / this p50, same model, machine, device, batch, scope
    ("gate", "cell.gate"),  # accuracy gate: reference | passed | failed accuracy gate
    ("gate_macro_ap", "cell.gate_macro_ap"),
    ("gate_drop", "cell.gate_drop"),
    ("n_rounds", "cell.n_rounds"),
    ("p50_spread_pct", "cell.latency_ms_p50_spread_pct"),
    ("n_measurements", "cell.n_measurements"),
    ("iters", "cell.iters"),
    ("threads", "cell.threads"),
    ("measured_utc", "cell.measured_utc"),
]


def _get(ctx: Any, path: str) -> Any:
    """ctx["a"]["b"][0] for 'a.b.0'; None where any step is missing."""
    for step in path.split("."):
        if isinstance(ctx, dict):
            ctx = ctx.get(step)
        elif isinstance(ctx, list | tuple) and step.isdigit() and int(step) < len(ctx):
            ctx = ctx[int(step)]
        else:
            return None
    return ctx


def _row(columns, ctx: dict) -> dict:
    return {name: (src(ctx) if callable(src) else _get(ctx, src)) for name, src in columns}


def _from_key(key) -> dict:
    """candidate, fraction and seed of a job key, `classifier/f0.5-s0` (harness/jobs.py), for a failed point that
    records its key only."""
    m = re.fullmatch(r"(?P<candidate>.+)/f(?P<fraction>[0-9.e+-]+)-s(?P<seed>\d+)", str(key or ""))
    if not m:
        return {}
    return {"candidate": m["candidate"], "fraction": float(m["fraction"]), "seed": int(m["seed"])}


def _points(results: dict) -> list[dict]:
    """The curve's points (failed ones with status failed), or, in a run without a curve record, one headline point
    per model from its own sections."""
    curve = results.get("curve") or {}
    points = [{**p, "status": "ok"} for p in curve.get("points") or [] if isinstance(p, dict)]
    points += [
        {**_from_key(f.get("key")), **f, "status": "failed"} for f in curve.get("failed") or [] if isinstance(f, dict)
    ]
    if points:
        return points
    train = ((results.get("split") or {}).get("counts") or {}).get("train")
    out = []
    for m in model_names(results):
        e = model_entry(results, m)
        training = e.get("training") or {}
        out.append({
            "candidate": m, "pipeline": model_pipeline(m, e), "method": e.get("labeling_method"),
            "fraction": 1.0, "seed": (e.get("config") or {}).get("seed"), "headline": True,
            "status": "ok" if e.get("accuracy") else "failed", "n_images": train, "accuracy": e.get("accuracy"),
            "epochs_run": training.get("epochs_run"), "train_wall_s": training.get("train_wall_s"),
        })  # fmt: skip
    return out


def results_rows(results: dict) -> list[dict]:
    rows = []
    points = _points(results)
    # a failed point records its key only: its pipeline and method are those of its candidate's other points
    known = {p.get("candidate"): p for p in points if p.get("method")}
    for p in points:
        model = model_entry(results, p.get("candidate") or "")
        same = known.get(p.get("candidate")) or {}
        p = {"pipeline": same.get("pipeline") or model.get("pipeline"),
             "method": same.get("method") or model.get("labeling_method"), **p}  # fmt: skip
        rows.append(_row(RESULTS_COLUMNS, {"run": results, "point": p, "model": model}))
    return rows


def latency_rows(results: dict) -> list[dict]:
    cells = latency_cells(results) + kind_cells(results, "peak_throughput")
    refs = reference_cells(latency_cells(results), results)
    rows = []
    for c in cells:
        s = speedup(c, refs) if c.get("kind", "latency") == "latency" else None
        rows.append(_row(LATENCY_COLUMNS, {"run": results, "cell": {"kind": "latency", **c}, "speedup": s}))
    return rows


def frame(rows: list[dict], columns) -> pd.DataFrame:
    """The rows with every column of the table, in its order, even when there is no row. Object dtype keeps each
    value as results.json has it (a count stays 2 beside an empty cell, not 2.0; a float stays a float)."""
    return pd.DataFrame(rows, columns=[name for name, _ in columns], dtype=object)


def results_frame(results: dict) -> pd.DataFrame:
    return frame(results_rows(results), RESULTS_COLUMNS)


def latency_frame(results: dict) -> pd.DataFrame:
    return frame(latency_rows(results), LATENCY_COLUMNS)


def write_flat(run_dir: Path, results: dict) -> dict[str, Path]:
    """results.csv and latency.csv in the run folder."""
    out = {}
    for name, df in (("results.csv", results_frame(results)), ("latency.csv", latency_frame(results))):
        path = Path(run_dir) / name
        df.to_csv(path, index=False)
        out[name] = path
    return out
