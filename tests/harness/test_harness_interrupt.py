"""Ctrl-C is an interruption for every pipeline: KeyboardInterrupt through the job runner, exit 130, job status
`interrupted`, MLflow KILLED; a resumed classifier does not log the same steps twice into its MLflow run."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.cli import main  # noqa: E402

SMALL = {"backbone": "mobilenet_v3_small", "imgsz": 32, "batch": 4, "workers": 0, "warmup_epochs": 0}


def _images(folder: Path, n: int) -> tuple[list[str], np.ndarray]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        paths.append(str(folder / f"{i}.png"))
    targets = np.asarray([[i % 2, (i // 2) % 2] for i in range(n)], dtype=np.float32)
    return paths, targets


def test_ctrl_c_in_classifier_training_is_a_keyboard_interrupt(tmp_path, monkeypatch):
    from classifier import ClassifierConfig, train
    from classifier import training as T  # noqa: N812

    def press_ctrl_c(self, trainer, pl_module):
        raise KeyboardInterrupt

    monkeypatch.setattr(T.StartEpoch, "on_train_start", press_ctrl_c)
    paths, targets = _images(tmp_path / "img", 8)
    before = signal.getsignal(signal.SIGINT)
    # Lightning turns Ctrl-C into sys.exit(1) with SIGINT ignored: the harness saw a failure, exit 1, MLflow FAILED
    with pytest.raises(KeyboardInterrupt):
        train(paths, targets, paths, targets, ["a", "b"], ClassifierConfig(epochs=1, **SMALL), tmp_path / "out",
              progress=False)  # fmt: skip
    assert signal.getsignal(signal.SIGINT) is before  # a second Ctrl-C still stops the process


def test_resumed_classifier_logs_each_step_once(tmp_path):
    import mlflow

    from classifier import ClassifierConfig, train

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    run_id = client.create_run(client.create_experiment("t", (tmp_path / "art").as_uri())).info.run_id
    paths, targets = _images(tmp_path / "img", 8)
    cfg = ClassifierConfig(epochs=1, **SMALL)
    # the same steps twice into the handed-over run, as a job interrupted after its checkpoint and resumed would
    for attempt in ("a", "b"):
        train(paths, targets, paths, targets, ["a", "b"], cfg, tmp_path / attempt, progress=False, tracking_uri=uri,
              mlflow_run_id=run_id)  # fmt: skip
    for key in client.get_run(run_id).data.metrics:
        steps = [m.step for m in client.get_metric_history(run_id, key)]
        assert len(steps) == len(set(steps)), key


def test_ctrl_c_in_a_job_exits_130_and_marks_everything_interrupted(fake, tmp_path, capsys):
    FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,))
    FP.FAIL["classifier/f1-s0"] = KeyboardInterrupt()
    args = ["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "runs"), "--device", "cpu"]
    assert main(args) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted"
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "jobs/classifier/f1-s0/status.json").read_text())["status"] == "interrupted"
    assert json.loads((run / "stages.json").read_text())["stages"]["train"]["status"] == "interrupted"
    import mlflow

    runs = json.loads((run / "mlflow_runs.json").read_text())
    client = mlflow.MlflowClient(runs["tracking_uri"])
    assert client.get_run(runs["parent"]).info.status == "KILLED"
    assert client.get_run(runs["classifier"]).info.status == "KILLED"


pytestmark = pytest.mark.e2e  # the second tier (make test-e2e): bench subprocesses stopped by real signals

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


def _bench(tmp_path, *extra, block=None):
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("FAKE_PIPELINE_BLOCK", None)
    if block:
        env["FAKE_PIPELINE_BLOCK"] = block
    driver = DRIVER.format(tests=str(Path(__file__).parents[1]))
    args = ["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "runs"), "--device", "cpu", *extra]
    # a session of its own: the test signals its whole process group, as `timeout`, docker and SLURM do
    return subprocess.Popen([sys.executable, "-c", driver, *args], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def test_sigterm_to_the_process_group_is_an_interruption_and_resume_continues(fake, tmp_path):
    """SIGTERM to the whole group during training (its DataLoader workers die with it): the job and the stage are
    interrupted, not failed, the next job never starts, MLflow runs are KILLED, exit 143; `--resume` finishes."""
    import os
    import time

    FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,))
    proc = _bench(tmp_path, block="classifier/f1-s0")
    deadline = time.monotonic() + 120  # a guard against a hang, not a timing assertion
    while not list((tmp_path / "runs").glob("*/jobs/classifier/f1-s0/training_started")):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the training never started"
        time.sleep(0.1)
    time.sleep(0.5)  # the DataLoader workers are up
    os.killpg(proc.pid, signal.SIGTERM)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 143, out  # 128 + SIGTERM, as a shell reports it; Ctrl-C stays 130
    assert "terminated (SIGTERM)" in out, out
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "jobs/classifier/f1-s0/status.json").read_text())["status"] == "interrupted", out
    assert json.loads((run / "stages.json").read_text())["stages"]["train"]["status"] == "interrupted"
    assert not (run / "jobs/detector/f1-s0/status.json").exists(), "the next job started after the signal"
    import mlflow

    runs = json.loads((run / "mlflow_runs.json").read_text())
    client = mlflow.MlflowClient(runs["tracking_uri"])
    assert client.get_run(runs["parent"]).info.status == "KILLED"
    assert client.get_run(runs["classifier"]).info.status == "KILLED", out

    resumed = _bench(tmp_path, "--resume")
    out = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, out
    for job in ("classifier/f1-s0", "detector/f1-s0"):
        assert json.loads((run / "jobs" / job / "status.json").read_text())["status"] == "done"


def test_disk_full_in_training_stops_the_run_with_one_line_and_resume_continues(fake, tmp_path, capsys):
    import errno

    FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,))
    FP.FAIL["classifier/f1-s0"] = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "weights.pt"))
    args = ["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "runs"), "--device", "cpu"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: disk full writing {tmp_path / 'weights.pt'} (training f1-s0): "), err
    assert "then run the same command with --resume" in err[-1]
    (run,) = (tmp_path / "runs").iterdir()
    assert json.loads((run / "jobs/classifier/f1-s0/status.json").read_text())["status"] == "failed"
    assert not (run / "jobs/detector/f1-s0/status.json").exists()  # it would have hit the same full disk
    assert main([*args, "--resume"]) == 0  # space freed: the same command with --resume finishes
    assert json.loads((run / "jobs/classifier/f1-s0/status.json").read_text())["status"] == "done"


def test_resume_from_a_checkpoint_cut_off_by_a_full_disk_trains_from_the_start(tmp_path, capsys):
    from classifier import ClassifierConfig, train

    paths, targets = _images(tmp_path / "img", 8)
    cfg = ClassifierConfig(epochs=1, keep_checkpoints=True, **SMALL)
    train(paths, targets, paths, targets, ["a", "b"], cfg, tmp_path / "out", progress=False)
    last = tmp_path / "out" / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # what a full disk leaves ...
    (tmp_path / "out" / "weights.pt").unlink()  # ... before the training could finish
    train(paths, targets, paths, targets, ["a", "b"], cfg, tmp_path / "out", progress=False, resume=True)
    assert "last.ckpt is damaged (cut off while written; kept as last.ckpt.damaged)" in capsys.readouterr().out
    assert (tmp_path / "out" / "checkpoints" / "last.ckpt.damaged").is_file()
    assert (tmp_path / "out" / "weights.pt").is_file()
