"""Beyond one machine: the `ray` executor and a shared MLflow server, for real on this machine.

The `scale` tests run a tiny benchmark twice (local executor; Ray executor on an in-process local instance with 2
CPUs, logging over HTTP to a real `mlflow server` subprocess) and compare. They take minutes on 2 cores, so they are
outside the default run: `make test-scale` (installs the `ray` extra). The unmarked tests below need neither Ray nor a
server and run in `make test`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tiny_bench import tiny

from benchmarks.cli import main

TINY = tiny("latency.scopes=[model]", "curve.fractions=[0.5,1.0]", bootstrap=50)


# --- no Ray, no server -------------------------------------------------------------------------------------------
def test_ray_options_without_the_ray_executor_are_refused(tmp_path):
    from benchmarks.cli import CliError
    from benchmarks.commands.bench import executor_options

    args = type("A", (), {"executor": "local", "ray_address": "auto", "ray_num_cpus": None, "ray_cpus_per_job": 2})
    with pytest.raises(CliError, match="need --executor ray"):
        executor_options(args)
    args.executor = "ray"
    import importlib.util

    if importlib.util.find_spec("ray") is None:  # `make test` does not install the ray extra (`make test-scale` does)
        with pytest.raises(CliError, match=r"pip install 'clsdet-bench\[ray\]'"):
            executor_options(args)
    else:
        assert executor_options(args) == {"address": "auto", "cpus_per_job": 2}


def test_parallel_is_the_local_executors_option():
    from benchmarks.cli import CliError
    from benchmarks.commands.bench import executor_options

    args = type("A", (), {"executor": "local", "parallel": 2})
    assert executor_options(args) == {"parallel": 2}
    args.parallel = 0
    with pytest.raises(CliError, match="--parallel 0: expected an integer >= 1"):
        executor_options(args)
    args.executor, args.parallel = "ray", 2
    with pytest.raises(CliError, match="--parallel is the local executor's"):
        executor_options(args)


def test_ray_executor_without_ray_fails_before_any_stage(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    assert main(["bench", "no-such-config.yaml", "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'clsdet-bench[ray]'" in err and "no-such-config" not in err


def test_missing_ray_names_the_extra(monkeypatch):
    from benchmarks.harness import ray_executor
    from benchmarks.harness.executors import ExecutorError

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ExecutorError, match=r"clsdet-bench\[ray\]"):
        ray_executor.import_ray()


def test_a_dead_worker_is_recorded_as_failed_with_rays_error(tmp_path):
    from benchmarks.harness.jobs import Job, status
    from benchmarks.harness.ray_executor import _failed

    job = Job("c", "classifier", 1.0, 0, headline=True)
    job.folder(tmp_path).mkdir(parents=True)
    (job.folder(tmp_path) / "status.json").write_text(json.dumps({"status": "running", "pid": 7, "hostname": "n2"}))
    st = _failed(tmp_path, job, RuntimeError("The worker died unexpectedly\nSIGKILL"))
    assert st == status(tmp_path, job)
    assert st["status"] == "failed" and st["hostname"] == "n2" and st["pid"] == 7
    assert st["error"] == "RuntimeError: The worker died unexpectedly"
    # a training error run_job recorded itself is kept as it is
    (job.folder(tmp_path) / "status.json").write_text(json.dumps({"status": "failed", "error": "ValueError: x"}))
    assert _failed(tmp_path, job, RuntimeError("ray wrapper"))["error"] == "ValueError: x"


@pytest.mark.parametrize(
    ("device", "devices", "cluster_gpus", "want"),
    [("cuda", 1, 4, 1), ("cuda", 2, 4, 2), ("auto", 1, 4, 1), ("auto", 1, 0, 0), ("cpu", 1, 4, 0), ("mps", 1, 0, 0)],
)
def test_a_cuda_job_asks_ray_for_its_gpus(tmp_path, device, devices, cluster_gpus, want):
    from benchmarks.harness.ray_executor import _wants_gpus

    (tmp_path / "job.json").write_text(json.dumps({"config": {"device": device, "devices": devices}}))
    assert _wants_gpus(tmp_path, cluster_gpus) == want


def test_executor_record_counts_workers_and_hosts(tmp_path):
    from benchmarks.harness.executors import record_executor

    statuses = {
        "a/f1-s0": {"status": "done", "pid": 1, "hostname": "n1"},
        "a/f0.5-s0": {"status": "done", "pid": 2, "hostname": "n2"},
        "b/f1-s0": {"status": "done", "pid": 1, "hostname": "n1"},
        "b/f0.5-s0": {"status": "failed", "pid": 3, "hostname": "n3", "error": "x"},
    }
    doc = record_executor(tmp_path, "ray", statuses, {"address": "auto", "nodes": 3, "cpus_per_job": 2})
    assert json.loads((tmp_path / "executor.json").read_text()) == doc
    assert (doc["workers"], doc["hosts"], doc["jobs_done"], doc["jobs"]) == (2, ["n1", "n2"], 3, 4)
    assert "3 of 4 job(s) finished by the ray executor" in doc["summary"] and "3 node(s)" in doc["summary"]


# --- a real local Ray instance and a real MLflow server ------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """`mlflow server` on 127.0.0.1 (sqlite backend, proxied artifact store); killed at the end, also on failure."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    cmd = [
        sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, root / "artifacts"
    finally:
        os.killpg(proc.pid, 15)  # its own session: the server's workers go with it
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("scale") / "demo"
    assert main(["demo-data", str(data), "--images", "24", "--size", "64", "--seed", "1"]) == 0
    return data


def _bench(demo: Path, out: Path, uri: str, *extra: str) -> tuple[Path, float]:
    args = ["bench", str(demo / "clsdet.yaml"), "--device", "cpu", "--out", str(out), "--tracking-uri", uri, *extra]
    for o in TINY:
        args += ["--set", o]
    t0 = time.perf_counter()
    assert main(args) == 0
    (run_dir,) = out.iterdir()
    return run_dir, time.perf_counter() - t0


@pytest.fixture(scope="module")
def local_run(demo) -> Path:
    run_dir, wall = _bench(demo, demo.parent / "runs-local", f"sqlite:///{demo.parent / 'mlflow.db'}")
    print(f"\ntiny benchmark, local executor: {wall:.1f} s")
    return run_dir


@pytest.fixture(scope="module")
def ray_run(demo, mlflow_server) -> Path:
    pytest.importorskip("ray", reason="the ray extra: pip install 'clsdet-bench[ray]' (make test-scale installs it)")
    url, _ = mlflow_server
    run_dir, wall = _bench(demo, demo.parent / "runs-ray", url, "--executor", "ray", "--ray-num-cpus", "2")
    print(f"\ntiny benchmark, ray executor (local instance, 2 CPUs): {wall:.1f} s")
    return run_dir


def _structure(run_dir: Path) -> dict:
    r = json.loads((run_dir / "results.json").read_text())
    return {
        "models": sorted(r["models"]),
        "model_keys": {m: sorted(e) for m, e in r["models"].items()},
        "points": sorted(p["key"] for p in r["curve"]["points"]),
        "point_keys": sorted({k for p in r["curve"]["points"] for k in p}),
        "stages": {k: v["status"] for k, v in r["stages"].items()},
        "top": sorted(r),
    }


@pytest.mark.scale
def test_ray_executor_matches_local_and_runs_jobs_in_ray_workers(local_run, ray_run):
    assert _structure(ray_run) == _structure(local_run)
    s = _structure(ray_run)
    assert len(s["points"]) == 4 and set(s["stages"].values()) == {"done"}
    for run_dir, executor in ((local_run, "local"), (ray_run, "ray")):
        statuses = [json.loads(f.read_text()) for f in sorted(run_dir.glob("jobs/*/*/status.json"))]
        assert len(statuses) == 4 and {st["status"] for st in statuses} == {"done"}
        pids = {st["pid"] for st in statuses}
        if executor == "local":
            assert pids == {os.getpid()}  # in this (the driver) process
        else:
            assert os.getpid() not in pids  # every job in a Ray worker process
        r = json.loads((run_dir / "results.json").read_text())
        assert r["executor"]["executor"] == executor and r["executor"]["workers"] == len(pids)
        assert r["executor"]["summary"] in (run_dir / "report.md").read_text()
    info = json.loads((ray_run / "results.json").read_text())["executor"]
    assert (info["nodes"], info["cluster_cpus"], info["cpus_per_job"]) == (1, 2, 1)


@pytest.mark.scale
def test_ray_jobs_log_to_the_shared_mlflow_server(ray_run, mlflow_server):
    from mlflow.tracking import MlflowClient

    url, artifacts = mlflow_server
    client = MlflowClient(tracking_uri=url)
    exp = client.get_experiment_by_name("clsdet")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.info.run_name == ray_run.name]
    assert parent.info.status == "FINISHED"
    nested = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    points = {f"curve/{m}/f{f}-s0" for m in ("classifier", "detector") for f in ("0.5", "1")}
    assert set(nested) == {"classifier", "detector"} | points
    # the classifier's per-epoch metrics were logged live by Lightning inside the Ray worker, into the parent's run
    assert client.get_metric_history(nested["classifier"].info.run_id, "train/loss")
    assert nested["classifier"].data.metrics["macro_ap"] >= 0
    # artifacts went through the server into its artifact store, not into a local folder of the driver
    assert parent.info.artifact_uri.startswith("mlflow-artifacts:")
    names = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"report.md", "results.json", "plots"} <= names
    assert list(artifacts.rglob("report.md")) and list(artifacts.rglob("*.pt"))


@pytest.mark.scale
def test_a_worker_that_cannot_see_the_run_folder_fails_clearly(tmp_path):
    ray = pytest.importorskip("ray")
    from benchmarks.harness.executors import ExecutorError
    from benchmarks.harness.ray_executor import _init, check_nodes

    started = _init(ray, None, 1, print)
    try:
        missing = tmp_path / "not-shared" / "runs"
        with pytest.raises(ExecutorError, match="shared|every Ray node") as err:
            check_nodes(ray, missing, [str(tmp_path / "gone.jpg")])
        assert str(missing) in str(err.value) and "gone.jpg" in str(err.value)
        assert check_nodes(ray, tmp_path, [])[0]["problems"] == []
    finally:
        if started:
            ray.shutdown()


def test_a_relative_sqlite_store_is_made_absolute_for_workers_in_other_folders(tmp_path, monkeypatch):
    from benchmarks.tracking import absolute_uri

    monkeypatch.chdir(tmp_path)
    assert absolute_uri("sqlite:///rel/mlflow.db") == f"sqlite:///{tmp_path / 'rel' / 'mlflow.db'}"
    for uri in ("sqlite:////abs/mlflow.db", "http://127.0.0.1:5000", "sqlite:///:memory:"):
        assert absolute_uri(uri) == uri


@pytest.mark.scale
def test_resume_with_ray_resubmits_only_the_unfinished_job(demo, ray_run, mlflow_server, capsys):
    """Last in the file (it changes ray_run): the train stage interrupted with one job unfinished, as Ctrl-C does."""
    stages = json.loads((ray_run / "stages.json").read_text())
    stages["stages"] = {k: v for k, v in stages["stages"].items() if k in ("data", "split")}
    stages["stages"]["train"] = {"status": "interrupted", "wall_s": 1.0, "finished_utc": "x"}
    (ray_run / "stages.json").write_text(json.dumps(stages))
    again = ray_run / "jobs" / "detector" / "f0.5-s0" / "status.json"
    again.write_text(json.dumps({"status": "interrupted", "pid": 1, "hostname": "x"}))
    others = {f: f.read_text() for f in ray_run.glob("jobs/*/*/status.json") if f != again}
    capsys.readouterr()
    url, _ = mlflow_server
    args = ["bench", str(demo / "clsdet.yaml"), "--device", "cpu", "--out", str(ray_run.parent), "--resume"]
    args += ["--tracking-uri", url, "--executor", "ray", "--ray-num-cpus", "2"]
    for o in TINY:
        args += ["--set", o]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 training job(s), 3 already finished" in out and "job 1/1 done: detector/f0.5-s0" in out
    assert {f: f.read_text() for f in others} == others  # the finished jobs were not touched
    st = json.loads(again.read_text())
    assert st["status"] == "done" and st["pid"] not in (1, os.getpid())
