"""Device, precision, worker-count and memory decisions, each made once and recorded with the results."""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from pathlib import Path


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity API
        return os.cpu_count() or 1


def resolve_device(device: str) -> str:
    """'auto' -> cuda, then mps, then cpu; an explicit device that is missing is an error with the fix."""
    import torch

    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device='cuda' but torch sees no CUDA device; use device='auto' or 'cpu'")
    if device == "mps" and not has_mps:
        raise DeviceError("device='mps' but MPS is not available; use device='auto' or 'cpu'")
    return device


class DeviceError(RuntimeError):
    user_error = True


def resolve_precision(precision: str, device: str) -> str:
    """Lightning precision flag. 'auto': bf16 autocast on CUDA when supported (no scaler needed), else fp16 with
    a grad scaler; fp16 autocast on MPS; fp32 on CPU (CPU autocast is slower than fp32 for these convnets)."""
    if precision != "auto":
        return precision
    if device == "cuda":
        import torch

        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    if device == "mps":
        return "16-mixed"
    return "32-true"


def choose_workers(requested: int | None, device: str) -> int:
    """DataLoader workers. With a GPU the CPU only decodes: up to 8 workers, one core left for the main process.
    On CPU the model competes with decoding for the same cores; one worker overlaps JPEG decoding with compute
    without taking cores from the intra-op threads on small machines (2-4 cores)."""
    if requested is not None:
        return requested
    cpus = available_cpus()
    if device == "cpu":
        return 1 if cpus <= 4 else min(4, cpus // 4)
    return max(0, min(8, cpus - 1))


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
