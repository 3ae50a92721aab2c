"""Backbone registry (by name) and the network factory: a torchvision builder with a C-output head.

Only names and head locations live at module level, so importing this (e.g. for `list_backbones()` or config
validation) does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BackboneSpec:
    builder: str  # torchvision.models.<builder>
    head: str  # dotted path of the final nn.Linear that gets replaced by a C-output one


BACKBONES: dict[str, BackboneSpec] = {
    "resnet18": BackboneSpec("resnet18", "fc"),
    "resnet34": BackboneSpec("resnet34", "fc"),
    "resnet50": BackboneSpec("resnet50", "fc"),
    "mobilenet_v3_small": BackboneSpec("mobilenet_v3_small", "classifier.3"),
    "mobilenet_v3_large": BackboneSpec("mobilenet_v3_large", "classifier.3"),
    "efficientnet_b0": BackboneSpec("efficientnet_b0", "classifier.1"),
    "convnext_tiny": BackboneSpec("convnext_tiny", "classifier.2"),
}

# torchvision's ImageNet normalisation (the `transforms` of every IMAGENET1K weight enum used above)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BackboneError(ValueError):
    user_error = True


class WeightsError(RuntimeError):
    """Pretrained weights cannot be had: names the file and the folder to put it in."""

    user_error = True


def list_backbones() -> list[str]:
    return sorted(BACKBONES)


def spec(name: str) -> BackboneSpec:
    if name not in BACKBONES:
        raise BackboneError(f"unknown backbone {name!r}; valid names: {', '.join(list_backbones())}")
    return BACKBONES[name]


def imagenet_weights_file(name: str) -> tuple[str, Path]:
    """(file name, cache folder) torchvision uses for `name`'s default ImageNet weights: $TORCH_HOME/hub/checkpoints."""
    import torch
    from torchvision.models import get_model_weights

    url = get_model_weights(spec(name).builder).DEFAULT.url
    return url.rsplit("/", 1)[-1], Path(torch.hub.get_dir()) / "checkpoints"


def load_imagenet_state_dict(name: str) -> dict:
    """torchvision's own default weights through its cache; offline and uncached -> WeightsError with the fix."""
    import torch
    from torchvision.models import get_model_weights

    weights = get_model_weights(spec(name).builder).DEFAULT
    file_name, folder = imagenet_weights_file(name)
    cached = folder / file_name
    if not cached.is_file():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(weights.url, str(cached), progress=False)
        except Exception as exc:  # URLError, HTTPError, timeouts, a read-only cache: all mean "fetch it by hand"
            cached.unlink(missing_ok=True)
            raise WeightsError(
                f"ImageNet weights for {name} ({weights}) are not cached and cannot be downloaded ({exc}). "
                f"Download {weights.url} on a machine with internet and put it at {cached} "
                f"(file name {file_name} in folder {folder}; the folder is $TORCH_HOME/hub/checkpoints), "
                "or use weights='none' with mode='scratch'"
            ) from exc
    try:
        return torch.load(cached, map_location="cpu", weights_only=True)
    except Exception as exc:  # a download cut short by an earlier run, or a damaged cache
        raise WeightsError(
            f"cached ImageNet weights {cached} cannot be read ({type(exc).__name__}); the file is damaged or "
            f"incomplete: delete it and run again (it is downloaded again), or put a good copy of {weights.url} there"
        ) from None


def read_state_dict(path: str | Path) -> dict:
    """A state dict from a file: a plain one, a Lightning checkpoint ('state_dict', keys 'net.'), or ours."""
    import torch

    try:
        obj = torch.load(Path(path).expanduser(), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"weights file {path}: cannot load a state dict ({exc}); save one with torch.save") from exc
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = {k.removeprefix("net."): v for k, v in obj["state_dict"].items()}
    if not isinstance(obj, dict):
        raise WeightsError(f"weights file {path}: holds a {type(obj).__name__}, not a state dict")
    # our own networks nest the torchvision model under "model."
    return {k.removeprefix("model."): v for k, v in obj.items()}
