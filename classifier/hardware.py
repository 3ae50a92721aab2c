"""Device, precision, worker-count and memory decisions, each made once and recorded with the results."""

from __future__ import annotations

import os


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
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device={device!r} but torch sees no CUDA device; use device='auto' or 'cpu'")
    index = device.partition(":")[2]
    if index and int(index) >= torch.cuda.device_count():
        n = torch.cuda.device_count()
        raise DeviceError(f"device={device!r} but torch sees {n} CUDA device(s): cuda:0 to cuda:{n - 1}")
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
    if device.startswith("cuda"):
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


def lightning_devices(device: str, devices: int | str) -> tuple[str, int | str | list[int]]:
    """(accelerator, devices) for Lightning's Trainer: it takes no index in the accelerator, so cuda:1 is
    accelerator 'cuda' on the device list [1]; any other device keeps the configured count."""
    kind, _, index = device.partition(":")
    return (kind, [int(index)]) if index else (device, devices)
