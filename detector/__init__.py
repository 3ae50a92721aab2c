"""YOLO detector pipeline (Ultralytics): dataset view, training, image-level scores, box mAP.

Public API: DetectorConfig, ViewImage, build_dataset_view, train, load, box_metrics, list_models. Importing this
package stays light (no torch/ultralytics): the heavy modules are imported when a function is called.
"""

from __future__ import annotations

from detector.config import ConfigError, DetectorConfig
from detector.dataset import ViewImage, build_dataset_view
from detector.models import list_models


def train(*args, **kwargs):
    from detector.training import train as _train

    return _train(*args, **kwargs)


def load(artifact_dir, device: str = "cpu"):
    from detector.predictor import load as _load

    return _load(artifact_dir, device=device)


def box_metrics(artifact_or_pred, view_dir, split: str = "test") -> dict:
    from detector.metrics import box_metrics as _box_metrics

    return _box_metrics(artifact_or_pred, view_dir, split=split)


__all__ = [
    "ConfigError",
    "DetectorConfig",
    "ViewImage",
    "box_metrics",
    "build_dataset_view",
    "list_models",
    "load",
    "train",
]
