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

sys.path.insert(0, str(Path(__file__).parent))
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
