"""The one place that makes the process offline-safe and reproducible; every entry point calls `setup()`.

What it does, before MLflow or Ultralytics are imported:
- MLflow telemetry off; Ultralytics config dir inside the project's ignored cache folder, offline, no
  auto-install, its font pre-seeded (see detector/runtime.py);
- matplotlib's cache inside the cache folder, headless backend;
- torch intra-op threads set explicitly (default: all cores this process may use) and returned, so records
  can carry them;
- SIGTERM (what `timeout`, `docker stop`, systemd, SLURM and Kubernetes send) handled as Ctrl-C is: it raises
  `Terminated`, a KeyboardInterrupt, in the main thread, so a job is marked interrupted, MLflow runs KILLED, the
  command exits 143 (Ctrl-C: 130) and `--resume` continues. A process group gets the signal too: the DataLoader
  workers of a training die with it, and the error that brings into the main thread counts as the interruption it
  is (`stop_requested()`).
Nothing is written to ~/.config, the current directory or a user's data folder.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from detector.runtime import default_cache_dir, ultralytics_env

_STATE: dict = {}
_SIGNALLED: list[int] = []  # the stop signals this process received


class Terminated(KeyboardInterrupt):
    """A stop signal (SIGTERM), handled as Ctrl-C is."""


def available_cpus() -> int:
    """Cores this process may use (CPU affinity, e.g. under taskset or a container quota), not the host's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity API
        return os.cpu_count() or 1


def _on_sigterm(signum, frame) -> None:
    _SIGNALLED.append(signum)
    # The group's signal kills the DataLoader workers too, and PyTorch's SIGCHLD handler would raise "DataLoader
    # worker killed" anywhere in this thread, in the middle of marking the job interrupted or ending an MLflow run:
    # those deaths are part of this stop, not news. Lightning puts the handler back when its fit ends (it restores
    # every handler it found), so the check the handler calls is made a no-op as well, for the rest of this process.
    if hasattr(signal, "SIGCHLD"):
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    loader_signals = sys.modules.get("torch.utils.data._utils.signal_handling")
    if loader_signals is not None:
        loader_signals._error_if_any_worker_fails = lambda: None
    raise Terminated(f"stopped by {signal.Signals(signum).name}")


def handle_sigterm() -> None:
    """SIGTERM raises Terminated in the main thread; left alone where another handler is set already (the app and
    `label watch` have their own) or off the main thread (Python allows handlers only there)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


def stop_requested() -> bool:
    """True once this process got a stop signal: an error raised after it (a DataLoader worker killed by the same
    signal) is part of the interruption, not a failure of the job."""
    return bool(_SIGNALLED)


def is_interruption(exc: BaseException) -> bool:
    return isinstance(exc, KeyboardInterrupt) or stop_requested()


class SetupError(ValueError):
    """Bad process-level input (threads, an unwritable folder): one `error:` line, exit 2 (benchmarks/cli.py)."""

    user_error = True


def check_threads(value, where: str = "--threads") -> int:
    """A thread count >= 1 (OMP_NUM_THREADS=-3 is invalid; 0 would silently mean 'all cores')."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = None
    if n is None or n < 1 or str(value).strip() not in (str(n), f"+{n}"):
        raise SetupError(
            f"{where} = {value!r}: the number of CPU threads must be a whole number >= 1 (this machine has "
            f"{available_cpus()} available); leave it out to use all of them"
        )
    return n


def check_writable(folder: str | Path, what: str, fix: str = "") -> Path:
    """Raise SetupError unless `folder` (or, when it does not exist yet, the nearest existing folder above it, where
    it would be created) is a writable directory. Checked before any work, so nothing half-written is left."""
    folder = Path(folder).expanduser().absolute()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    problem = None
    if not probe.is_dir():
        problem = f"{probe} is not a folder"
    elif not os.access(probe, os.W_OK | os.X_OK):
        problem = "it is read-only" if probe == folder else f"it would be created in {probe}, which is read-only"
    if problem:
        raise SetupError(f"{what} {folder} is not writable: {problem}; {fix or 'fix its permissions'}")
    return folder


def setup(threads: int | None = None, cache_dir: Path | None = None) -> dict:
    """Apply the offline environment and set threads; returns {'cache_dir', 'threads'}. Idempotent."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MPLCONFIGDIR", str(cache / "matplotlib"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    ultralytics_env(cache)
    if threads is not None:
        n = check_threads(threads)
    elif os.environ.get("CLSDET_THREADS"):
        n = check_threads(os.environ["CLSDET_THREADS"], "$CLSDET_THREADS")
    else:
        n = available_cpus()
    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ.setdefault("MKL_NUM_THREADS", str(n))
    # torch reads OMP_NUM_THREADS when it initialises; once it is imported, only set_num_threads changes it.
    # Not importing it here keeps light commands (label summary, data inspect) fast.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    handle_sigterm()
    _STATE.update(cache_dir=str(cache), threads=n)
    return dict(_STATE)


def state() -> dict:
    return dict(_STATE) if _STATE else setup()
