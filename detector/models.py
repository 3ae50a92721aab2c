"""Detector models by name: what the installed Ultralytics ships (its cfg/models/**/*.yaml), and where their starting
weights come from.

A yaml whose last head module is a detection head (Detect, v10Detect) is a model family; a family yaml with
`scales:` gives one name per scale, spelled as Ultralytics resolves it (`yolo11.yaml` -> yolo11n ... yolo11x,
`yolov8-p2.yaml` -> yolov8n-p2 ...); a yaml without (yolov9t, yolov10n, yolov3-tiny) is its own name. YOLOv5 is
spelled with its anchor-free `u` (yolov5nu, Ultralytics' weight names; the yaml is yolov5n.yaml). RT-DETR yamls
build (see `all_detection_yamls`) but are not benchmarkable: the detector pipeline trains with `YOLO()` and
scores with YOLO's NMS post-processing, which RT-DETR's decoder does not fit; they are listed as unsupported.

Everything here reads yaml files on disk without importing ultralytics (seconds) or torch: the config is
validated at CLI start-up.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DETECT_HEADS = ("Detect", "v10Detect")  # YOLO heads the pipeline trains, scores and sizes
UNSUPPORTED_HEADS = {"RTDETRDecoder": "RT-DETR: trained with RTDETR(), its decoder output is not YOLO's (NMS)"}
# other heads (Segment, Pose, OBB, Classify, WorldDetect, YOLOEDetect, ...) belong to other tasks: not listed


class ModelNameError(ValueError):
    user_error = True


class WeightsMissingError(FileNotFoundError):
    user_error = True


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what a config names: yolo11n, yolov8s-p2, yolov9t, yolov5nu
    yaml_name: str  # what YOLO() is handed (Ultralytics resolves the scale letter to the family yaml)
    family_yaml: Path  # the file shipped by Ultralytics
    scale: str | None
    params: int | None  # from the yaml's `summary:` comment (80 classes) when it has one
    head: str

    @property
    def weights_file(self) -> str:
        return f"{self.name}.pt"

    @property
    def supported(self) -> bool:
        return self.head in DETECT_HEADS


def _ultralytics_cfg_dir() -> Path | None:
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "cfg" / "models"


def _params_by_scale(text: str) -> dict[str | None, int]:
    """{scale: params} from Ultralytics' comments (`n: [...] # summary: 181 layers, 2,624,080 parameters`, or a
    header `# 544 layers, 2128720 parameters` for an unscaled yaml -> key None)."""
    out: dict[str | None, int] = {}
    for line in text.splitlines():
        m = re.search(r"([\d,]+) parameters", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        s = re.match(r"\s+([a-z]):\s*\[", line)
        out.setdefault(s.group(1) if s else None, n)
    return out


def _specs_of(path: Path) -> list[ModelSpec]:
    import yaml

    text = path.read_text()
    doc = yaml.safe_load(text) or {}
    head = (doc.get("head") or [[None, None, None]])[-1][2]
    params = _params_by_scale(text)
    stem = path.stem
    base = re.match(r"^([a-z]+v?\d+)(-.*)?$", stem)  # a family stem: digits not followed by a scale letter
    scales = list(doc.get("scales") or {})
    if not (base and scales):
        return [ModelSpec(stem, path.name, path, None, params.get(None), head)]
    out = []
    for s in scales:
        yaml_name = f"{base.group(1)}{s}{base.group(2) or ''}.yaml"
        name = yaml_name[:-5]
        if stem == "yolov5":
            name = f"yolov5{s}u"  # Ultralytics' anchor-free v5 weights: yolov5nu.pt
        elif stem == "yolov5-p6":
            name, yaml_name = f"yolov5{s}6u", f"yolov5{s}6.yaml"  # yolov5n6u.pt; yolov5n6 -> yolov5-p6.yaml
        out.append(ModelSpec(name, yaml_name, path, s, params.get(s), head))
    return out


@cache
def all_detection_yamls() -> dict[str, ModelSpec]:
    """Every detection model name the installed Ultralytics ships (supported or not), name -> spec."""
    cfg = _ultralytics_cfg_dir()
    if cfg is None:
        return {}
    specs: dict[str, ModelSpec] = {}
    for path in sorted(cfg.rglob("*.yaml")):
        for spec in _specs_of(path):
            if spec.head in DETECT_HEADS or spec.head in UNSUPPORTED_HEADS:
                specs.setdefault(spec.name, spec)
    return specs


def list_models(installed_only: bool = False, include_unsupported: bool = False) -> list[str]:
    """Model names the installed Ultralytics can build and this pipeline benchmarks (`installed_only` is kept for
    callers of the old hand list: the registry is the installed package, so both are the same)."""
    specs = all_detection_yamls()
    return sorted(n for n, s in specs.items() if s.supported or include_unsupported)


def _ultralytics_version() -> str:
    try:
        from importlib.metadata import version

        return version("ultralytics")
    except Exception:  # noqa: BLE001 - not installed: the message says so
        return "not installed"


def get_spec(name: str) -> ModelSpec:
    specs = all_detection_yamls()
    spec = specs.get(name)
    if spec is None:
        names = list_models()
        close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ModelNameError(
            f"detector config: model={name!r} is not a detection model of the installed ultralytics "
            f"({_ultralytics_version()}); {hint}allowed (`clsdet models --pipeline detector`): "
            f"{', '.join(names) or 'none (is ultralytics installed?)'}"
        )
    if not spec.supported:
        raise ModelNameError(
            f"detector config: model={name!r} is shipped by ultralytics but not supported by this pipeline "
            f"({UNSUPPORTED_HEADS[spec.head]}); use a YOLO model, e.g. yolo11n"
        )
    return spec


def check_model_name(name: str) -> str:
    """The model yaml for a supported name; anything else is an error listing close matches and valid names."""
    return get_spec(name).yaml_name


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


def cached_weights(model: str) -> Path | None:
    """The pretrained `<model>.pt` in the weights cache, or None."""
    fname = get_spec(model).weights_file
    return next((d / fname for d in weights_cache_dirs() if (d / fname).is_file()), None)


def resolve_source(model: str, weights: str) -> tuple[str, str]:
    """(what to hand YOLO(), how it starts): the yaml for 'none' (from scratch), a .pt file otherwise (pretrained).
    Nothing downloads: a missing file is an error naming it and where to put it."""
    spec = get_spec(model)
    if weights == "none":
        return spec.yaml_name, "scratch"
    if weights == "pretrained":
        fname = spec.weights_file
        found = cached_weights(model)
        if found is not None:
            return str(found), "pretrained"
        dirs = weights_cache_dirs()
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
            f"Ultralytics checkpoint (.pt), put {spec.weights_file} in {weights_cache_dirs()[0]} and use weights: "
            "pretrained, or train from scratch with weights: none"
        )
    return str(path.resolve()), "pretrained"


def starting_weights(cfg: dict) -> dict:
    """How a detector config starts ({scratch, set, file, folder}): scratch when built from the model yaml (weights
    'none'); `set` lists the config changes that starts from Ultralytics' pretrained weights, and file/folder where
    `weights: pretrained` reads them (nothing is downloaded; resolve_source)."""
    model = cfg.get("model", "yolo11n")
    out = {"scratch": cfg.get("weights", "none") == "none", "set": ["weights: pretrained"], "file": f"{model}.pt",
           "folder": None, "url": "https://github.com/ultralytics/assets/releases"}  # fmt: skip
    try:
        out.update({"file": get_spec(model).weights_file, "folder": str(weights_cache_dirs()[0]),
                    "folder_rule": "$CLSDET_CACHE_DIR/weights, default the repository's .cache/weights"})  # fmt: skip
    except (ModelNameError, OSError) as exc:  # no Ultralytics installed here, or a name it no longer ships
        out["error"] = str(exc)
    return out
