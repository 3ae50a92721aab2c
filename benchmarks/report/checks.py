"""What CI can fail a run on, read from results.json alone: `--strict` (a job, stage or accuracy gate failed) and
`--fail-under METRIC=VALUE` (a candidate's headline accuracy below a floor). Each finding is one line of text.

The CLI imports this module to build its parser: the report helpers (pandas) are imported inside the functions."""

from __future__ import annotations

import argparse
import math

from benchmarks.report.common import latency_cells, model_entry, model_names

# headline test metrics a floor can be put on: higher is better for each (hamming_loss is not, so it is left out)
FLOOR_METRICS = ("macro_ap", "macro_f1", "micro_ap", "micro_f1", "exact_match")
EXIT_FAILED = 1  # a check failed; 2 stays the CLI's "bad input" code


def floor(text: str) -> tuple[str, float]:
    """argparse type of --fail-under: METRIC=VALUE, e.g. macro_ap=0.6."""
    metric, sep, value = text.partition("=")
    if not sep or metric not in FLOOR_METRICS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected METRIC=VALUE with METRIC one of {', '.join(FLOOR_METRICS)} (e.g. macro_ap=0.6)"
        )
    try:
        bound = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
    if not math.isfinite(bound):
        raise argparse.ArgumentTypeError(f"{text!r}: the floor must be a finite number")
    return metric, bound


def strict_failures(results: dict) -> list[str]:
    """Every failed stage, failed training job (a budget-curve point) and failed accuracy gate of a latency variant."""
    # deferred: benchmarks.report.latency_variants imports pandas
    from benchmarks.report.latency_variants import backend, gate_failed, kind_cells

    out = []
    for name, st in (results.get("stages") or {}).items():
        if isinstance(st, dict) and st.get("status") not in ("done", None):
            out.append(f"stage {name}: {st.get('status')}{': ' + str(st['error']) if st.get('error') else ''}")
    for job in (results.get("curve") or {}).get("failed") or []:
        if isinstance(job, dict):
            out.append(f"job {job.get('key', '?')}: {job.get('status', 'failed')}: {job.get('error') or 'no reason'}")
    for c in latency_cells(results) + kind_cells(results, "peak_throughput"):  # the newest measurement of each
        if gate_failed(c):
            drop = c.get("gate_drop")
            out.append(
                f"accuracy gate failed: {c['model']} {c.get('device')} {backend(c)} {c.get('dtype')} "
                f"batch {c.get('batch_size')} {c.get('scope')}"
                + (f": macro AP {drop:.3f} below eager float32" if isinstance(drop, int | float) else "")
            )
    return out


def floor_failures(results: dict, floors: list[tuple[str, float]]) -> list[str]:
    """Each candidate whose headline (all train images, first seed) test metric is below a floor, or missing."""
    out = []
    for metric, bound in floors:
        for m in model_names(results):
            value = (model_entry(results, m).get("accuracy") or {}).get(metric)
            if not isinstance(value, int | float) or not math.isfinite(value):
                out.append(f"{m}: {metric} is missing (no headline accuracy), floor {bound:g}")
            elif value < bound:
                out.append(f"{m}: {metric} {value:.4f} < {bound:g}")
    return out


def run_checks(results: dict, strict: bool, floors: list[tuple[str, float]] | None, echo=print) -> int:
    """Print what failed and return the exit code: 0, or EXIT_FAILED."""
    found = (strict_failures(results) if strict else []) + floor_failures(results, floors or [])
    if not (strict or floors):
        return 0
    if not found:
        asked = ["--strict"] * strict + [f"--fail-under {m}={b:g}" for m, b in floors or []]
        echo(f"checks passed ({', '.join(asked)})")
        return 0
    echo(f"FAILED: {len(found)} check(s):")
    for line in found:
        echo(f"  {line}")
    return EXIT_FAILED
