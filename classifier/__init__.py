"""Multi-label image classifier: Lightning + torchvision backbones.

Public API: CONFIG (ClassifierConfig), fit, train, load, list_backbones. Importing this package stays light
(no torch/lightning): `train` and `load` import the heavy modules when called.
"""

from __future__ import annotations

from classifier.backbones import list_backbones, starting_weights
from classifier.config import ClassifierConfig, ConfigError


def train(*args, **kwargs):
    from classifier.training import train as _train

    return _train(*args, **kwargs)


CONFIG = ClassifierConfig


def fit(train_samples, val_samples, classes, cfg: ClassifierConfig, out_dir, *, progress=True, tracking_uri=None,
        mlflow_run_id=None, resume=False):  # fmt: skip
    """The pipeline entry the harness calls (benchmarks/registry/pipelines.py): plain samples (dicts with `path` and
    `labels`, 1/0/None per class) -> artifact folder. Thresholds are left at 0.5; the harness tunes them on val."""
    import numpy as np

    def targets(samples):
        rows = [[np.nan if v is None else float(v) for v in s["labels"]] for s in samples]
        return np.asarray(rows, dtype=np.float32).reshape(len(samples), len(classes))

    return train(
        [s["path"] for s in train_samples],
        targets(train_samples),
        [s["path"] for s in val_samples],
        targets(val_samples),
        classes,
        cfg,
        out_dir,
        tracking_uri=tracking_uri,
        mlflow_run_id=mlflow_run_id,
        resume=resume,
        progress=progress,
    )


def load(artifact_dir, device: str = "cpu"):
    from classifier.predictor import load as _load

    return _load(artifact_dir, device=device)


def estimate_params(cfg: ClassifierConfig) -> int | None:
    """The backbone's parameter count from torchvision's weights metadata (no model built; the head adds a few per
    class), or None when torchvision does not say: the harness's free-space check before training."""
    from classifier.backbones import info

    return info(cfg.backbone).get("params")


def step_functions(cfg, n_classes: int, batch: int, device: str = "cpu") -> dict:
    """{"train_step", "forward"}: callables of one optimizer step and one forward at the config's input size, which
    the run plan times (classifier/steptime.py)."""
    from classifier.steptime import step_functions as _step_functions

    return _step_functions(cfg, n_classes, batch, device=device)


__all__ = [
    "CONFIG",
    "ClassifierConfig",
    "ConfigError",
    "estimate_params",
    "fit",
    "list_backbones",
    "load",
    "step_functions",
    "starting_weights",
    "train",
]


def model_catalog() -> dict:
    """The models this machine can benchmark with this pipeline (`clsdet models`)."""
    from classifier.catalog import model_catalog as _model_catalog

    return _model_catalog()
