"""Device names, presence and CPU count: one copy, shared by the stages, the CLI and the machine record."""

from __future__ import annotations

# the names' syntax lives in the backend table, which the config reads without measure/; re-exported here
from benchmarks.registry.backends import CUDA_INDEX, DEVICE_KINDS, is_device_name

ACCELERATORS = ("cuda", "mps")


class DeviceError(ValueError):
    """A device name that is not one, or a device this machine does not have: the message lists what is here."""

    user_error = True


def present_devices() -> list[str]:
    """Every device this process can use, by the name --device takes: cpu, cuda:0 ... cuda:N-1, mps."""
    # deferred: torch is heavy
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if device_present("mps"):
        out.append("mps")
    return out


def describe_present() -> str:
    """'cpu, cuda:0 (NVIDIA H100 80GB HBM3)': the devices present with their names, for an error message."""
    # deferred: torch is heavy
    import torch

    names = []
    for d in present_devices():
        m = CUDA_INDEX.fullmatch(d)
        names.append(f"{d} ({torch.cuda.get_device_name(int(m.group(1)))})" if m else d)
    return ", ".join(names)


def check_present(device: str, what: str = "--device") -> None:
    """Raise DeviceError naming the devices present when `device` (not auto) is not on this machine."""
    if not is_device_name(device):
        raise DeviceError(f"{what} {device!r}: not a device; use {', '.join(DEVICE_KINDS)} or cuda:N (e.g. cuda:1)")
    if device != "auto" and not device_present(device):
        raise DeviceError(
            f"{what} {device}: this machine has no such device; devices present: {describe_present()} "
            "(auto picks the best one present)"
        )


def kind(device: str) -> str:
    """'cuda:1' -> 'cuda'."""
    return str(device).split(":", 1)[0]


def device_present(device: str) -> bool:
    # deferred: torch is heavy
    import torch

    k = kind(device)
    if k == "cpu":
        return True
    if k == "cuda":
        m = CUDA_INDEX.fullmatch(str(device))
        return torch.cuda.is_available() and (m is None or int(m.group(1)) < torch.cuda.device_count())
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
