"""Device names, presence and CPU count: one copy, shared by the stages, the CLI and the machine record."""

from __future__ import annotations

import os

ACCELERATORS = ("cuda", "mps")
DEVICE_KINDS = ("auto", "cpu", "cuda", "mps")


def available_cpus() -> int:
    """Cores this process may use (CPU affinity, e.g. under taskset or a container quota), not the host's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity API
        return os.cpu_count() or 1


def kind(device: str) -> str:
    """'cuda:1' -> 'cuda'."""
    return str(device).split(":", 1)[0]


def device_present(device: str) -> bool:
    import torch

    k = kind(device)
    if k == "cpu":
        return True
    if k == "cuda":
        return torch.cuda.is_available()
    if k == "mps":
        return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    raise ValueError(f"unknown device {device!r}; allowed: {', '.join(DEVICE_KINDS)} (with an index: cuda:1)")


def resolve_devices(devices: list[str]) -> tuple[list[str], list[str]]:
    """(present, unavailable), in the order asked, without duplicates; 'auto' = cpu + every accelerator present."""
    present: list[str] = []
    unavailable: list[str] = []
    for d in devices:
        expanded = ["cpu"] + [a for a in ACCELERATORS if device_present(a)] if d == "auto" else [d]
        for e in expanded:
            target = present if device_present(e) else unavailable
            if e not in present and e not in unavailable:
                target.append(e)
    return present, unavailable
