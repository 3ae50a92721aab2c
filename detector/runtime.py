"""Offline, side-effect-free environment for Ultralytics; must run before `import ultralytics`.

Ultralytics reads its settings directory, offline flag and auto-install flag from the environment at import
time, downloads Arial.ttf on every train/val unless it is already in its config dir, and sets
OMP_NUM_THREADS=1 when unset. `ultralytics_env` fixes all of that in one place; `import_ultralytics` is the
only way the detector imports the library.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def default_cache_dir() -> Path:
    """The project's ignored cache folder (`<repo>/.cache`), or $CLSDET_CACHE_DIR."""
    env = os.environ.get("CLSDET_CACHE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[1] / ".cache"


def ultralytics_env(cache_dir: Path | None = None) -> Path:
    """Set the environment Ultralytics reads at import; return its config dir. Idempotent."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    cfg_dir = cache_dir / "ultralytics"
    (cfg_dir / "Ultralytics").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(cfg_dir))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_VERBOSE", "false")
    # Ultralytics fetches Arial.ttf for its plots on every train/val; DejaVuSans ships with matplotlib.
    font = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        import matplotlib

        src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, font)
    return Path(os.environ["YOLO_CONFIG_DIR"])


def import_ultralytics(cache_dir: Path | None = None):
    """Import ultralytics with the offline environment applied and its global side effects switched off."""
    ultralytics_env(cache_dir)
    threads = os.environ.get("OMP_NUM_THREADS")
    import ultralytics
    from ultralytics import settings

    # its own MLflow/W&B callbacks would log into whatever tracking store is global; our logging is ours
    # keys differ between releases (8.4 has no "hub"); settings.update refuses unknown ones
    wanted = {
        "sync": False,
        "mlflow": False,
        "wandb": False,
        "tensorboard": False,
        "clearml": False,
        "comet": False,
        "dvc": False,
        "hub": False,
        "neptune": False,
        "raytune": False,
    }
    settings.update({k: v for k, v in wanted.items() if k in settings})
    if threads is None and os.environ.get("OMP_NUM_THREADS") == "1":
        # ultralytics set OMP_NUM_THREADS=1 on import; torch threads are set explicitly by the runtime instead
        os.environ.pop("OMP_NUM_THREADS", None)
    return ultralytics
