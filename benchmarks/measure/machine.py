"""Where a number was measured: `machine_info()` and `commit_info(repo_dir)` (results.json `machine`, `commit`)."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import socket
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from benchmarks.runtime import available_cpus


@lru_cache(maxsize=1)
def cpu_name() -> str:
    """CPU model: /proc/cpuinfo on Linux, sysctl on macOS, else platform.processor()."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    if sys.platform == "darwin":
        out = _run(["sysctl", "-n", "machdep.cpu.brand_string"])
        if out:
            return out
    return platform.processor() or platform.machine() or "unknown"


def _ram_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _run(cmd: list[str], cwd: Path | None = None) -> str | None:
    """stdout of a small command, or None when it is missing or fails (machine info must never stop a run)."""
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=15, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _nvidia_drivers() -> list[str]:
    out = _run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"])
    return [line.strip() for line in out.splitlines() if line.strip()] if out else []


def gpu_info() -> list[dict]:
    # deferred: torch is heavy
    import torch

    if not torch.cuda.is_available():
        return []
    drivers = _nvidia_drivers()
    gpus = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        gpus.append(
            {
                "name": p.name,
                "memory_gb": round(p.total_memory / 1024**3, 1),
                "driver": drivers[i] if i < len(drivers) else None,
                "capability": f"{p.major}.{p.minor}",
            }
        )
    return gpus


def mps_available() -> bool:
    # deferred: torch is heavy
    import torch

    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def machine_id(hostname: str | None = None, cpu: str | None = None) -> str:
    """Stable short id of this machine (hostname + CPU model), so records from many machines can be told apart."""
    key = f"{hostname or socket.gethostname()}|{cpu or cpu_name()}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def machine_info() -> dict:
    # deferred: torch is heavy
    import torch

    # deferred: torchvision is heavy
    import torchvision

    host, cpu = socket.gethostname(), cpu_name()
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "machine_id": machine_id(host, cpu),
        "hostname": host,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_cores": available_cpus(),  # cores this process may use (affinity), not the host's total
        "cpu_count_logical": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "ram_gb": _ram_gb(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        "gpu": gpu_info(),
        "mps": mps_available(),
    }


def commit_info(repo_dir: str | Path) -> dict:
    """{'id', 'branch', 'dirty'} of the git checkout at repo_dir; {'id': None, 'error': ...} outside git."""
    repo_dir = Path(repo_dir)
    if shutil.which("git") is None:
        return {"id": None, "branch": None, "dirty": None, "error": "git is not installed"}
    commit = _run(["git", "rev-parse", "HEAD"], cwd=repo_dir)
    if not commit:
        return {"id": None, "branch": None, "dirty": None, "error": f"{repo_dir} is not a git checkout with a commit"}
    branch = _run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo_dir)
    # tracked files only: untracked run outputs and caches do not make the code dirty
    status = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo_dir)
    return {"id": commit, "branch": branch, "dirty": bool(status), "error": None}
