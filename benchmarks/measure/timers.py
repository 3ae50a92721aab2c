"""Raw per-iteration durations of one callable on one device; no statistics here (see stats.py).

Every timed interval contains the device synchronisation, so asynchronous accelerator work is inside it:
- CPU: torch's CPU ops are synchronous; `time.perf_counter_ns` around the call.
- CUDA: `torch.cuda.Event(enable_timing=True)` recorded before and after the call, then `end.synchronize()` and
  `start.elapsed_time(end)` (GPU-side clock, as PyTorch's benchmarking recipe does). The stream is idle at the start
  event (synchronised before), so host-side work inside the call (decoding, NMS on CPU) is inside the interval too.
- MPS: `torch.mps.synchronize()` before the start and before the end reading of `time.perf_counter_ns`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

SYNC = {
    "cpu": "none (cpu, synchronous)",
    "cuda": "torch.cuda.Event elapsed_time + synchronize",
    "mps": "torch.mps.synchronize",
}
TIMER = {"cpu": "time.perf_counter_ns", "cuda": "torch.cuda.Event", "mps": "time.perf_counter_ns"}


@dataclass
class Timing:
    samples_ms: list[float]  # one entry per timed iteration, in order
    warmup: int
    sync: str
    timer: str


def _sync_fn(device: str) -> Callable[[], None]:
    # deferred: torch is heavy
    import torch

    if device.startswith("cuda"):
        return torch.cuda.synchronize
    if device.startswith("mps"):
        return torch.mps.synchronize
    return lambda: None


def _once_wall(fn: Callable[[], object], sync: Callable[[], None]) -> float:
    sync()
    t0 = time.perf_counter_ns()
    fn()
    sync()
    return (time.perf_counter_ns() - t0) / 1e6


def _once_cuda_events(fn: Callable[[], object]) -> float:
    # deferred: torch is heavy
    import torch

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    fn()
    end.record()
    end.synchronize()
    return float(start.elapsed_time(end))


def time_callable(
    fn: Callable[[], object],
    device: str,
    warmup: int = 5,
    iters: int = 30,
    min_seconds: float = 1.0,
    max_iters: int = 100_000,
) -> Timing:
    """Run `fn` `warmup` times untimed, then time it until at least `iters` iterations AND at least `min_seconds`
    of timed samples have been taken (a cap of `max_iters` stops a sub-microsecond callable looping forever)."""
    kind = str(device).split(":", 1)[0]  # "cuda:1" -> cuda, "mps:0" -> mps
    sync = _sync_fn(device)
    for _ in range(warmup):
        fn()
    sync()
    once = _once_cuda_events if kind == "cuda" else (lambda f: _once_wall(f, sync))
    samples: list[float] = []
    total_ms = 0.0
    while (len(samples) < iters or total_ms < min_seconds * 1e3) and len(samples) < max_iters:
        ms = once(fn)
        samples.append(ms)
        total_ms += ms
    return Timing(samples_ms=samples, warmup=warmup, sync=SYNC[kind], timer=TIMER[kind])
