"""Run folders and the MLflow store under misuse: unsafe names, bad --threads, read-only places, two benches on one
folder or one new store, runs left RUNNING by a killed bench."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.cli import main  # noqa: E402
from benchmarks.config import ConfigError, load_config  # noqa: E402
from benchmarks.harness import run_bench  # noqa: E402


def _config(tmp_path: Path, **changes) -> Path:
    doc = {"name": "demo", "classes": ["a"], "sources": {"s": {"reader": "folders", "path": "f"}}, **changes}
    f = tmp_path / "bench.yaml"
    f.write_text(json.dumps(doc))
    return f


@pytest.mark.parametrize("name", ["../../x", "team/parts", "a" * 240, ".hidden", ""])
def test_unsafe_benchmark_name_fails_at_load(tmp_path, name):
    with pytest.raises(ConfigError, match=r"`name` = .*folder name"):
        load_config(_config(tmp_path, name=name))


def test_run_folder_stays_inside_the_runs_folder_whatever_the_name(tmp_path):
    from benchmarks.harness.run import new_run_dir

    cfg = load_config(_config(tmp_path))
    for name in ("../../x", "team/parts", "a" * 240):
        cfg.name = name  # bypassing the load-time check
        run = new_run_dir(tmp_path / "runs", cfg, "0123456789")
        assert run.parent == tmp_path / "runs" and len(run.name) < 100


@pytest.mark.parametrize("value", ["-3", "0"])
def test_threads_below_one_is_one_clear_error(tmp_path, capsys, value):
    before = os.environ.get("OMP_NUM_THREADS")
    assert main(["bench", str(_config(tmp_path)), "--threads", value, "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --threads = ") and ">= 1" in err[0]
    assert os.environ.get("OMP_NUM_THREADS") == before  # nothing applied
    assert not (tmp_path / "runs").exists()


def test_latency_threads_below_one_fails_at_load(tmp_path):
    with pytest.raises(ConfigError, match=r"`latency.threads` = \[0\] must be >= 1"):
        load_config(_config(tmp_path, latency={"threads": 0}))


def test_threads_from_the_environment_are_checked_too(monkeypatch):
    from benchmarks import runtime

    monkeypatch.setenv("CLSDET_THREADS", "-1")
    with pytest.raises(runtime.SetupError, match=r"\$CLSDET_THREADS = '-1'"):
        runtime.setup()


def _deny(monkeypatch, *folders: Path) -> None:
    """os.access says 'not writable' for these folders (the tests run as root, where chmod does not stop writes)."""
    real = os.access
    denied = {str(Path(f).absolute()) for f in folders}
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: str(Path(p).absolute()) not in denied and real(p, mode))


def test_read_only_runs_folder_is_one_error_line_and_nothing_written(fake, tmp_path, monkeypatch, capsys):
    cfg = FP.make_bench(tmp_path, FP.random_labels(12))
    (tmp_path / "runs").mkdir()
    _deny(monkeypatch, tmp_path / "runs")
    args = ["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "runs"), "--device", "cpu"]
    assert main(args) == 2
    # MLflow's own INFO lines when a test store is first opened are its logging, not our message
    err = [x for x in capsys.readouterr().err.strip().splitlines() if " INFO mlflow" not in x]
    assert err == [f"error: the runs folder {tmp_path / 'runs'} is not writable: it is read-only; choose another "
                   "with --out, or fix its permissions"]  # fmt: skip
    assert list((tmp_path / "runs").iterdir()) == []
    assert cfg.name == "fake"


def test_read_only_mlflow_folder_fails_before_the_run_folder_exists(fake, tmp_path, monkeypatch, capsys):
    FP.make_bench(tmp_path, FP.random_labels(12))
    store = tmp_path / "store"
    store.mkdir()
    _deny(monkeypatch, store)
    args = ["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "runs"), "--device", "cpu"]
    t0 = time.perf_counter()
    assert main([*args, "--tracking-uri", f"sqlite:///{store / 'mlflow.db'}"]) == 2
    assert time.perf_counter() - t0 < 30  # not MLflow's ~105 s of retries
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: the MLflow store's folder {store} is not writable")
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


@pytest.mark.parametrize("command", ["report", "latency"])
def test_read_only_run_folder_for_report_and_latency(tmp_path, monkeypatch, capsys, command):
    run = tmp_path / "run"
    run.mkdir()
    _deny(monkeypatch, run)
    assert main([command, str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: the run folder {run} is not writable")


def test_second_bench_on_a_held_run_folder_fails_clearly(fake, tmp_path):
    from benchmarks.lock import RunFolderBusyError, hold_run_folder

    cfg = FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,))
    FP.FAIL["detector/f1-s0"] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        run_bench(cfg, tmp_path / "runs", devices=["cpu"], echo=lambda s: None)
    (run,) = (tmp_path / "runs").iterdir()
    FP.CALLS.clear()
    busy = pytest.raises(RunFolderBusyError, match=rf"run folder {run} is in use .*pid {os.getpid()}")
    with hold_run_folder(run), busy:  # another bench is resuming it
        run_bench(cfg, tmp_path / "runs", resume=True, devices=["cpu"], echo=lambda s: None)
    assert FP.CALLS == []  # it trained nothing into the folder
    assert run_bench(cfg, tmp_path / "runs", resume=True, devices=["cpu"], echo=lambda s: None) == run
    assert len(FP.CALLS) == 1  # the held folder is free again: the interrupted job trains


def test_opening_a_new_store_waits_for_the_one_creating_it(tmp_path):
    from filelock import FileLock

    from benchmarks import tracking

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = threading.Event()

    def open_store():
        tracking.start_session({}, tmp_path / "run", uri).end()
        done.set()

    with FileLock(str(tmp_path / "mlflow.db.lock")):  # another bench is migrating the new store
        t = threading.Thread(target=open_store)
        t.start()
        assert not done.wait(3)
        assert not (tmp_path / "mlflow.db").exists()
    t.join(120)
    assert done.is_set()


def test_runs_a_killed_bench_left_running_are_closed(tmp_path):
    from benchmarks import tracking
    from benchmarks.lock import hold_run_folder

    uri = FP.mlflow_store(tmp_path)
    dead, alive = tmp_path / "runs" / "dead", tmp_path / "runs" / "alive"
    for d in (dead, alive):
        d.mkdir(parents=True)
    cfg = {"name": "x", "classifier": {"epochs": 1}}
    s_dead = tracking.start_session({"config": cfg}, dead, uri)  # never ended: its process was SIGKILLed
    dead_runs = (s_dead["parent"], s_dead["classifier"])  # its classifier's nested run starts with its training
    with hold_run_folder(alive):
        s_alive = tracking.start_session({"config": cfg}, alive, uri)
        s_new = tracking.start_session({}, tmp_path / "runs" / "new", uri)
        client = s_new.client
        for run_id in dead_runs:
            run = client.get_run(run_id)
            assert run.info.status == "KILLED" and "killed" in run.data.tags["clsdet.closed_reason"]
        assert client.get_run(s_alive["parent"]).info.status == "RUNNING"  # its bench still holds the folder
        s_alive.end()
        s_new.end()


def test_a_sigkilled_bench_s_runs_are_closed_by_the_next_one(tmp_path):
    import signal
    import subprocess

    from benchmarks import tracking

    uri = FP.mlflow_store(tmp_path)
    run_dir = tmp_path / "runs" / "killed"
    run_dir.mkdir(parents=True)
    code = (
        "import sys, time\n"
        "from benchmarks import runtime; runtime.setup(threads=1)\n"
        "from benchmarks import tracking\n"
        "from benchmarks.lock import hold_run_folder\n"
        f"with hold_run_folder({str(run_dir)!r}):\n"
        f"    s = tracking.start_session({{}}, {str(run_dir)!r}, {uri!r})\n"
        "    print(s['parent'], flush=True)\n"
        "    time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        parent = proc.stdout.readline().strip()
        assert parent, "the bench process did not start its MLflow run"
        live = tracking.start_session({}, tmp_path / "runs" / "other", uri)
        assert live.client.get_run(parent).info.status == "RUNNING"  # its process is alive: left alone
        live.end()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    later = tracking.start_session({}, tmp_path / "runs" / "later", uri)
    assert later.client.get_run(parent).info.status == "KILLED"
    later.end()
