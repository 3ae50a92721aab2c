"""The detector's one entry to Ultralytics: `detector.runtime.import_ultralytics()`, tolerant of settings keys the
installed version lacks (8.4.190 has no 'hub' or 'neptune' setting, so `settings.update` raises KeyError there
after ultralytics is already imported with the offline environment). Remove once runtime.py filters the keys."""

from __future__ import annotations

import os

OFF = ("sync", "mlflow", "wandb", "tensorboard", "clearml", "comet", "dvc", "hub", "neptune", "raytune")


def ultralytics():
    from detector.runtime import import_ultralytics

    threads = os.environ.get("OMP_NUM_THREADS")
    try:
        return import_ultralytics()
    except KeyError:
        import ultralytics
        from ultralytics import settings

        settings.update({k: False for k in OFF if k in settings})
        if threads is None and os.environ.get("OMP_NUM_THREADS") == "1":
            os.environ.pop("OMP_NUM_THREADS", None)
        return ultralytics
