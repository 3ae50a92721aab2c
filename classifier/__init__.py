"""Multi-label image classifier: Lightning + torchvision backbones.

Public API: ClassifierConfig, train, load, list_backbones, tune_thresholds. Importing this package stays light
(no torch/lightning): `train` and `load` import the heavy modules when called.
"""

from __future__ import annotations

from classifier.backbones import list_backbones
from classifier.config import ClassifierConfig, ConfigError


def train(*args, **kwargs):
    from classifier.training import train as _train

    return _train(*args, **kwargs)


def load(artifact_dir, device: str = "cpu"):
    from classifier.predictor import load as _load

    return _load(artifact_dir, device=device)


def tune_thresholds(scores, targets):
    from classifier.thresholds import tune_thresholds as _tune

    return _tune(scores, targets)


__all__ = ["ClassifierConfig", "ConfigError", "list_backbones", "load", "train", "tune_thresholds"]
