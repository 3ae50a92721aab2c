"""Slow: the whole benchmark on real photos (../shared/datasets/coco128), its four most frequent classes."""

from __future__ import annotations

import json

import pytest
import yaml

from benchmarks.cli import main

KEEP = ["person", "car", "cup", "potted plant"]  # the only classes in 10+ of its images (shared/README.md)


@pytest.mark.slow
def test_bench_on_coco128(coco128, tmp_path):
    names = yaml.safe_load((coco128 / "coco128.yaml").read_text())["names"]
    names = list(names.values()) if isinstance(names, dict) else list(names)
    cfg = {
        "name": "coco128-top4",
        "classes": KEEP,
        "ignore": [n for n in names if n not in KEEP],
        "sources": {"yolo": {"reader": "yolo_dataset", "path": str(coco128 / "coco128.yaml")}},
        "labels": {"classifier": "yolo", "detector": "yolo", "truth": "yolo"},
        "split": {"train": 0.6, "val": 0.2, "test": 0.2, "seed": 0},
        "classifier": {"backbone": "resnet18", "mode": "scratch", "epochs": 5, "imgsz": 160, "batch": 16},
        "detector": {"model": "yolo11n", "epochs": 5, "imgsz": 160, "batch": 16},
        "latency": {"batch_sizes": [1], "iters": 5, "min_seconds": 0.2},
    }
    (tmp_path / "coco.yaml").write_text(yaml.safe_dump(cfg))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert (
        main(
            [
                "bench",
                str(tmp_path / "coco.yaml"),
                "--device",
                "cpu",
                "--out",
                str(tmp_path / "runs"),
                "--tracking-uri",
                uri,
            ]
        )
        == 0
    )
    (run_dir,) = (tmp_path / "runs").iterdir()
    r = json.loads((run_dir / "results.json").read_text())
    assert r["data"]["n_images"] == 128
    assert r["data"]["problems"].get("class_ignored") == len(names) - len(KEEP)
    for model in ("classifier", "detector"):
        assert r["models"][model]["accuracy"]["n_test"] > 0
