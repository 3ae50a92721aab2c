"""Detector models by name (timm-style registry) and where their starting weights come from.

A name maps to an Ultralytics model yaml (`yolo11n` -> `yolo11n.yaml`, which Ultralytics resolves to
`cfg/models/11/yolo11.yaml` at scale n). Whether the installed Ultralytics ships that yaml is checked on disk,
without importing it (importing ultralytics costs seconds and the config is validated at CLI start-up).
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

# name -> (yaml file Ultralytics resolves, the release that introduced it, for the "upgrade" hint)
MODELS: dict[str, tuple[str, str]] = {
    "yolov8n": ("yolov8n.yaml", "8.0"),
    "yolov8s": ("yolov8s.yaml", "8.0"),
    "yolov8m": ("yolov8m.yaml", "8.0"),
    "yolo11n": ("yolo11n.yaml", "8.3.0"),
    "yolo11s": ("yolo11s.yaml", "8.3.0"),
    "yolo11m": ("yolo11m.yaml", "8.3.0"),
    "yolo26n": ("yolo26n.yaml", "8.4.0"),
    "yolo26s": ("yolo26s.yaml", "8.4.0"),
}


class ModelNameError(ValueError):
    user_error = True


class WeightsMissingError(FileNotFoundError):
    user_error = True


def _ultralytics_cfg_dir() -> Path | None:
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "cfg" / "models"


def _installed_yaml(yaml_name: str) -> Path | None:
    """The family yaml the installed Ultralytics would load for `yaml_name` (its rule: drop the scale letter)."""
    cfg = _ultralytics_cfg_dir()
    if cfg is None:
        return None
    unified = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", Path(yaml_name).stem) + ".yaml"
    hits = sorted(cfg.rglob(unified))
    return hits[0] if hits else None


def list_models(installed_only: bool = False) -> list[str]:
    """Registered model names; with installed_only, those the installed Ultralytics can build."""
    names = sorted(MODELS)
    return [n for n in names if _installed_yaml(MODELS[n][0])] if installed_only else names


def _ultralytics_version() -> str:
    try:
        from importlib.metadata import version

        return version("ultralytics")
    except Exception:  # noqa: BLE001 - not installed: the message says so
        return "not installed"


def check_model_name(name: str) -> str:
    """The model yaml for a registered name; an unknown or not-installed name is an error listing valid names."""
    if name not in MODELS:
        raise ModelNameError(
            f"detector config: model={name!r} is not a registered detector; allowed: {', '.join(list_models())}"
        )
    yaml_name, since = MODELS[name]
    if _installed_yaml(yaml_name) is None:
        raise ModelNameError(
            f"detector config: model={name!r} ({yaml_name}) is not in the installed ultralytics "
            f"({_ultralytics_version()}); it needs ultralytics>={since}. Installed models: "
            f"{', '.join(list_models(installed_only=True)) or 'none'}"
        )
    return yaml_name


def weights_cache_dirs() -> list[Path]:
    """Where `weights: pretrained` looks for `<model>.pt`: the project's cache first, then Ultralytics' own
    weights_dir setting (read from its settings file in YOLO_CONFIG_DIR, never created here)."""
    from detector.runtime import default_cache_dir

    dirs = [default_cache_dir() / "weights"]
    cfg_dir = os.environ.get("YOLO_CONFIG_DIR")
    settings = Path(cfg_dir) / "Ultralytics" / "settings.json" if cfg_dir else None
    if settings is not None and settings.is_file():
        import json

        try:
            wd = json.loads(settings.read_text()).get("weights_dir")
        except (OSError, ValueError):
            wd = None
        if wd and Path(wd).is_absolute():
            dirs.append(Path(wd))
    return dirs


def resolve_source(model: str, weights: str) -> tuple[str, str]:
    """(what to hand YOLO(), how it starts): the yaml for 'none' (from scratch), a .pt file otherwise (pretrained).
    Nothing downloads: a missing file is an error naming it and where to put it."""
    yaml_name = check_model_name(model)
    if weights == "none":
        return yaml_name, "scratch"
    if weights == "pretrained":
        fname = f"{model}.pt"
        dirs = weights_cache_dirs()
        for d in dirs:
            if (d / fname).is_file():
                return str(d / fname), "pretrained"
        raise WeightsMissingError(
            f"detector config: weights='pretrained' needs {fname}, which is not in the weights cache "
            f"({' or '.join(str(d) for d in dirs)}) and nothing is downloaded (offline). Download it on a machine "
            f"with internet (Ultralytics' assets: https://github.com/ultralytics/assets/releases), put it at "
            f"{dirs[0] / fname}, or set weights: /path/to/{fname}; or train from scratch with weights: none"
        )
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsMissingError(
            f"detector config: weights={weights!r}: file {path.resolve()} does not exist; give the path of an "
            f"Ultralytics checkpoint (.pt), put {model}.pt in {weights_cache_dirs()[0]} and use weights: pretrained, "
            "or train from scratch with weights: none"
        )
    return str(path.resolve()), "pretrained"
