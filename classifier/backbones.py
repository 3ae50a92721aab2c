"""Backbones by name: torchvision's own classification registry, its weights metadata and the ImageNet weights file.

Every name in `torchvision.models.list_models(module=torchvision.models)` is a backbone (resnet, vgg, inception,
densenet, mobilenet, efficientnet, regnet, convnext, vit, swin, maxvit, ...). Importing this module stays light;
the functions import torchvision when called (config validation, `clsdet models`, building a network).

Input-size rules (`check_input_size`), from torchvision's weights metadata (`meta["min_size"]`):
- most families: imgsz >= the declared minimum (e.g. inception_v3 75, densenet 29, swin 224, swin_v2 256);
- ViT has a fixed input size: with ImageNet weights exactly the weights' size (224; vit_h_14 518), from random
  init any multiple of the patch size (the network is built for that size);
- MaxViT's window partitions need imgsz a multiple of 224 (its pretrained weights: exactly 224).
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from pathlib import Path

# torchvision's ImageNet normalisation (the `transforms` of every IMAGENET1K weight enum)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_CLASSES = 1000  # the head every registry model is built with; the one replaced by a C-output head


class BackboneError(ValueError):
    user_error = True


class WeightsError(RuntimeError):
    """Pretrained weights cannot be had: names the file and the folder to put it in."""

    user_error = True


@cache
def list_backbones() -> list[str]:
    """Every torchvision classification model name (the registry of the installed torchvision)."""
    import torchvision.models as tvm

    return sorted(tvm.list_models(module=tvm))


def family(name: str) -> str:
    """The family a name belongs to: its leading letters (resnet18 -> resnet, vit_b_16 -> vit, swin_v2_t -> swin),
    except the variants whose name does not start with the family's (wide_resnet50_2/resnext -> resnet)."""
    if name.startswith(("wide_resnet", "resnext")):
        return "resnet"
    return re.match(r"[a-z]+", name).group(0)


def check_backbone(name: str) -> str:
    names = list_backbones()
    if name not in names:
        close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise BackboneError(
            f"unknown backbone {name!r}; {hint}valid names (torchvision's classification models, "
            f"`clsdet models --pipeline classifier`): {', '.join(names)}"
        )
    return name


def default_weights(name: str):
    """torchvision's DEFAULT weights enum member for `name`, or None when it has none."""
    from torchvision.models import get_model_weights

    try:
        return get_model_weights(check_backbone(name)).DEFAULT
    except (AttributeError, KeyError, ValueError):
        return None


def info(name: str) -> dict:
    """What `clsdet models` shows: params and default input size from the weights metadata (no model built)."""
    w = default_weights(name)
    if w is None:
        return {"name": name, "family": family(name), "params": None, "input_size": None, "min_size": None,
                "input_rule": input_rule(name), "imagenet_weights": None, "cached": False}  # fmt: skip
    file_name, folder = imagenet_weights_file(name)
    return {
        "name": name,
        "family": family(name),
        "params": w.meta.get("num_params"),
        "input_size": _crop_size(w),
        "min_size": w.meta.get("min_size", (1, 1))[0],
        "input_rule": input_rule(name),
        "imagenet_weights": file_name,
        "cached": (folder / file_name).is_file(),
    }


def _crop_size(w) -> int | None:
    size = getattr(w.transforms, "keywords", {}).get("crop_size")
    return int(size[0] if isinstance(size, list | tuple) else size) if size else None


def input_rule(name: str) -> str:
    """`check_input_size`'s rule in words (for `clsdet models`)."""
    w = default_weights(name)
    min_size = w.meta.get("min_size", (1, 1))[0] if w is not None else 1
    fam = family(name)
    if fam == "vit":
        return f"={min_size} (imagenet), else k*{name.rsplit('_', 1)[-1]}"
    if fam == "maxvit":
        return "k*224"
    return f">={max(32, min_size)}"


def check_input_size(name: str, imgsz: int, pretrained: bool) -> str | None:
    """None when `name` accepts imgsz x imgsz inputs, else the reason and the fix (the config turns it into an
    error naming the key)."""
    w = default_weights(name)
    min_size = w.meta.get("min_size", (1, 1))[0] if w is not None else 1
    fam = family(name)
    if fam == "vit":
        patch = int(name.rsplit("_", 1)[-1])
        if pretrained and imgsz != min_size:
            return f"{name} with ImageNet weights has a fixed input size: imgsz must be {min_size}"
        if imgsz % patch:
            return f"{name} cuts the image into {patch} px patches: imgsz must be a multiple of {patch}"
        return None
    if fam == "maxvit":
        if pretrained and imgsz != min_size:
            return f"{name} with ImageNet weights has a fixed input size: imgsz must be {min_size}"
        if imgsz % 224:
            return f"{name}'s 7x7 window partitions need imgsz a multiple of 224 (e.g. 224)"
        return None
    if imgsz < min_size:
        return f"{name} needs inputs of at least {min_size} px (torchvision's min_size): set imgsz >= {min_size}"
    return None


def build_kwargs(name: str, imgsz: int | None, pretrained: bool = False) -> dict:
    """Constructor arguments beyond torchvision's defaults.

    Inception v3 / GoogLeNet: the auxiliary heads are off (`aux_logits=False`): the loss is on the main output
    only, so every mode and the predictor see one tensor of logits (the aux head is an ImageNet-training
    regulariser; its pretrained weights are dropped). `transform_input=True` always, as the pretrained builder
    sets it, so a trained artifact rebuilt without weights computes the same function.
    ViT / MaxViT: built for imgsz (None -> the default size)."""
    fam = family(name)
    if fam in ("inception", "googlenet"):
        kw = {"aux_logits": False, "transform_input": True}
        return kw if pretrained else kw | {"init_weights": True}
    if fam == "vit" and imgsz:
        return {"image_size": imgsz}
    if fam == "maxvit" and imgsz:
        return {"input_size": (imgsz, imgsz)}
    return {}


def imagenet_weights_file(name: str) -> tuple[str, Path]:
    """(file name, cache folder) torchvision uses for `name`'s default ImageNet weights: $TORCH_HOME/hub/checkpoints."""
    import torch

    w = default_weights(name)
    if w is None:
        raise WeightsError(f"backbone {name!r} has no ImageNet weights in torchvision; use weights='none'")
    return w.url.rsplit("/", 1)[-1], Path(torch.hub.get_dir()) / "checkpoints"


def ensure_imagenet_file(name: str) -> Path:
    """The cached ImageNet weights file (downloaded once when online); offline and uncached -> WeightsError with
    the exact file and folder."""
    import torch

    w = default_weights(name)
    file_name, folder = imagenet_weights_file(name)
    cached = folder / file_name
    if not cached.is_file():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(w.url, str(cached), progress=False)
        except Exception as exc:  # URLError, HTTPError, timeouts, a read-only cache: all mean "fetch it by hand"
            cached.unlink(missing_ok=True)
            raise WeightsError(
                f"ImageNet weights for {name} ({w}) are not cached and cannot be downloaded ({exc}). "
                f"Download {w.url} on a machine with internet and put it at {cached} "
                f"(file name {file_name} in folder {folder}; the folder is $TORCH_HOME/hub/checkpoints), "
                "or use weights='none' with mode='scratch'"
            ) from exc
    return cached


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


def starting_weights(cfg: dict) -> dict:
    """How a classifier config starts ({scratch, set, file, folder, url}): scratch when it starts from random init
    (weights 'none'); `set` lists the config changes that starts from ImageNet weights instead, and file/folder where
    torchvision reads them offline ($TORCH_HOME/hub/checkpoints; None when the backbone has none)."""
    name, weights = cfg.get("backbone", "resnet18"), cfg.get("weights", "none")
    out = {"scratch": weights == "none", "set": ["mode: finetune", "weights: imagenet"], "file": None, "folder": None,
           "url": None}  # fmt: skip
    try:
        w = default_weights(name)
        if w is not None:
            file_name, folder = imagenet_weights_file(name)
            out.update({"file": file_name, "folder": str(folder), "url": w.url,
                        "folder_rule": "$TORCH_HOME/hub/checkpoints of the machine that trains"})  # fmt: skip
    except (BackboneError, ImportError, ValueError) as exc:  # an unknown name in an old record: say so, no path
        out["error"] = str(exc)
    return out
