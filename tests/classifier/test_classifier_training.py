"""A short CPU training on synthetic shapes: artifact contents, round-trip, thresholds from val only, resume."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from classifier import ClassifierConfig, load, train

FAST = {"backbone": "resnet18", "imgsz": 64, "batch": 16, "lr": 2e-3, "workers": 0, "warmup_epochs": 0.5}


@pytest.fixture(scope="module")
def trained(shapes, tmp_path_factory):
    (tr_paths, tr_t), (va_paths, va_t) = shapes["train"], shapes["val"]
    tr_t = tr_t.copy()
    tr_t[::7, 1] = np.nan  # some NA labels for one class
    root = tmp_path_factory.mktemp("run")
    # an existing MLflow run, as the harness hands one over: train() logs into it and leaves it open
    import mlflow

    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("t", artifact_location=(root / "mlartifacts").as_uri())
    run_id = client.create_run(exp).info.run_id
    cfg = ClassifierConfig(epochs=4, **FAST)
    artifact = train(
        tr_paths, tr_t, va_paths, va_t, shapes["classes"], cfg, root / "artifact",
        tracking_uri=uri, mlflow_run_id=run_id, progress=False,
    )  # fmt: skip
    return artifact, cfg, client, run_id


def test_artifact_folder_holds_everything(trained, shapes):
    artifact, cfg = trained[:2]
    for name in ("weights.pt", "config.json", "classes.json", "thresholds.json", "normalization.json",
                 "history.csv", "training.json"):  # fmt: skip
        assert (artifact / name).is_file(), name
    assert json.loads((artifact / "classes.json").read_text()) == shapes["classes"]
    assert ClassifierConfig.load(artifact / "config.json") == cfg
    summary = json.loads((artifact / "training.json").read_text())
    for key in ("train_wall_s", "epochs_run", "s_per_epoch", "train_images_per_s",
                "best_epoch", "best_val_macro_ap", "device", "precision", "workers", "threads"):  # fmt: skip
        assert key in summary, key
    assert summary["epochs_run"] == 4
    assert summary["device"] == "cpu"
    assert summary["precision"] == "32-true"
    hist = pd.read_csv(artifact / "history.csv")
    assert list(hist["epoch"]) == [1, 2, 3, 4]  # numbered from 1, as the detector's epochs
    assert summary["best_epoch"] == int(hist.loc[hist["val/macro_ap"].idxmax(), "epoch"])
    # the artifact is written, so Lightning's checkpoints are gone (keep_checkpoints=False is the default)
    assert not (artifact / "checkpoints").exists()
    for col in ("train/loss", "train/macro_ap", "val/macro_ap", "val/micro_f1", "val/macro_f1", "val/hamming",
                "val/exact_match"):  # fmt: skip
        assert hist[col].notna().all(), col
    assert summary["best_val_macro_ap"] == pytest.approx(hist["val/macro_ap"].max())
    norm = json.loads((artifact / "normalization.json").read_text())
    assert norm["source"].startswith("train split")  # scratch: statistics of the train images


def test_training_learns_the_shapes(trained):
    hist = pd.read_csv(trained[0] / "history.csv")
    assert hist["train/loss"].iloc[-1] < hist["train/loss"].iloc[0]
    assert hist["val/macro_ap"].max() > 0.8  # 3 balanced classes: chance AP is ~0.5


def test_loaded_predictor_gives_the_trained_models_scores(trained, shapes):
    artifact = trained[0]
    pred = load(artifact, device="cpu")
    va_paths = shapes["val"][0]
    scores = pred.predict_scores(va_paths, batch_size=5)
    assert scores.shape == (len(va_paths), 3)
    assert scores.dtype == np.float32
    # val_scores.npy was computed inside train() by the in-memory network
    assert np.allclose(scores, np.load(artifact / "val_scores.npy"), atol=1e-5)
    assert not pred.model.training
    assert pred.classes == shapes["classes"]
    assert pred.imgsz == 64
    batch = pred.example_input(2)
    assert batch.shape == (2, 3, 64, 64)
    assert pred.forward(batch).shape == (2, 3)
    encoded = [p.read_bytes() for p in va_paths[:4]]
    decisions = pred.end_to_end(encoded)
    assert decisions.dtype == bool
    assert np.array_equal(decisions, scores[:4] >= pred.thresholds)


def test_training_leaves_thresholds_to_the_harness(trained):
    pred = load(trained[0])
    assert np.allclose(pred.thresholds, 0.5)  # tuned on val by benchmarks.harness.jobs, the same for every model
    pred.save_thresholds(np.array([0.2, 0.3, 0.4]))
    assert np.allclose(load(trained[0]).thresholds, [0.2, 0.3, 0.4])
    pred.save_thresholds(np.full(3, 0.5))


@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty")  # resuming into it is the point
def test_resume_continues_from_last_checkpoint(shapes, tmp_path, capfd):
    (tr_paths, tr_t), (va_paths, va_t) = shapes["train"], shapes["val"]
    tr_paths, tr_t = tr_paths[:32], tr_t[:32]
    out = tmp_path / "artifact"
    small = FAST | {"imgsz": 48, "backbone": "mobilenet_v3_small", "keep_checkpoints": True}
    train(tr_paths, tr_t, va_paths, va_t, shapes["classes"], ClassifierConfig(epochs=1, **small), out, progress=True)
    assert (out / "checkpoints" / "last.ckpt").is_file()  # kept when asked
    # output is not a terminal here: one line per epoch, no progress bar redrawn with carriage returns
    printed = capfd.readouterr()
    assert "\r" not in printed.out + printed.err
    line = r"^  classifier epoch 1/1: train loss \d\.\d{3}, val macro AP \d\.\d{3} \| \d+\.\d s$"
    assert len(re.findall(line, printed.out, re.M)) == 1, printed.out
    cfg2 = ClassifierConfig(epochs=2, **small)
    train(tr_paths, tr_t, va_paths, va_t, shapes["classes"], cfg2, out, resume=True, progress=False)
    hist = pd.read_csv(out / "history.csv")
    assert list(hist["epoch"]) == [1, 2]  # epoch 1 from the first call, epoch 2 from the resumed one
    summary = json.loads((out / "training.json").read_text())
    assert summary["epochs_run"] == 2
    # the resumed call logged (so trained) epoch 1 only
    second = pd.read_csv(out / "lightning" / "csv" / "version_1" / "metrics.csv")
    assert set(second["epoch"]) == {1}


def test_mlflow_run_gets_metrics_and_stays_open(trained):
    _, _, client, run_id = trained
    run = client.get_run(run_id)
    assert run.info.status == "RUNNING"  # the harness owns the run and ends it
    assert "val/macro_ap" in run.data.metrics
    assert len(client.get_metric_history(run_id, "train/loss")) == 4
    assert run.data.params["classifier.backbone"] == "resnet18"
