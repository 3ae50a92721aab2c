"""The classifier's one typed config, validated once at construction (a bad value fails here, not mid-run)."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path

MODES = ("frozen", "finetune", "scratch")
DEVICES = ("auto", "cpu", "cuda", "mps")  # and cuda:N, one CUDA device by its index (torch's spelling)
# Lightning's precision flags; "auto" resolves per device in classifier.hardware.resolve_precision
PRECISIONS = ("auto", "32-true", "16-mixed", "bf16-mixed")


class ConfigError(ValueError):
    """A bad classifier config value: names the key, the value, what is allowed and the fix."""

    user_error = True


def _bad(key: str, value, allowed: str) -> ConfigError:
    return ConfigError(f"classifier config: {key}={value!r} is not valid; allowed: {allowed}")


@dataclass
class ClassifierConfig:
    backbone: str = "resnet18"
    mode: str = "scratch"  # frozen | finetune | scratch
    weights: str = "none"  # none | imagenet | /path/to/state_dict.pt
    epochs: int = 20
    imgsz: int = 160
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    pos_weight: bool = True
    patience: int = 10  # early stopping on val macro AP
    device: str = "auto"  # auto|cpu|cuda|cuda:N|mps
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "auto"  # auto -> bf16 on CUDA when supported, else fp16+scaler; fp16 autocast on MPS; fp32 on CPU
    workers: int | None = None  # None -> chosen for the machine (classifier.hardware.choose_workers), recorded
    seed: int = 0
    # Multi-label: a crop that drops an object makes its positive label wrong, so the random crop keeps at least
    # this share of the image (torchvision's single-label default is 0.08).
    min_crop_scale: float = 0.35
    # Eval: resize the short side to imgsz / eval_crop_ratio, centre-crop imgsz. 0.875 is torchvision's ImageNet
    # recipe (256 -> 224) for centred single objects; 1.0 keeps objects near the edges, as multi-label needs.
    eval_crop_ratio: float = 1.0
    # Lightning's best/last checkpoints (weights + optimizer state, ~2x the weights each) are deleted once
    # weights.pt is written; true keeps them (e.g. to resume with more epochs). Not part of the model's identity.
    keep_checkpoints: bool = False

    def __post_init__(self) -> None:
        from classifier.backbones import BackboneError, check_backbone, check_input_size, default_weights

        try:
            check_backbone(self.backbone)
        except BackboneError as exc:
            raise ConfigError(f"classifier config: backbone={self.backbone!r}: {exc}") from exc
        if self.mode not in MODES:
            raise _bad("mode", self.mode, " | ".join(MODES))
        if not isinstance(self.weights, str) or not self.weights:
            raise _bad("weights", self.weights, "none | imagenet | a path to a state dict (.pt)")
        if self.mode == "finetune" and self.weights == "none":
            raise ConfigError(
                f"classifier config: mode={self.mode!r} needs pretrained weights but weights='none'; "
                "set weights='imagenet' (or a path to a state dict), or use mode='scratch'"
            )
        if self.mode == "frozen" and self.weights == "none":
            # allowed: a linear probe on random features is a floor baseline, and the CPU demo's frozen candidate
            warnings.warn(
                f"classifier config: mode='frozen' with weights='none' trains only the head of a randomly "
                f"initialised {self.backbone} (a random-feature baseline); set weights='imagenet' for the real "
                "frozen-feature study",
                UserWarning,
                stacklevel=2,
            )
        if self.weights == "imagenet" and default_weights(self.backbone) is None:
            raise _bad("weights", self.weights, f"none or a state dict path ({self.backbone} has no ImageNet weights)")
        if self.mode == "scratch" and self.weights != "none":
            raise ConfigError(
                f"classifier config: mode='scratch' trains from random init but weights={self.weights!r}; "
                "use mode='finetune' (all layers) or 'frozen' (head only) to start from weights, or weights='none'"
            )
        if self.weights not in ("none", "imagenet") and not Path(self.weights).expanduser().is_file():
            raise ConfigError(
                f"classifier config: weights={self.weights!r} is neither 'none', 'imagenet' nor an existing file; "
                "give the path of a saved state dict (torch.save(model.state_dict(), path))"
            )
        for key in ("epochs", "imgsz", "batch"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise _bad(key, value, "an integer >= 1")
        if self.imgsz < 32:
            raise _bad("imgsz", self.imgsz, "an integer >= 32 (the backbones downsample by 32)")
        size_problem = check_input_size(self.backbone, self.imgsz, pretrained=self.weights == "imagenet")
        if size_problem:
            raise ConfigError(f"classifier config: imgsz={self.imgsz!r} is not valid: {size_problem}")
        for key in ("lr",):
            if not (isinstance(self.lr, int | float) and self.lr > 0):
                raise _bad(key, self.lr, "a number > 0")
        for key in ("weight_decay", "warmup_epochs"):
            value = getattr(self, key)
            if not (isinstance(value, int | float) and value >= 0):
                raise _bad(key, value, "a number >= 0")
        if not isinstance(self.patience, int) or self.patience < 1:
            raise _bad("patience", self.patience, "an integer >= 1")
        if self.device not in DEVICES and not re.fullmatch(r"cuda:\d+", str(self.device)):
            raise _bad("device", self.device, " | ".join(DEVICES) + " | cuda:N (a CUDA device's index, e.g. cuda:1)")
        if self.precision not in PRECISIONS:
            raise _bad("precision", self.precision, " | ".join(PRECISIONS))
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 0):
            raise _bad("workers", self.workers, "null (choose for the machine) or an integer >= 0")
        if not (0.0 < self.min_crop_scale <= 1.0):
            raise _bad("min_crop_scale", self.min_crop_scale, "a number in (0, 1]")
        if not (0.0 < self.eval_crop_ratio <= 1.0):
            raise _bad("eval_crop_ratio", self.eval_crop_ratio, "a number in (0, 1]")
        # Lightning's seed_everything (and numpy) take 0 .. 2**32 - 1; outside it Lightning warns and picks another
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= 2**32 - 1:
            raise _bad("seed", self.seed, "an integer from 0 to 2**32 - 1 (4294967295)")
        if not isinstance(self.keep_checkpoints, bool):
            raise _bad("keep_checkpoints", self.keep_checkpoints, "true | false")
        if isinstance(self.devices, str) and self.devices != "auto" and not self.devices.isdigit():
            raise _bad("devices", self.devices, "an integer >= 1 or 'auto'")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ClassifierConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"classifier config: unknown key(s) {unknown}; allowed keys: {sorted(known)}")
        return cls(**data)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ClassifierConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"classifier config {path}: cannot read ({exc}); re-run training to rewrite it") from exc
        return cls.from_dict(data)
