"""The harness on a pipeline that trains instantly (fake_pipeline.py): nested subsets, resume, failed jobs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.harness import run_bench  # noqa: E402


def _run(cfg, root: Path, **kw) -> Path:
    return run_bench(cfg, root / "runs", devices=["cpu"], echo=lambda s: None, **kw)


def test_nested_subsets_and_headline_once(fake, tmp_path):
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.25, 0.5), seeds=(0, 1))
    run = _run(cfg, tmp_path)
    specs = FP.job_specs(run)
    for cand in ("classifier", "detector"):
        for seed in (0, 1):
            ids = {f: set(s["id"] for s in specs[f"{cand}/f{f:g}-s{seed}"]["train"]) for f in (0.25, 0.5, 1.0)}
            assert ids[0.25] < ids[0.5] < ids[1.0], (cand, seed)
            assert len(ids[1.0]) == 20
        # each point records its recipe's epochs, and trained with them
        for key, spec in specs.items():
            if key.startswith(cand):
                assert spec["config"]["epochs"] == spec["recipe"]["epochs"] >= 1
        # another seed draws another subset
        s0 = {s["id"] for s in specs[f"{cand}/f0.25-s0"]["train"]}
        s1 = {s["id"] for s in specs[f"{cand}/f0.25-s1"]["train"]}
        assert s0 != s1
    # smaller subsets train more epochs (the recipe keeps the optimizer steps up), capped
    ep = {f: specs[f"classifier/f{f:g}-s0"]["recipe"]["epochs"] for f in (0.25, 1.0)}
    assert ep[0.25] > ep[1.0] == 4
    # 2 candidates x 3 fractions x 2 seeds, each trained exactly once: the headline (1.0, seed 0) is not repeated
    assert len({c["out_dir"] for c in FP.CALLS}) == len(FP.CALLS) == 12
    assert sorted(Path(c["out_dir"]).parent.name for c in FP.CALLS if "/classifier/" in c["out_dir"]) == sorted(
        f"f{f:g}-s{s}" for f in (0.25, 0.5, 1) for s in (0, 1)
    )
    curve = json.loads((run / "curve.json").read_text())
    assert {p["key"] for p in curve["points"]} == set(specs)
    for p in curve["points"]:
        assert p["epochs_run"] == p["recipe"]["epochs"]

    # deterministic: the same config plans the same subsets in a new run
    FP.CALLS.clear()
    cfg2 = FP.make_bench(tmp_path / "again", FP.random_labels(40), fractions=(0.25, 0.5), seeds=(0, 1))
    run2 = _run(cfg2, tmp_path / "again", only=["data", "split", "train"])
    again = FP.job_specs(run2)
    assert {k: [s["id"] for s in v["train"]] for k, v in again.items()} == {
        k: [s["id"] for s in v["train"]] for k, v in specs.items()
    }


def test_resume_after_an_interrupted_job_trains_only_the_rest(fake, tmp_path):
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.5,))
    FP.FAIL["detector/f1-s0"] = KeyboardInterrupt()  # the process dies during the second job
    with pytest.raises(KeyboardInterrupt):
        _run(cfg, tmp_path)
    (run,) = (tmp_path / "runs").iterdir()
    assert len(FP.CALLS) == 2
    st = json.loads((run / "jobs/detector/f1-s0/status.json").read_text())
    assert st["status"] == "interrupted"
    assert json.loads((run / "stages.json").read_text())["stages"]["train"]["status"] == "interrupted"
    assert not (run / "jobs/classifier/f0.5-s0/status.json").exists()

    FP.CALLS.clear()
    assert _run(cfg, tmp_path, resume=True) == run
    trained = sorted(c["out_dir"].split("/jobs/")[1] for c in FP.CALLS)
    # 4 jobs: the first finished before the interrupt and is kept; the interrupted one and the two not started run
    assert trained == ["classifier/f0.5-s0/artifact", "detector/f0.5-s0/artifact", "detector/f1-s0/artifact"]
    assert (run / "report.md").exists()

    FP.CALLS.clear()  # a finished run resumes as a no-op
    assert _run(cfg, tmp_path, resume=True) == run
    assert FP.CALLS == []


def test_failed_curve_point_is_recorded_and_the_run_goes_on(fake, tmp_path):
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.5,))
    FP.FAIL["classifier/f0.5-s0"] = RuntimeError("out of memory (simulated)")
    run = _run(cfg, tmp_path)
    st = json.loads((run / "jobs/classifier/f0.5-s0/status.json").read_text())
    assert st["status"] == "failed" and "out of memory (simulated)" in st["error"]
    curve = json.loads((run / "curve.json").read_text())
    assert [f["key"] for f in curve["failed"]] == ["classifier/f0.5-s0"]
    assert curve["failed"][0]["status"] == "failed" and "out of memory" in curve["failed"][0]["error"]
    assert {p["key"] for p in curve["points"]} == {"classifier/f1-s0", "detector/f1-s0", "detector/f0.5-s0"}
    assert len(FP.CALLS) == 4  # the other jobs trained after the failure
    results = json.loads((run / "results.json").read_text())
    assert set(results["models"]) == {"classifier", "detector"}


def test_failed_headline_job_stops_the_run_with_a_clear_message(fake, tmp_path):
    from benchmarks.harness.executors import JobsFailedError

    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.5,))
    FP.FAIL["detector/f1-s0"] = RuntimeError("disk full (simulated)")
    with pytest.raises(JobsFailedError, match=r"headline training job\(s\) detector/f1-s0 did not finish") as e:
        _run(cfg, tmp_path)
    assert "--resume" in str(e.value)
    (run,) = (tmp_path / "runs").iterdir()
    stages = json.loads((run / "stages.json").read_text())["stages"]
    assert stages["train"]["status"] == "failed" and "evaluate" not in stages
    assert len(FP.CALLS) == 4  # the curve point after it still trained (its result is kept for --resume)
    assert not (run / "results.json").exists()


def test_curve_points_drop_their_weights_once_scored_and_resume_rescoring_uses_the_kept_scores(fake, tmp_path):
    from benchmarks.config import load_config

    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.5,))
    run = _run(cfg, tmp_path)
    for cand in ("classifier", "detector"):
        point, headline = run / f"jobs/{cand}/f0.5-s0", run / f"jobs/{cand}/f1-s0"
        assert (headline / "artifact/weights.pt").is_file()  # the headline model stays loadable
        assert not (point / "artifact/weights.pt").exists()
        pruned = json.loads((point / "artifact/pruned.json").read_text())
        assert pruned["removed"] == {"weights.pt": 1000} and pruned["bytes"] == 1000
        assert (point / "test_scores.npy").is_file() and (point / "artifact/thresholds.json").is_file()
    before = {p["key"]: p["accuracy"]["macro_ap"] for p in json.loads((run / "curve.json").read_text())["points"]}
    assert len(before) == 4 and all(v is not None for v in before.values())

    # another bootstrap count re-runs evaluate on the same test ids: the pruned points are scored from their kept
    # scores (the fake's scores depend on nothing else, so the numbers must match), nothing retrains
    FP.CALLS.clear()
    assert _run(load_config(tmp_path / "bench.yaml", overrides=["metrics.bootstrap=31"]), tmp_path, resume=True) == run
    assert FP.CALLS == []
    after = {p["key"]: p["accuracy"]["macro_ap"] for p in json.loads((run / "curve.json").read_text())["points"]}
    assert after == pytest.approx(before)
    assert json.loads((run / "curve.json").read_text())["failed"] == []

    # pruned on another test set: the point is reported as failed with what to do, not silently rescored
    doc = json.loads((run / "jobs/classifier/f0.5-s0/artifact/pruned.json").read_text())
    doc["test_ids_sha"] = "0" * 16
    (run / "jobs/classifier/f0.5-s0/artifact/pruned.json").write_text(json.dumps(doc))
    _run(load_config(tmp_path / "bench.yaml", overrides=["metrics.bootstrap=32"]), tmp_path, resume=True)
    failed = json.loads((run / "curve.json").read_text())["failed"]
    assert [f["key"] for f in failed] == ["classifier/f0.5-s0"]
    assert "curve.keep_weights: true" in failed[0]["error"] and "delete" in failed[0]["error"]


def test_keep_weights_keeps_every_points_weights(fake, tmp_path):
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.5,), overrides=["curve.keep_weights=true"])
    run = _run(cfg, tmp_path)
    assert (run / "jobs/classifier/f0.5-s0/artifact/weights.pt").is_file()
    assert not (run / "jobs/classifier/f0.5-s0/artifact/pruned.json").exists()


def test_parallel_local_executor_runs_curve_points_in_worker_processes(fake, tmp_path):
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.25, 0.5))
    run = _run(cfg, tmp_path, executor="local", executor_options={"parallel": 2})
    st = {k: json.loads((run / "jobs" / k / "status.json").read_text()) for k in FP.job_specs(run)}
    assert all(s["status"] == "done" for s in st.values()) and len(st) == 6
    here = {k for k, s in st.items() if s["pid"] == os.getpid()}
    assert here == {"classifier/f1-s0", "detector/f1-s0"}  # the headline jobs ran alone, in this process
    workers = {s["pid"] for k, s in st.items() if k not in here}
    assert os.getpid() not in workers and 1 <= len(workers) <= 2
    for k in set(st) - here:
        assert (run / "jobs" / k / "log.txt").is_file() and not (run / "jobs" / k / "artifact/weights.pt").exists()
    ex = json.loads((run / "executor.json").read_text())
    assert ex["parallel"] == 2 and ex["threads_per_parallel_job"] >= 1 and "2 at a time" in ex["summary"]
    # each worker trained with its job's recipe (its artifact holds the epochs of its job.json)
    for k in set(st) - here:
        spec = json.loads((run / "jobs" / k / "job.json").read_text())
        trained = json.loads((run / "jobs" / k / "artifact/training.json").read_text())
        assert trained["epochs_run"] == spec["recipe"]["epochs"]


def test_each_candidates_nested_mlflow_run_starts_with_its_own_training(fake, tmp_path, monkeypatch):
    import time

    import mlflow

    real_fit = FP.fit

    def slow_fit(*a, **kw):  # each training takes a measurable while
        time.sleep(1.5)
        return real_fit(*a, **kw)

    monkeypatch.setattr(FP, "fit", slow_fit)
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(1.0,))
    run = _run(cfg, tmp_path)
    runs = json.loads((run / "mlflow_runs.json").read_text())
    client = mlflow.MlflowClient(runs["tracking_uri"])
    info = {c: client.get_run(runs[c]).info for c in ("classifier", "detector")}
    # jobs run in this order, one after the other: the detector's run starts after the classifier's training ended,
    # so neither run's duration holds the other's training (they used to start together, when the jobs were planned)
    assert info["detector"].start_time >= info["classifier"].end_time - 50
    for c in ("classifier", "detector"):
        wall_ms = json.loads((run / f"jobs/{c}/f1-s0/status.json").read_text())["wall_s"] * 1000
        # its own training (status.json's finish has whole seconds: up to 1 s early), not the whole benchmark
        assert 500 <= info[c].end_time - info[c].start_time <= wall_ms + 1500
        assert json.loads((run / f"jobs/{c}/f1-s0/job.json").read_text())["tracking"]["run_id"] == runs[c]


def test_system_metrics_are_sampled_during_training_only(fake, tmp_path, monkeypatch):
    import mlflow

    from benchmarks.record import load_results
    from benchmarks.tracking import window_of
    from benchmarks.tracking.system import TAG

    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(1.0,))
    run = _run(cfg, tmp_path)
    runs = json.loads((run / "mlflow_runs.json").read_text())
    client = mlflow.MlflowClient(runs["tracking_uri"])
    latency_start = window_of(load_results(run)["stages"]["latency"])[0]
    for c in ("classifier", "detector"):
        data = client.get_run(runs[c]).data
        system = [k for k in data.metrics if k.startswith("system/")]
        # an instant training still has its one sample (the sampler's first, published when the training ended)
        assert "system/cpu_utilization_percentage" in system and data.tags[TAG].startswith("during training")
        for key in system:  # every sample was taken before the latency stage started (finished_utc: whole seconds)
            assert all(m.timestamp <= latency_start + 1000 for m in client.get_metric_history(runs[c], key))
    parent = client.get_run(runs["parent"]).data
    assert not [k for k in parent.metrics if k.startswith("system/")] and TAG not in parent.tags


def test_system_metrics_off_by_mlflows_own_switch(fake, tmp_path, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(1.0,))
    run = _run(cfg, tmp_path)
    runs = json.loads((run / "mlflow_runs.json").read_text())
    client = mlflow.MlflowClient(runs["tracking_uri"])
    assert not [k for k in client.get_run(runs["classifier"]).data.metrics if k.startswith("system/")]


def test_system_metrics_of_a_resumed_training_continue_its_steps(tmp_path):
    import mlflow

    from benchmarks.tracking.system import training_metrics

    uri = FP.mlflow_store(tmp_path)
    client = mlflow.MlflowClient(uri)
    run_id = client.create_run(client.create_experiment("t", (tmp_path / "art").as_uri())).info.run_id
    for _ in range(2):  # a job interrupted and resumed: twice into the same run
        with training_metrics(run_id, uri) as monitor:
            assert monitor is not None
    steps = [m.step for m in client.get_metric_history(run_id, "system/cpu_utilization_percentage")]
    assert sorted(steps) == [0, 1]
