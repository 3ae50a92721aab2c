"""Statistics over interleaved rounds: each cell's median over its rounds with the spread, and the
latency ratio of two models per (device, batch, scope, backend, dtype) with its spread. Reads kept records only."""

from __future__ import annotations

import statistics
from collections import defaultdict

# one timing cell of one model, across rounds (machine and session: a rerun is another set of rounds)
ROUND_CELL = ("machine_id", "session", "device", "backend", "dtype", "scope", "batch_size")


def _key(rec: dict, keys=ROUND_CELL) -> tuple:
    return tuple(rec.get(k) for k in keys)


def spread(values: list[float]) -> dict:
    """median, min, max and (max - min) / median in % of a list of per-round values."""
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return {"median": med, "min": lo, "max": hi, "spread_pct": (hi - lo) / med * 100 if med else None,
            "n_rounds": len(values)}  # fmt: skip


def cell_medians(records: list[dict]) -> dict[tuple, dict]:
    """(model, *ROUND_CELL) -> spread of latency_ms_p50 over the ok rounds."""
    by: dict[tuple, list[float]] = defaultdict(list)
    for r in records:
        if r.get("status") == "ok" and r.get("kind", "latency") == "latency" and r.get("latency_ms_p50"):
            by[(r.get("model"), *_key(r))].append(float(r["latency_ms_p50"]))
    return {k: spread(v) for k, v in by.items()}


def ratios(records: list[dict], numerator: str, denominator: str) -> list[dict]:
    """numerator/denominator p50 ratio per cell, computed within each round (both timed minutes apart at most),
    then the median over rounds with its spread."""
    per_round: dict[tuple, dict[int, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        if (
            r.get("status") == "ok"
            and r.get("kind", "latency") == "latency"
            and r.get("model")
            in (
                numerator,
                denominator,
            )
        ):
            per_round[_key(r)][r.get("round", 0)][r["model"]] = float(r["latency_ms_p50"])
    out = []
    for key, rounds in per_round.items():
        vals = [v[numerator] / v[denominator] for v in rounds.values() if numerator in v and denominator in v]
        if vals:
            out.append({**dict(zip(ROUND_CELL, key)), "numerator": numerator, "denominator": denominator,
                        **{f"ratio_{k}": v for k, v in spread(vals).items() if k != "n_rounds"},
                        "n_rounds": len(vals)})  # fmt: skip
    return out
