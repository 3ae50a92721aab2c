"""The demo's candidates.yaml end to end: 3 classifier and 2 detector candidates, 1 epoch each,
all five in results.json, report.md and MLflow (a nested run each). Slow: 4.5-6.6 min measured on 2 shared CPU cores."""

from __future__ import annotations

import json

import pytest
from tiny_bench import tiny

from benchmarks.cli import main

CANDIDATES = {
    "r18-scratch": "classifier",
    "r18-frozen": "classifier",
    "mnv3s-scratch": "classifier",
    "yolo11n": "detector",
    "yolov8n": "detector",
}
TINY = tiny(bootstrap=100)


def test_demo_writes_candidates_yaml_beside_an_unchanged_clsdet_yaml(tmp_path):
    from benchmarks.config import load_config
    from benchmarks.demo import config_yaml, generate

    generate(tmp_path, n_images=3, seed=0, size=64)
    assert (tmp_path / "clsdet.yaml").read_text() == config_yaml(64)
    assert [c.name for c in load_config(tmp_path / "clsdet.yaml").candidates] == ["classifier", "detector"]
    with pytest.warns(UserWarning, match="random-feature baseline"):
        cfg = load_config(tmp_path / "candidates.yaml", profile="quick", overrides=["classifier.epochs=2"])
    assert {c.name: c.pipeline for c in cfg.candidates} == CANDIDATES
    by_name = {c.name: c.config for c in cfg.candidates}
    assert (by_name["r18-frozen"].mode, by_name["r18-frozen"].weights) == ("frozen", "none")
    assert by_name["mnv3s-scratch"].backbone == "mobilenet_v3_small" and by_name["yolov8n"].model == "yolov8n"
    assert {c.config.epochs for c in cfg.candidates if c.pipeline == "classifier"} == {2}  # --set: every candidate
    assert {c.config.epochs for c in cfg.candidates if c.pipeline == "detector"} == {14}  # the demo's quick profile
    assert {c.config.imgsz for c in cfg.candidates} == {64}


@pytest.mark.slow
def test_demo_candidates_config_runs_every_candidate(tmp_path):
    data = tmp_path / "demo"
    assert main(["demo-data", str(data), "--images", "30", "--size", "64", "--seed", "1"]) == 0
    assert (data / "candidates.yaml").is_file() and (data / "clsdet.yaml").is_file()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["bench", str(data / "candidates.yaml"), "--device", "cpu", "--out", str(tmp_path / "runs")]
    args += ["--tracking-uri", uri]
    for o in TINY:
        args += ["--set", o]
    with pytest.warns(UserWarning, match="random-feature baseline"):  # r18-frozen on random init says so
        assert main(args) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()

    r = json.loads((run_dir / "results.json").read_text())
    assert {k: v["pipeline"] for k, v in r["models"].items()} == CANDIDATES
    for name, m in r["models"].items():
        assert m["training"]["recipe"]["epochs"] == 1, name
        assert 0.0 <= m["accuracy"]["macro_ap"] <= 1.0, name
    frozen = json.loads((run_dir / "jobs" / "r18-frozen" / "f1-s0" / "artifact" / "training.json").read_text())
    scratch = json.loads((run_dir / "jobs" / "r18-scratch" / "f1-s0" / "artifact" / "training.json").read_text())
    assert frozen["trainable_params"] == 512 * 7 + 7 < frozen["params"] == scratch["params"]
    assert scratch["trainable_params"] == scratch["params"]

    report = (run_dir / "report.md").read_text()
    assert all(name in report for name in CANDIDATES)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    parents = [x for x in runs if "mlflow.parentRunId" not in x.data.tags]
    assert len(parents) == 1
    nested = {x.info.run_name for x in runs if x.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id}
    assert set(CANDIDATES) <= nested
    assert all(x.info.status == "FINISHED" for x in runs)
