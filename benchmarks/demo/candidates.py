"""`candidates.yaml`, written by `clsdet demo-data` beside clsdet.yaml: the same benchmark with several candidates per
pipeline (benchmarks/config/candidates.py). Three classifiers (two training modes of one backbone and a second backbone)
and two YOLO generations, all trainable offline on a CPU:

    clsdet bench DEMO/candidates.yaml --profile quick

`r18-frozen` freezes a randomly initialised resnet18 (nothing downloads ImageNet weights here): a random-feature
linear probe, the floor a frozen backbone must beat. With ImageNet weights cached (`clsdet models`), set
`weights: imagenet` on it (and on a `finetune` candidate) for the real frozen / fine-tuned / scratch study.
"""

from __future__ import annotations


def _sections(size: int) -> str:
    return f"""\
classifier:                     # candidates: each trains on the folder labels of the same split
  - name: r18-scratch
    backbone: resnet18          # any torchvision classification model: clsdet models --pipeline classifier
    mode: scratch
    weights: none
    imgsz: {size}
  - name: r18-frozen            # only the new head trains (training.json: trainable_params)
    backbone: resnet18
    mode: frozen
    weights: none               # random features (offline); weights: imagenet for the real frozen study
    imgsz: {size}
  - name: mnv3s-scratch
    backbone: mobilenet_v3_small
    mode: scratch
    weights: none
    imgsz: {size}

detector:                       # candidates: each trains on the CVAT boxes of the same split
  - name: yolo11n
    model: yolo11n              # any Ultralytics detection model: clsdet models --pipeline detector
    weights: none
    imgsz: {size}
  - name: yolov8n
    model: yolov8n
    weights: none
    imgsz: {size}
"""


def candidates_yaml(base: str, size: int) -> str:
    """clsdet.yaml's text (`base`) with its single classifier/detector sections replaced by candidate lists; the
    sources, split, latency and profiles (which apply to every candidate) stay as they are."""
    head, rest = base.split("\nclassifier:", 1)
    _, tail = rest.split("\nlatency:", 1)
    head = head.replace(
        "# Benchmark config for the demo dataset", "# Several candidates per pipeline, for the demo dataset"
    )
    head = head.replace("clsdet data inspect clsdet.yaml", "clsdet bench candidates.yaml --profile quick")
    return f"{head}\n{_sections(size)}\nlatency:{tail}"
