"""`clsdet train classifier|detector CONFIG`: data -> split -> one pipeline in a run folder; flags override."""

from __future__ import annotations

import json

import pytest

from benchmarks.cli import main


@pytest.mark.e2e  # trains both real pipelines through the CLI (13 s on 2 cores)
def test_train_each_pipeline_from_the_cli(tmp_path, capsys):
    data = tmp_path / "demo"
    assert main(["demo-data", str(data), "--images", "24", "--size", "64", "--seed", "2"]) == 0
    common = ["--device", "cpu", "--out", str(tmp_path / "runs"), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]
    assert (
        main(
            [
                "train",
                "classifier",
                str(data / "clsdet.yaml"),
                "--epochs",
                "1",
                "--imgsz",
                "48",
                "--batch",
                "8",
                *common,
            ]
        )
        == 0
    )
    assert (
        main(
            ["train", "detector", str(data / "clsdet.yaml"), "--epochs", "1", "--imgsz", "64", "--batch", "8", *common]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "classifier artifact:" in out and "detector artifact:" in out
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2  # the flags change the config, so each command is its own run
    cls_art, det_art = ("jobs/classifier/f1-s0/artifact", "jobs/detector/f1-s0/artifact")
    cls_run = next(r for r in runs if (r / cls_art / "weights.pt").exists())
    det_run = next(r for r in runs if (r / det_art / "weights" / "best.pt").exists())
    assert not (cls_run / "jobs" / "detector").exists() and not (det_run / "jobs" / "classifier").exists()
    assert json.loads((cls_run / cls_art / "config.json").read_text())["imgsz"] == 48
    assert json.loads((det_run / det_art / "training.json").read_text())["epochs_run"] == 1
    thresholds = json.loads((cls_run / cls_art / "thresholds.json").read_text())
    assert thresholds["method"].startswith("per-class max F1 on val")  # tuned by the job, as for every model
    stages = json.loads((cls_run / "stages.json").read_text())["stages"]
    assert set(stages) == {"data", "split", "train"}  # nothing past training ran
