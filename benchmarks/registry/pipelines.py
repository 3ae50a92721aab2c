"""The pipeline registry and the predictor protocol: the only place in the harness that names the pipelines.

A pipeline is a package (classifier/, detector/) exposing the same small API:

    CONFIG                      its typed config class (a dataclass with `to_dict()`)
    fit(train, val, classes, cfg, out_dir, *, progress, tracking_uri, mlflow_run_id, resume) -> artifact folder
    load(artifact_dir, device) -> a Predictor (below)
    starting_weights(config dict) -> {scratch, set, file, folder, ...}   optional: how a candidate starts and where
                                its pretrained weights are read offline (benchmarks/curve/warnings.py)
    step_functions(...)         optional: one optimizer step and one forward, timed by the run plan
    model_catalog()             optional: the models this machine can benchmark with it (`clsdet models`)

`train`/`val` are lists of plain samples (`Sample`), so a training job needs nothing but files and can run in
another process or on another machine. Shared code loops over `PIPELINES` and candidates and never asks which
library a model came from. Adding a pipeline is a new package plus one entry in `PIPELINES` (and, for a new
way of labeling, one in benchmarks/registry/methods.py).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict, runtime_checkable

from benchmarks.registry import lookup, methods


class UnknownPipelineError(ValueError):
    user_error = True


@dataclass(frozen=True)
class Pipeline:
    name: str  # the config section, the `labels:` role it trains on, and `pipeline` in results.json
    module: str  # the package implementing CONFIG, fit, load
    labeling_method: str  # how its labels are made: a key of benchmarks/registry/methods.py (its cost and colour)
    title: str  # how the app and the reports head its column ("Classifier")
    name_keys: tuple[str, ...]  # config keys that name a candidate when it has no `name:`
    uses_boxes: bool  # trains on boxes (else on image-level labels); its `labels:` default is the first box source
    # the history.csv column of its image-level val macro AP, read by the "still improving" test (higher is better)
    val_metric: str
    palette: tuple[str, ...]  # one hue family, a shade per candidate, in the plots
    resize: str  # how an input size maps to object pixels: "long_side" (letterbox) | "short_side_crop"
    min_imgsz: int  # the smallest input size the time budget may cut to
    quick_epochs: int | None = None  # `--profile quick`'s epochs (None: the config's own)
    train_flags: tuple[str, ...] = ()  # `clsdet train <pipeline>` flags: its config keys a user sets most
    old_val_metrics: tuple[str, ...] = ()  # columns older artifacts carry instead of val_metric (not image-level)

    def package(self):
        return importlib.import_module(self.module)

    def config_class(self):
        return self.package().CONFIG

    @property
    def method_label(self) -> str:
        return methods.label(self.labeling_method)


PIPELINES: dict[str, Pipeline] = {
    p.name: p
    for p in (
        Pipeline(
            "classifier", "classifier", "folder_sort", "Classifier", ("backbone", "mode"), False,
            val_metric="val/macro_ap", palette=("#1f77b4", "#17becf", "#6b8fd6", "#0b4f7c", "#9edae5"),
            resize="short_side_crop", min_imgsz=96,  # below 96 px torchvision's ImageNet backbones lose their maps
            quick_epochs=10,
            train_flags=("backbone", "mode", "weights", "epochs", "imgsz", "batch", "lr", "device", "workers"),
        ),
        Pipeline(
            "detector", "detector", "cvat", "Detector", ("model",), True,
            val_metric="val/image_macro_ap", palette=("#d62728", "#ff7f0e", "#e377c2", "#8c564b", "#ff9896"),
            resize="long_side", min_imgsz=64,  # two of Ultralytics' stride-32 steps
            quick_epochs=20,
            train_flags=("model", "weights", "epochs", "imgsz", "batch", "device", "workers"),
            old_val_metrics=("metrics/mAP50(B)", "metrics/mAP50-95(B)"),  # box mAP, before val/image_macro_ap
        ),
    )
}  # fmt: skip


def list_pipelines() -> list[str]:
    return list(PIPELINES)


def get(name: str) -> Pipeline:
    return lookup(PIPELINES, name, "pipeline", UnknownPipelineError)


def labeling_method(pipeline: str) -> str:
    return get(pipeline).labeling_method


def of_method(method: str) -> Pipeline | None:
    """The pipeline whose labels `method` makes (the first registered), None for a method no pipeline uses."""
    key = methods.canonical(method)
    return next((p for p in PIPELINES.values() if p.labeling_method == key), None)


def method_title(method: str) -> str:
    """'the classifier (folder sorting)': a method named with the pipeline it trains."""
    p = of_method(method)
    return f"the {p.name} ({methods.label(method)})" if p else methods.label(method)


def colour(pipeline: str, index: int = 0) -> str:
    """The plots' colour of a pipeline's index-th candidate (a pipeline not registered: a spare colour)."""
    p = PIPELINES.get(pipeline)
    if p is None or not p.palette:
        return methods.SPARE_COLOURS[index % len(methods.SPARE_COLOURS)]
    return p.palette[index % len(p.palette)]


class Sample(TypedDict):
    """One image as a training job sees it (plain JSON: a job's inputs are files)."""

    id: str
    path: str
    width: int
    height: int
    labels: list[float | None]  # image-level 1/0, None = not available (the source cannot speak about the class)
    boxes: list[list[float]]  # [class index, x1, y1, x2, y2] in pixels


@runtime_checkable
class Predictor(Protocol):
    """What the harness, the CLI and the app need from a trained model, whatever library it comes from."""

    classes: list[str]
    thresholds: Any  # (C,) float array: per-class decision thresholds
    imgsz: int
    device: str
    model: Any  # the torch.nn.Module timed by the `model` scope and sized by measure/size.py

    def predict_scores(self, paths: list[str]) -> Any:
        """(N, C) float32 per-class scores in [0, 1] for image files."""

    def preprocess(self, images: list) -> Any:
        """Decoded images -> the network's input batch on the device."""

    def forward(self, batch: Any) -> Any:
        """The network alone (latency scope `model`)."""

    def end_to_end(self, encoded: list[bytes]) -> Any:
        """Encoded images -> (N, C) bool decisions (latency scope `end_to_end`)."""

    def scores_encoded(self, data: bytes, name: str) -> tuple[Any, Any]:
        """One encoded image (an upload, `clsdet predict`) -> ((C,) float32 scores, decoded as `end_to_end` decodes,
        and for a predictor with `predict_boxes` its (K, 6) boxes in original pixels, else None). A file it cannot
        decode raises an error with `user_error = True` naming `name`."""

    def example_input(self, batch_size: int = 1) -> Any:
        """A batch of the network's input shape on the device."""

    def save_thresholds(self, thresholds: Any, method: str = "tuned on val") -> None:
        """Write per-class thresholds into the artifact (and use them from now on)."""


# Optional predictor methods, looked up with getattr (absent = not applicable to this pipeline):
#   count_flops(example_input) -> (flops | None, method)       when FlopCounterMode needs a library's own counter
#   box_metrics(samples, work_dir) -> {"map50", "map50_95", ...}  box mAP for pipelines that predict boxes
#   predict_boxes(paths) -> list of (N_i, 6) [x1, y1, x2, y2, conf, cls] arrays   a box predictor: its image-level
#                               score is per class the highest box confidence, and scores_encoded returns its boxes
#   scores_from_boxes(boxes) -> (N, C) image-level scores from predict_boxes' output   with predict_boxes: scoring
#                               a test set reads both from one pass through the network
#   export_onnx(path, dtype, device) -> exporter name   when torch.onnx.export of `model` would lose the output layout


def load_predictor(pipeline: str, artifact_dir: str | Path, device: str = "cpu") -> Predictor:
    return get(pipeline).package().load(Path(artifact_dir), device=device)
