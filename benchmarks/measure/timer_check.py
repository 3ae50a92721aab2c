"""Trust in the timer: the harness's CPU timing of a callable against
`torch.utils.benchmark.Timer.blocked_autorange` on the same callable, input and threads, in interleaved rounds
(harness, Timer, harness, Timer, ...). Agreement is the median over rounds of each timer's figure.

Timer.blocked_autorange's median is over blocks, each block the MEAN of many calls; the harness reports the
median of single calls. On a quiet machine the two agree; on a loaded one (load average above the core count)
preemptions land inside the block means but mostly outside a per-call median, so both comparisons are kept:
`diff_pct` (harness p50, the figure reports show) and `diff_pct_mean` (harness mean, like for like with blocks)."""

from __future__ import annotations

import logging
import statistics

from benchmarks.measure.latency import _load_avg
from benchmarks.measure.stats import summarize
from benchmarks.measure.timers import time_callable


def timer_agreement(fn, rounds: int = 3, warmup: int = 3, iters: int = 10, min_seconds: float = 0.3) -> dict:
    """{'harness_ms', 'torch_timer_ms', 'diff_pct', 'rounds': [...]}: diff_pct = (harness - Timer) / Timer * 100."""
    # deferred: torch is heavy
    import torch

    # torch.utils.benchmark imports cpp_extension, which warns "No CUDA runtime is found" on every CPU-only machine
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    # deferred: torch is heavy
    from torch.utils.benchmark import Timer

    threads = torch.get_num_threads()
    timer = Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    per_round = []
    for r in range(rounds):
        h = summarize(time_callable(fn, "cpu", warmup, iters, min_seconds).samples_ms, 1)
        m = timer.blocked_autorange(min_run_time=min_seconds)
        per_round.append({"round": r, "harness_ms": h["latency_ms_p50"], "harness_mean_ms": h["latency_ms_mean"],
                          "torch_timer_ms": m.median * 1e3})  # fmt: skip
    harness = statistics.median(x["harness_ms"] for x in per_round)
    harness_mean = statistics.median(x["harness_mean_ms"] for x in per_round)
    torch_ms = statistics.median(x["torch_timer_ms"] for x in per_round)
    return {
        "harness_ms": harness,
        "harness_mean_ms": harness_mean,
        "torch_timer_ms": torch_ms,
        "diff_pct": (harness - torch_ms) / torch_ms * 100 if torch_ms > 0 else None,
        "diff_pct_mean": (harness_mean - torch_ms) / torch_ms * 100 if torch_ms > 0 else None,
        "load_avg_1m": _load_avg(),
        "threads": threads,
        "rounds": per_round,
        "method": "median over interleaved rounds of: harness p50 (time_callable) vs Timer.blocked_autorange median",
    }
