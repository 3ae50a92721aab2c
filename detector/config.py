"""The detector's one typed config, validated once at construction (a bad value fails here, not mid-run)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda", "mps")  # and cuda:N, one CUDA device by its index (torch's spelling)
WEIGHTS_KEYWORDS = ("none", "pretrained")


class ConfigError(ValueError):
    """A bad detector config value: names the key, the value, what is allowed and the fix."""

    user_error = True


def _bad(key: str, value, allowed: str) -> ConfigError:
    return ConfigError(f"detector config: {key}={value!r} is not valid; allowed: {allowed}")


def _int_at_least(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


@dataclass
class DetectorConfig:
    model: str = "yolo11n"  # a name from detector.models.list_models()
    weights: str = "none"  # none (model yaml, from scratch) | pretrained (Ultralytics weights cache) | /path/model.pt
    epochs: int = 40
    imgsz: int = 160
    batch: int = 16
    device: str = "auto"  # auto|cpu|cuda|cuda:N|mps
    workers: int | None = None  # dataloader workers; None -> chosen for the machine (detector.hardware), recorded
    seed: int = 0
    patience: int = 100  # Ultralytics' early stopping on val fitness (its default, 100)
    # Scores are the highest confidence per class; a low floor keeps weak detections so that the score ranks
    # images (AP) instead of being cut at the 0.25 display default. 0.001 is Ultralytics' own val conf.
    conf_floor: float = 0.001
    iou: float = 0.7  # NMS IoU (Ultralytics' default for val/predict)
    # Ultralytics turns mosaic off for the last `close_mosaic` epochs (its default 10): training then sees whole
    # images as the val/test split does, which is what lifts mAP at the end of a short run.
    close_mosaic: int = 10
    extra: dict = field(default_factory=dict)  # passed through to model.train(**extra), e.g. {"lr0": 0.02}

    def __post_init__(self) -> None:
        from detector.models import check_model_name

        check_model_name(self.model)
        if not isinstance(self.weights, str) or not self.weights:
            raise _bad("weights", self.weights, "none | pretrained | a path to an Ultralytics .pt file")
        if self.weights not in WEIGHTS_KEYWORDS and not self.weights.endswith(".pt"):
            raise _bad("weights", self.weights, "none | pretrained | a path ending in .pt (an Ultralytics checkpoint)")
        for key in ("epochs", "imgsz", "batch"):
            if not _int_at_least(getattr(self, key), 1):
                raise _bad(key, getattr(self, key), "an integer >= 1")
        if self.imgsz < 32:
            raise _bad("imgsz", self.imgsz, "an integer >= 32 (YOLO's largest stride is 32)")
        if self.device not in DEVICES and not re.fullmatch(r"cuda:\d+", str(self.device)):
            raise _bad("device", self.device, " | ".join(DEVICES) + " | cuda:N (a CUDA device's index, e.g. cuda:1)")
        if self.workers is not None and not _int_at_least(self.workers, 0):
            raise _bad("workers", self.workers, "null (choose for the machine) or an integer >= 0")
        if not _int_at_least(self.seed, 0) or self.seed > 2**32 - 1:  # Ultralytics seeds numpy: 0 .. 2**32 - 1
            raise _bad("seed", self.seed, "an integer from 0 to 2**32 - 1 (4294967295)")
        if not _int_at_least(self.patience, 1):
            raise _bad("patience", self.patience, "an integer >= 1")
        if not _int_at_least(self.close_mosaic, 0):
            raise _bad("close_mosaic", self.close_mosaic, "an integer >= 0 (0 keeps mosaic on to the end)")
        if not (isinstance(self.conf_floor, int | float) and 0.0 <= self.conf_floor < 1.0):
            raise _bad("conf_floor", self.conf_floor, "a number in [0, 1)")
        if not (isinstance(self.iou, int | float) and 0.0 < self.iou <= 1.0):
            raise _bad("iou", self.iou, "a number in (0, 1]")
        if not isinstance(self.extra, dict):
            raise _bad("extra", self.extra, "a mapping of Ultralytics train arguments, e.g. {lr0: 0.02}")
        owned = sorted(set(self.extra) & OWNED_TRAIN_ARGS)
        if owned:
            raise ConfigError(
                f"detector config: extra holds {owned}, which the detector sets itself; "
                f"use the config keys instead (or leave them out): {sorted(OWNED_TRAIN_ARGS)}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DetectorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"detector config: unknown key(s) {unknown}; allowed keys: {sorted(known)}")
        return cls(**data)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


# train() arguments the detector decides (paths, run folder, offline/side-effect switches) or maps from config keys
OWNED_TRAIN_ARGS = frozenset(
    {"data", "model", "project", "name", "exist_ok", "epochs", "imgsz", "batch", "device", "workers", "seed"}
    | {"patience", "close_mosaic", "resume", "pretrained"}
)
