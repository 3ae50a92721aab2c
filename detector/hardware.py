"""Device, worker-count, thread and memory decisions for the detector, each made once and recorded."""

from __future__ import annotations

import contextlib


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
    index = device.partition(":")[2]
    if device.startswith("cuda") and index and int(index) >= torch.cuda.device_count():
        n = torch.cuda.device_count()
        raise DeviceError(f"detector: device={device!r} but torch sees {n} CUDA device(s): cuda:0 to cuda:{n - 1}")
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


ULTRALYTICS_DEFAULT_WORKERS = 8  # ultralytics/cfg/default.yaml `workers`


def choose_workers(requested: int | None, device: str) -> int:
    """Dataloader workers. Ultralytics forces 0 on CPU and MPS (engine/trainer.py: 'time dominated by inference,
    not dataloading'), so only CUDA uses them: its own default of 8, which its build_dataloader caps at the CPU count
    per device (the CPU count is the classifier's helper to own; this pipeline does without one)."""
    if device in ("cpu", "mps"):
        return 0
    return requested if requested is not None else ULTRALYTICS_DEFAULT_WORKERS


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
