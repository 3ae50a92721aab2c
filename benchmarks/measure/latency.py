"""Latency records of one predictor on every requested device, batch size and scope (schema: <latency record>).

Scopes:
- `model`: a preprocessed tensor already on the device in, the raw network output out (`predictor.forward`).
  measure_models (run_latency.py) passes the run's test images preprocessed once (`images`); a random tensor
  (`example_input`) is the fallback, recorded as `input: random tensor` (it can time differently: denormals).
- `end_to_end`: encoded image bytes in, per-class decisions out (`predictor.end_to_end`: decode, preprocess,
  forward, postprocess incl. NMS for the detector, thresholds). Each iteration takes the next `batch_size` images
  of `encoded_images`, cycling, so decoding sees the real mix of image sizes.

In the harness a failure is data: a missing device gives `unavailable` records, out-of-memory gives an
`oom` record and the batch is halved until it fits, any other exception gives an `error` record; the rest goes on.
"""

from __future__ import annotations

import gc
import itertools
import math
import os
import socket
from collections.abc import Callable

from benchmarks.measure.devices import ACCELERATORS, device_present, resolve_devices  # noqa: F401 (re-exported)
from benchmarks.measure.devices import kind as _kind
from benchmarks.measure.machine import cpu_name, machine_id
from benchmarks.measure.stats import PERCENTILE_METHOD, summarize
from benchmarks.measure.timers import SYNC, TIMER, time_callable
from benchmarks.record import utc_now

SCOPES = ("model", "end_to_end")


def device_name(device: str) -> str:
    # deferred: torch is heavy
    import torch

    kind = _kind(device)
    if kind == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    if kind == "mps":
        return f"{cpu_name()} GPU (MPS)"
    return cpu_name()


def _is_oom(e: BaseException) -> bool:
    # deferred: torch is heavy
    import torch

    oom_types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None), torch.cuda.OutOfMemoryError) if t)
    # MPS reports out-of-memory as a RuntimeError "MPS backend out of memory"
    return isinstance(e, oom_types) or (isinstance(e, RuntimeError) and "out of memory" in str(e).lower())


def _free(device: str) -> None:
    # deferred: torch is heavy
    import torch

    gc.collect()
    if _kind(device) == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif _kind(device) == "mps" and device_present("mps"):
        torch.mps.empty_cache()


def real_batch(images, batch_size: int):
    """`batch_size` of the preprocessed test images `images` (N, ...), repeated when N < batch_size."""
    # deferred: torch is heavy
    import torch

    reps = math.ceil(batch_size / images.shape[0])
    return (torch.cat([images] * reps) if reps > 1 else images)[:batch_size].contiguous()


def _callable(predictor, scope: str, batch_size: int, encoded: list[bytes], images=None) -> Callable[[], object]:
    if scope == "model":
        # real preprocessed test images when given: random inputs can time differently (denormals)
        x = predictor.example_input(batch_size) if images is None else real_batch(images, batch_size)
        return lambda: predictor.forward(x)
    if not encoded:
        raise ValueError("scope end_to_end needs encoded images; pass encoded_images (bytes of test images)")
    n = len(encoded)
    batches = [[encoded[(k * batch_size + j) % n] for j in range(batch_size)] for k in range(math.ceil(n / batch_size))]
    cycle = itertools.cycle(batches)
    return lambda: predictor.end_to_end(next(cycle))


def _dtype(predictor) -> str:
    p = next(iter(predictor.model.parameters()), None)
    return str(p.dtype).replace("torch.", "") if p is not None else "unknown"


def _load_avg() -> float | None:
    """1-minute load average right after timing: above the core count, other processes competed for the CPU
    during the measurement, and CPU latencies read high and spread wide."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):  # Windows has no load average
        return None


def _error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else ''}"


def measure_cell(
    predictor, device: str, scope: str, batch_size: int, encoded: list[bytes], base: dict, images=None
) -> list[dict]:
    """Records for one (device, scope, requested batch size): `ok`, or `oom` records down to the batch that fits.
    `images`: preprocessed test images on the device, timed by the `model` scope instead of a random tensor."""
    records = []
    bs = batch_size
    while True:
        rec = {**base, "device": device, "scope": scope, "batch_size": bs, "requested_batch_size": batch_size}
        rec.update(measured_utc=utc_now(), sync=SYNC[_kind(device)], timer=TIMER[_kind(device)])
        try:
            rec["device_name"] = device_name(device)
            rec["dtype"] = base.get("dtype") or _dtype(predictor)
            rec["input"] = "random tensor" if scope == "model" and images is None else "test images"
            fn = _callable(predictor, scope, bs, encoded, images)
            timing = time_callable(fn, device, base["warmup"], base["iters_min"], base["min_seconds"])
        except Exception as e:  # noqa: BLE001 - in the harness a failure is data: a failed cell is recorded, the others still run
            oom = _is_oom(e)
            rec.update(status="oom" if oom else "error", error=_error_text(e), samples_ms=[])
            records.append(rec)
            _free(device)
            if oom and bs > 1:
                bs //= 2
                continue
            return records
        rec.update(status="ok", error=None, iters=len(timing.samples_ms), load_avg_1m=_load_avg())
        rec.update(summarize(timing.samples_ms, bs))
        rec["samples_ms"] = [round(s, 6) for s in timing.samples_ms]
        records.append(rec)
        return records


def measure_predictor(
    predictor,
    model_name: str,
    devices: list[str],
    batch_sizes: list[int],
    scopes: list[str],
    encoded_images: list[bytes],
    warmup: int = 5,
    iters: int = 30,
    min_seconds: float = 1.0,
    threads: int | None = None,
    load_on: Callable[[str], object] | None = None,
) -> list[dict]:
    """Latency records for `predictor` on each device in `devices` x `scopes` x `batch_sizes`.

    `predictor` is used on its own device; for another device `load_on(device)` must give a predictor there.
    `threads` sets torch's intra-op threads for the measurement (restored afterwards); the record carries the
    number actually in use.
    """
    # deferred: torch is heavy
    import torch

    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise ValueError(f"measure_predictor: unknown scopes {bad}; allowed: {', '.join(SCOPES)}")
    present, unavailable = resolve_devices(devices)
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    base = {
        "model": model_name,
        "machine_id": machine_id(),
        "hostname": socket.gethostname(),
        "imgsz": int(getattr(predictor, "imgsz", 0)) or None,
        "warmup": int(warmup),
        "iters_min": int(iters),
        "iters": 0,
        "min_seconds": float(min_seconds),
        "threads": torch.get_num_threads(),
        "percentile_method": PERCENTILE_METHOD,
    }
    records: list[dict] = []
    try:
        for device in unavailable:
            records += _fill(base, device, scopes, batch_sizes, "unavailable", _why_unavailable(device))
        for device in present:
            records += _measure_device(predictor, device, scopes, batch_sizes, encoded_images, base, load_on)
    finally:
        torch.set_num_threads(previous_threads)
    return records


def _why_unavailable(device: str) -> str:
    if _kind(device) == "cuda":
        return "torch.cuda.is_available() is False on this machine"
    if _kind(device) == "mps":
        return "torch.backends.mps.is_available() is False on this machine"
    return f"device {device!r} is not present"


def _fill(base: dict, device: str, scopes, batch_sizes, status: str, error: str) -> list[dict]:
    now = utc_now()
    kind = _kind(device)
    return [
        {
            **base,
            "device": device,
            "device_name": None,
            "dtype": None,
            "scope": scope,
            "batch_size": bs,
            "requested_batch_size": bs,
            "measured_utc": now,
            "sync": SYNC.get(kind),
            "timer": TIMER.get(kind),
            "status": status,
            "error": error,
            "samples_ms": [],
        }
        for scope in scopes
        for bs in batch_sizes
    ]


def _measure_device(predictor, device, scopes, batch_sizes, encoded, base, load_on) -> list[dict]:
    # deferred: torch is heavy
    import torch

    on_device = predictor
    if torch.device(predictor.device).type != _kind(device):
        if load_on is None:
            msg = f"the predictor is on {predictor.device}; pass load_on=lambda d: load(artifact, device=d)"
            return _fill(base, device, scopes, batch_sizes, "error", msg)
        try:
            on_device = load_on(device)
        except Exception as e:  # noqa: BLE001 - in the harness a failure is data: recorded, the others run
            _free(device)
            return _fill(base, device, scopes, batch_sizes, "oom" if _is_oom(e) else "error", _error_text(e))
    records = []
    for scope in scopes:
        for bs in batch_sizes:
            records += measure_cell(on_device, device, scope, int(bs), encoded, base)
    if on_device is not predictor:
        del on_device
        _free(device)
    return records
