"""YOLO detector pipeline (Ultralytics): dataset view, training, image-level scores, box mAP.

Public API: DetectorConfig, ViewImage, build_dataset_view, train, load, box_metrics, list_models. Importing this
package stays light (no torch/ultralytics): the heavy modules are imported when a function is called.
"""

from __future__ import annotations

from detector.config import ConfigError, DetectorConfig
from detector.dataset import ViewImage, build_dataset_view
from detector.models import list_models, starting_weights


def train(*args, **kwargs):
    from detector.training import train as _train

    return _train(*args, **kwargs)


CONFIG = DetectorConfig


def fit(train_samples, val_samples, classes, cfg: DetectorConfig, out_dir, *, progress=True, tracking_uri=None,
        mlflow_run_id=None, resume=False):  # fmt: skip
    """The pipeline entry the harness calls (benchmarks/registry/pipelines.py): plain samples -> artifact folder.
    Builds the YOLO dataset view inside out_dir/data (links + label files of our own), then trains. MLflow and resume
    arguments are accepted for the common signature; Ultralytics restarts a finished artifact as a no-op."""
    from pathlib import Path

    def view_images(samples):
        return [
            ViewImage(s["id"], Path(s["path"]), s["width"], s["height"], [tuple(b) for b in s["boxes"]])
            for s in samples
        ]

    out_dir = Path(out_dir)
    splits = {"train": view_images(train_samples), "val": view_images(val_samples)}
    return train(build_dataset_view(out_dir / "data", classes, splits), cfg, out_dir, progress=progress)


def load(artifact_dir, device: str = "cpu"):
    from detector.predictor import load as _load

    return _load(artifact_dir, device=device)


def box_metrics(artifact_or_pred, view_dir, split: str = "test") -> dict:
    """Box mAP of an artifact folder (loaded on the CPU) or a loaded predictor on one split of a dataset view."""
    from detector.metrics import box_metrics as _box_metrics

    pred = artifact_or_pred if hasattr(artifact_or_pred, "artifact_dir") else load(artifact_or_pred, device="cpu")
    return _box_metrics(pred, view_dir, split=split)


def estimate_params(cfg: DetectorConfig) -> int | None:
    """The model's parameter count from Ultralytics' yaml summary (at 80 classes; no model built), or None when the
    yaml has none: the harness's free-space check before training."""
    from detector.models import get_spec

    return get_spec(cfg.model).params


def step_functions(cfg, n_classes: int, batch: int, device: str = "cpu") -> dict:
    """{"train_step", "forward"}: callables of one optimizer step and one forward at the config's input size, which
    the run plan times (detector/steptime.py)."""
    from detector.steptime import step_functions as _step_functions

    return _step_functions(cfg, n_classes, batch, device=device)


__all__ = [
    "CONFIG",
    "ConfigError",
    "DetectorConfig",
    "ViewImage",
    "box_metrics",
    "build_dataset_view",
    "estimate_params",
    "fit",
    "list_models",
    "load",
    "step_functions",
    "starting_weights",
    "train",
]


def model_catalog() -> dict:
    """The models this machine can benchmark with this pipeline (`clsdet models`)."""
    from detector.catalog import model_catalog as _model_catalog

    return _model_catalog()
