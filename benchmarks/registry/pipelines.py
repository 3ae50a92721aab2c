"""The pipeline registry and the predictor protocol: the only place in the harness that names the pipelines.

A pipeline is a package (classifier/, detector/) exposing the same small API:

    CONFIG                      its typed config class (a dataclass with `to_dict()`)
    fit(train, val, classes, cfg, out_dir, *, progress, tracking_uri, mlflow_run_id, resume) -> artifact folder
    load(artifact_dir, device) -> a Predictor (below)
    starting_weights(config dict) -> {scratch, set, file, folder, ...}   optional: how a candidate starts and where
                                its pretrained weights are read offline (benchmarks/curve/warnings.py)

`train`/`val` are lists of plain samples (`Sample`), so a training job needs nothing but files and can run in
another process or on another machine. Shared code loops over `PIPELINES` and candidates and never asks which
library a model came from. Adding a pipeline is a new package plus one line in `PIPELINES`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict, runtime_checkable


class UnknownPipelineError(ValueError):
    user_error = True


@dataclass(frozen=True)
class Pipeline:
    name: str  # the config section and the `labels:` role it trains on
    module: str  # the package implementing CONFIG, fit, load
    labeling_method: str  # key of its labeling cost in labeling.json ("folder_sort", "cvat")
    method_label: str  # how a report names the labeling method
    name_keys: tuple[str, ...]  # config keys that name a candidate when it has no `name:`
    uses_boxes: bool  # trains on boxes (else on image-level labels)

    def package(self):
        return importlib.import_module(self.module)

    def config_class(self):
        return self.package().CONFIG


PIPELINES: dict[str, Pipeline] = {
    p.name: p
    for p in (
        Pipeline("classifier", "classifier", "folder_sort", "folder sorting", ("backbone", "mode"), False),
        Pipeline("detector", "detector", "cvat", "CVAT boxes", ("model",), True),
    )
}


def get(name: str) -> Pipeline:
    if name not in PIPELINES:
        raise UnknownPipelineError(f"unknown pipeline {name!r}; pipelines: {', '.join(PIPELINES)}")
    return PIPELINES[name]


def labeling_method(pipeline: str) -> str:
    return get(pipeline).labeling_method


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
#   export_onnx(path, dtype, device) -> exporter name   when torch.onnx.export of `model` would lose the output layout


def load_predictor(pipeline: str, artifact_dir: str | Path, device: str = "cpu") -> Predictor:
    return get(pipeline).package().load(Path(artifact_dir), device=device)
