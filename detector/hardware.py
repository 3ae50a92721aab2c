"""Device, worker-count, thread and memory decisions for the detector, each made once and recorded."""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path


class DeviceError(RuntimeError):
    user_error = True


def resolve_device(device: str) -> str:
    """'auto' -> cuda, then mps, then cpu; an explicit device that is missing is an error with the fix."""
    import torch

    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"detector: device={device!r} but torch sees no CUDA device; use device='auto' or 'cpu'")
    if device == "mps" and not has_mps:
        raise DeviceError("detector: device='mps' but MPS is not available; use device='auto' or 'cpu'")
    return device


def ultralytics_device(device: str) -> str:
    """Ultralytics spells CUDA devices by index ('0'); cpu and mps by name."""
    if device == "cuda":
        return "0"
    if device.startswith("cuda:"):
        return device.split(":", 1)[1]
    return device


def choose_workers(requested: int | None, device: str) -> int:
    """Dataloader workers. Ultralytics forces 0 on CPU and MPS (engine/trainer.py: 'time dominated by inference,
    not dataloading'), so only CUDA uses them: up to 8, one core left for the main process."""
    if device in ("cpu", "mps"):
        return 0
    if requested is not None:
        return requested
    from os import cpu_count

    return max(0, min(8, (cpu_count() or 1) - 1))


@contextlib.contextmanager
def keep_torch_threads():
    """Ultralytics' select_device() sets torch threads to min(8, cpu_count - 1) on CPU (utils/torch_utils.py),
    one thread on a 2-core machine; keep the runtime's explicit choice for the duration, then restore."""
    import torch
    from ultralytics.utils import torch_utils

    n = torch.get_num_threads()
    saved = torch_utils.NUM_THREADS
    torch_utils.NUM_THREADS = n
    try:
        yield n
    finally:
        torch_utils.NUM_THREADS = saved
        torch.set_num_threads(n)


def reset_peak_memory(device: str) -> None:
    """Start a fresh peak: CUDA's allocator stats, or on Linux the process's RSS high-water mark (writing 5 to
    /proc/self/clear_refs resets VmHWM, proc(5)); without it a second training in the same process would report
    the first one's peak."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()
        return
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory_mb(device: str) -> tuple[float, str]:
    """(peak MB, method): CUDA max allocated on CUDA; else the RSS high-water mark since reset_peak_memory (Linux
    VmHWM), else the process's lifetime peak RSS (ru_maxrss, e.g. macOS), and the method says which."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated() / 2**20, "cuda_max_memory_allocated"
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024, "process_peak_rss_since_training_start"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux (getrusage(2))
    return rss * scale / 2**20, "process_peak_rss_lifetime"


@contextlib.contextmanager
def restore_globals():
    """Ultralytics' init_seeds() seeds the global RNGs, turns on torch deterministic algorithms and sets
    CUBLAS_WORKSPACE_CONFIG / PYTHONHASHSEED (utils/torch_utils.py); put all of it back afterwards so that
    training a detector leaves the calling process as it found it."""
    import os
    import random

    import numpy as np
    import torch

    env = {k: os.environ.get(k) for k in ("CUBLAS_WORKSPACE_CONFIG", "PYTHONHASHSEED", "OMP_NUM_THREADS")}
    det = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    fill = torch.utils.deterministic.fill_uninitialized_memory
    rng = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        torch.use_deterministic_algorithms(det[0], warn_only=det[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        torch.utils.deterministic.fill_uninitialized_memory = fill
        random.setstate(rng[0])
        np.random.set_state(rng[1])
        torch.set_rng_state(rng[2])
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
