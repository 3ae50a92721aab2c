"""The one place that makes the process offline-safe and reproducible; every entry point calls `setup()`.

What it does, before MLflow or Ultralytics are imported:
- MLflow telemetry off; Ultralytics config dir inside the project's ignored cache folder, offline, no
  auto-install, its font pre-seeded (see detector/runtime.py);
- matplotlib's cache inside the cache folder, headless backend;
- torch intra-op threads set explicitly (default: all cores this process may use) and returned, so records
  can carry them.
Nothing is written to ~/.config, the current directory or a user's data folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmarks.measure.devices import available_cpus
from detector.runtime import default_cache_dir, ultralytics_env

_STATE: dict = {}


def setup(threads: int | None = None, cache_dir: Path | None = None) -> dict:
    """Apply the offline environment and set threads; returns {'cache_dir', 'threads'}. Idempotent."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MPLCONFIGDIR", str(cache / "matplotlib"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    ultralytics_env(cache)
    n = int(threads or os.environ.get("CLSDET_THREADS") or available_cpus())
    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ.setdefault("MKL_NUM_THREADS", str(n))
    # torch reads OMP_NUM_THREADS when it initialises; once it is imported, only set_num_threads changes it.
    # Not importing it here keeps light commands (label summary, data inspect) fast.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    _STATE.update(cache_dir=str(cache), threads=n)
    return dict(_STATE)


def state() -> dict:
    return dict(_STATE) if _STATE else setup()
