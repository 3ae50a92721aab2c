"""A tracking server that goes away mid-run: the bench gives up on it after bounded retries, finishes (results.json,
the report), says what was not logged, and `clsdet log RUN_DIR` logs the run folder afterwards; the guarded client's
rules (which errors count as 'does not answer', what is skipped and what raises) on their own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.cli import main  # noqa: E402
from benchmarks.tracking.guard import HTTP_DEFAULTS, Guarded, StoreUnreachable, unless_down  # noqa: E402

pytestmark = pytest.mark.e2e  # the second tier (make test-e2e): a real `mlflow server` subprocess, killed mid-run

DRIVER = """
import sys
from dataclasses import replace

sys.path.insert(0, {tests!r})
from benchmarks.registry import pipelines
for name, p in list(pipelines.PIPELINES.items()):
    pipelines.PIPELINES[name] = replace(p, module="fake_pipeline")
from benchmarks.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(root: Path) -> tuple[subprocess.Popen, str]:
    """`mlflow server` on a free loopback port, on a copy of an already migrated sqlite store (starts faster)."""
    root.mkdir(parents=True)
    backend = FP.mlflow_store(root)
    port = _free_port()
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend, "--artifacts-destination",
           str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            _kill(proc)
            pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
        time.sleep(0.3)


def _kill(proc: subprocess.Popen) -> None:
    with_group = proc.poll() is None
    if with_group:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the server's workers go with it
    proc.wait()


def test_a_server_killed_mid_run_costs_only_the_logging_and_clsdet_log_logs_it_after(
    fake, tmp_path, monkeypatch, capsys
):
    for key in HTTP_DEFAULTS:  # the bench's own bounds, not the user's; restored after the test
        monkeypatch.setenv(key, "0")
        monkeypatch.delenv(key)
    FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,))
    server, url = _start_server(tmp_path / "server")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "FAKE_PIPELINE_PAUSE": "classifier/f1-s0"}
    args = ["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "runs"), "--device", "cpu",
            "--tracking-uri", url]  # fmt: skip
    driver = DRIVER.format(tests=str(Path(__file__).parents[1]))
    bench = subprocess.Popen([sys.executable, "-c", driver, *args], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60  # a guard against a hang, not a timing assertion
        while not list((tmp_path / "runs").glob("*/jobs/classifier/f1-s0/training_started")):
            assert bench.poll() is None, bench.communicate()[0]
            assert time.monotonic() < deadline, "the training never started"
            time.sleep(0.1)
        _kill(server)  # the classifier is training: its nested run exists, the detector's does not yet
        (run,) = (tmp_path / "runs").iterdir()
        (run / "jobs/classifier/f1-s0/go").write_text("")
        # MLflow's own defaults retry each call for ~4 minutes, call after call: the old bench ran for far longer
        out = bench.communicate(timeout=100)[0]
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
        _kill(server)
    assert bench.returncode == 0, out
    assert (run / "results.json").is_file() and (run / "report.md").is_file(), out
    assert f"warning: the MLflow tracking server {url} does not answer" in out, out
    assert f"warning: MLflow: not logged to {url}" in out, out
    assert "parent: results, end status" in out and "detector: its run" in out, out
    assert f"`clsdet log {run} --tracking-uri {url}`" in out, out
    assert "mlflow: not logged in" in out, out
    # not "done": `--resume` tries the logging again
    assert json.loads((run / "stages.json").read_text())["stages"]["mlflow"]["status"] == "not logged"

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the server is still gone: no retries to wait out
    assert main(["log", str(run)]) == 2  # by default the run's own store: one error line, not a hang
    err = capsys.readouterr().err
    assert f"error: MLflow store '{url}' (experiment 'clsdet') could not be opened: the MLflow tracking server" in err
    assert "does not answer (get_experiment_by_name: ConnectionRefusedError" in err, err
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    (tmp_path / "other").mkdir()
    store = FP.mlflow_store(tmp_path / "other")  # a second store: the team server may stay down
    assert main(["log", str(run), "--tracking-uri", store]) == 0
    import mlflow

    runs = json.loads((run / "mlflow_runs.json").read_text())
    assert runs["tracking_uri"] == store
    client = mlflow.MlflowClient(store)
    parent = client.get_run(runs["parent"])
    assert parent.info.status == "FINISHED"
    assert "results.json" in {a.path for a in client.list_artifacts(runs["parent"])}
    for model in ("classifier", "detector"):
        nested = client.get_run(runs[model])
        assert nested.data.tags["mlflow.parentRunId"] == runs["parent"]
        assert "macro_ap" in nested.data.metrics and nested.info.status == "FINISHED"


def test_resume_logs_what_an_outage_left_out(fake, tmp_path, monkeypatch, capsys):
    import mlflow
    import requests

    FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,))
    args = ["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "runs"), "--device", "cpu"]

    def refused(self, *a, **k):  # what MLflow raises once its retries are spent on a server that is gone
        raise mlflow.exceptions.MlflowException("API request failed") from requests.exceptions.ConnectionError()

    with monkeypatch.context() as m:
        m.setattr(mlflow.MlflowClient, "log_batch", refused)
        assert main(args) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "stages.json").read_text())["stages"]["mlflow"]["status"] == "not logged"
    assert "warning: MLflow: not logged to sqlite:///" in capsys.readouterr().out
    assert main([*args, "--resume"]) == 0  # the server is back: only the logging runs, into the same runs
    assert json.loads((run / "stages.json").read_text())["stages"]["mlflow"]["status"] == "done"
    runs = json.loads((run / "mlflow_runs.json").read_text())
    client = mlflow.MlflowClient(runs["tracking_uri"])
    for model in ("classifier", "detector"):
        assert "macro_ap" in client.get_run(runs[model]).data.metrics
    assert client.get_run(runs["parent"]).info.status == "FINISHED"


class _Down:
    """An MlflowClient stand-in whose server refuses connections."""

    calls: list[str]

    def __init__(self):
        self.calls = []

    def _refuse(self, name):
        import requests

        self.calls.append(name)
        try:
            raise requests.exceptions.ConnectionError("Connection refused")
        except requests.exceptions.ConnectionError:
            raise RuntimeError(f"API request to /{name} failed") from None  # MLflow drops the `from`: context kept

    def get_run(self, run_id):
        self._refuse("get_run")

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        self._refuse("log_batch")

    def log_artifact(self, run_id, local_path, artifact_path=None):
        self._refuse("log_artifact")

    def create_run(self, experiment_id, run_name=None, tags=None):
        raise ValueError("RESOURCE_DOES_NOT_EXIST: experiment 7")  # the server answered: a real error


def test_guarded_client_asks_a_dead_server_once_then_skips_and_lists(capsys):
    down = _Down()
    client = Guarded(down, "http://team:5000")
    client.roles = {"parent": "r1", "classifier": "r2", "tracking_uri": "http://team:5000"}
    assert client.log_batch("r1", params=[1]) is None  # nothing back: skipped, noted
    assert "does not answer (log_batch: ConnectionError: Connection refused)" in capsys.readouterr().out
    assert client.log_artifact("r2", "/run/report.md") is None
    with pytest.raises(StoreUnreachable):  # something back: the caller cannot go on
        client.get_run("r2")
    assert down.calls == ["log_batch"]  # asked once: every later call skipped without waiting on retries
    with unless_down(client, "detector", "results"):
        client.get_run("r3")
    client.try_again()
    assert client.log_batch("r2", metrics=[1]) is None and down.calls == ["log_batch", "log_batch"]
    assert client.lost == {"parent": ["params"], "classifier": ["artifact report.md", "metrics"],
                           "detector": ["results"]}  # fmt: skip
    text = client.summary("/runs/x")
    assert "`clsdet log /runs/x --tracking-uri http://team:5000`" in text
    assert "parent: params; classifier: artifact report.md, metrics; detector: results" in text
    assert capsys.readouterr().out.count("does not answer") == 0  # the first warning only once


def test_guarded_client_lets_real_errors_through():
    client = Guarded(_Down(), "http://team:5000")
    with pytest.raises(ValueError, match="RESOURCE_DOES_NOT_EXIST"):
        client.create_run("7", run_name="x")
    assert client.down is None and client.summary() is None


def test_the_harness_bounds_mlflow_http_retries_unless_the_user_set_them(monkeypatch):
    from benchmarks.tracking.guard import bound_http_requests

    for key in HTTP_DEFAULTS:
        monkeypatch.setenv(key, "0")
        monkeypatch.delenv(key)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    bound_http_requests()
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
    )

    assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == 3 and MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get() == 1
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 300  # the user's value wins
