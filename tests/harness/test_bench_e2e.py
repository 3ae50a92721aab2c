"""`clsdet bench` end to end on a tiny demo config: the record, the same test ids, reports, MLflow, resume, latency."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tiny_bench import tiny

from benchmarks.cli import main
from benchmarks.record import SCHEMA_VERSION

pytestmark = pytest.mark.e2e  # the second tier (make test-e2e): real trainings through every stage

TINY = tiny(
    "latency.rounds=1",
    "latency.throughput=false",
    "latency.timer_check=false",
    bootstrap=200,
    iters=3,
    batch_sizes="[1,2]",
)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("bench")
    data = root / "demo"
    assert main(["demo-data", str(data), "--images", "30", "--size", "64", "--seed", "1"]) == 0
    uri = f"sqlite:///{root / 'mlflow.db'}"
    args = ["bench", str(data / "clsdet.yaml"), "--device", "cpu", "--out", str(root / "runs"), "--tracking-uri", uri]
    for o in TINY:
        args += ["--set", o]
    cwd = root / "cwd"
    cwd.mkdir()
    data_before = _listing(data)
    user_config = Path.home() / ".config"  # Ultralytics, MLflow and matplotlib would default to folders here
    config_before = _listing(user_config) if user_config.is_dir() else {}
    old = Path.cwd()
    os.chdir(cwd)  # anything written to the current directory (lightning_logs, runs/, mlruns) shows up here
    try:
        assert main(args) == 0
    finally:
        os.chdir(old)
    assert list(cwd.iterdir()) == []
    assert _listing(data) == data_before  # the user's data folder is untouched
    assert (_listing(user_config) if user_config.is_dir() else {}) == config_before
    (run_dir,) = (root / "runs").iterdir()
    return run_dir, root, uri


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_record_has_every_part_with_its_method(bench_run):
    run_dir, _, _ = bench_run
    r = json.loads((run_dir / "results.json").read_text())
    for key in ("schema_version", "created_utc", "machine", "commit", "config", "split", "models", "labeling", "data"):
        assert key in r, key
    assert r["machine"]["threads"] >= 1
    assert r["schema_version"] == SCHEMA_VERSION
    for model in ("classifier", "detector"):
        m = r["models"][model]
        assert m["pipeline"] == model and m["artifact"] == f"jobs/{model}/f1-s0/artifact"
        assert m["labeling_method"] == {"classifier": "folder_sort", "detector": "cvat"}[model]
        assert m["training"]["recipe"]["epochs"] == 1
        acc = m["accuracy"]
        assert 0.0 <= acc["macro_ap"] <= 1.0
        lo, hi = acc["macro_ap_ci95"]
        assert lo <= hi
        assert acc["baseline"]["macro_ap"] > 0
        assert m["training"]["train_wall_s"] > 0
        assert m["training"]["peak_mem_mb"] > 0 and m["training"]["peak_mem_method"]
        assert m["size"]["params"] > 0 and m["size"]["file_mb_fp16"] < m["size"]["file_mb_fp32"]
        ok = [x for x in m["latency"] if x["status"] == "ok"]
        assert {(x["batch_size"], x["scope"]) for x in ok} >= {(1, "model"), (2, "model"), (1, "end_to_end")}
        for x in ok:
            for field in ("device", "dtype", "warmup", "iters", "threads", "sync", "latency_ms_p50", "samples_ms"):
                assert field in x, field
    assert r["models"]["detector"]["box"] is not None
    for method in ("folder_sort", "cvat"):
        assert r["labeling"][method]["source"] in ("measured", "modeled")


def test_both_models_scored_on_the_same_test_ids(bench_run):
    run_dir, _, _ = bench_run
    r = json.loads((run_dir / "results.json").read_text())
    split = json.loads((run_dir / "split.json").read_text())
    cls_ids = r["models"]["classifier"]["accuracy"]["test_ids"]
    det_ids = r["models"]["detector"]["accuracy"]["test_ids"]
    assert cls_ids == det_ids == r["split"]["test_ids"]
    assert set(cls_ids) <= set(split["test"])
    assert not set(cls_ids) & (set(split["train"]) | set(split["val"]))


def test_reports_and_mlflow_runs_exist(bench_run):
    run_dir, _, uri = bench_run
    assert "classifier" in (run_dir / "report.md").read_text()
    assert "data:image/png;base64" in (run_dir / "report.html").read_text()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    names = {x.info.run_name for x in runs}
    assert {"classifier", "detector"} <= names
    assert all(x.info.status == "FINISHED" for x in runs)
    # nested runs span their training, inside the benchmark's parent run, and hold no weights unless asked
    parent = next(x.info for x in runs if x.info.run_name == run_dir.name)
    for x in runs:
        if x.info.run_name in ("classifier", "detector"):
            assert parent.start_time < x.info.start_time < x.info.end_time < parent.end_time, x.info.run_name
            assert not client.list_artifacts(x.info.run_id), x.info.run_name
    assert list(run_dir.glob("jobs/*/*/artifact/weights.pt"))  # the classifier's artifact ...
    assert not list(run_dir.glob("jobs/*/*/artifact/checkpoints"))  # ... without Lightning's checkpoints


def test_resume_keeps_finished_stages(bench_run, capsys):
    run_dir, root, uri = bench_run
    data = root / "demo"
    args = [
        "bench",
        str(data / "clsdet.yaml"),
        "--device",
        "cpu",
        "--out",
        str(root / "runs"),
        "--resume",
        "--tracking-uri",
        uri,
    ]
    for o in TINY:
        args += ["--set", o]
    weights = run_dir / "jobs" / "classifier" / "f1-s0" / "artifact" / "weights.pt"
    before = weights.stat().st_mtime_ns
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"resuming {run_dir}" in out
    assert "train: kept from the earlier run" in out
    assert weights.stat().st_mtime_ns == before
    assert len(list((root / "runs").iterdir())) == 1


def test_latency_command_appends(bench_run):
    run_dir, _, _ = bench_run
    before = json.loads((run_dir / "results.json").read_text())["models"]["classifier"]["latency"]
    assert (
        main(
            [
                "latency",
                str(run_dir),
                "--device",
                "cpu",
                "--batch-sizes",
                "1",
                "--iters",
                "2",
                "--min-seconds",
                "0",
                "--rounds",
                "1",
                "--no-throughput",
            ]
        )  # fmt: skip
        == 0
    )
    after = json.loads((run_dir / "results.json").read_text())["models"]["classifier"]["latency"]
    assert after[: len(before)] == before
    assert len(after) > len(before)
