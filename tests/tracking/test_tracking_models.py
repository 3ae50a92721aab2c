"""`--log-models`: each candidate as an MLflow pyfunc model, loaded back with mlflow.pyfunc.load_model and predicting
on image paths and on encoded bytes, with its class names and thresholds (the fake pipeline: trains instantly)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from benchmarks import tracking

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results_example.json"


def _pixel_scores(paths, classes):
    """Scores from the pixels (mean of each colour channel): the same for a file and for its bytes elsewhere."""
    rows = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32).mean(axis=(0, 1)) / 255.0 for p in paths]
    return np.asarray(rows)[:, : len(classes)]


@pytest.fixture
def logged(fake, tmp_path):
    """A run folder whose two models are fake artifacts, logged with log_models=True: (store, run ids, images)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(FIXTURE, run_dir / "results.json")
    classes = json.loads(FIXTURE.read_text())["data"]["classes"]
    for model in ("classifier", "detector"):
        fake.fit([], [], classes, fake.FakeConfig(), run_dir / model)
        (run_dir / model / "thresholds.json").write_text(json.dumps({"thresholds": [0.3, 0.5, 0.7]}))
        (run_dir / model / "checkpoints").mkdir()
        (run_dir / model / "checkpoints" / "last.ckpt").write_bytes(b"training's working copy")
    fake.SCORES = _pixel_scores
    images = []
    for i, rgb in enumerate([(200, 100, 20), (20, 150, 250)]):
        images.append(tmp_path / f"im{i}.png")
        Image.new("RGB", (16, 16), rgb).save(images[-1])
    store = fake.mlflow_store(tmp_path)
    ids = tracking.log_results(run_dir, tracking_uri=store, experiment="models", log_models=True)
    return store, ids, images, classes


def _load(store: str, uri: str):
    import mlflow.pyfunc
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    with _use_tracking_uri(store):
        return mlflow.pyfunc.load_model(uri)


def test_each_candidate_is_a_pyfunc_model_that_predicts_paths_and_bytes(logged):
    store, ids, images, classes = logged
    client = tracking.client_for(store)
    for model in ("classifier", "detector"):
        tags = client.get_run(ids[model]).data.tags
        assert "clsdet.model_error" not in tags
        loaded = _load(store, tags["clsdet.model_uri"])
        meta = loaded.metadata.metadata
        assert meta["classes"] == classes and meta["thresholds"] == [0.3, 0.5, 0.7]
        # the model holds the artifact (the fake predictor knows its folder) without training's working folders
        art = loaded.unwrap_python_model().predictor.artifact
        assert {"weights.pt", "thresholds.json", "config.json"} <= {f.name for f in art.iterdir()}
        assert not (art / "checkpoints").exists()

        out = loaded.predict(pd.DataFrame({"path": [str(p) for p in images]}))
        expected = _pixel_scores(images, classes)
        assert list(out["path"]) == [str(p) for p in images]
        assert np.allclose(out[[f"score/{c}" for c in classes]].to_numpy(), expected)
        decided = expected >= np.array([0.3, 0.5, 0.7])
        assert (out[[f"label/{c}" for c in classes]].to_numpy() == decided).all()
        assert list(out["labels"]) == [",".join(c for c, d in zip(classes, row) if d) for row in decided]

        by_bytes = loaded.predict(pd.DataFrame({"image": [p.read_bytes() for p in images]}))
        assert list(by_bytes["path"]) == ["", ""]
        assert np.allclose(by_bytes[[f"score/{c}" for c in classes]].to_numpy(), expected)


def test_logging_the_run_again_keeps_one_model_per_candidate(logged, tmp_path):
    store, ids, _, _ = logged
    client = tracking.client_for(store)
    before = {m: client.get_run(ids[m]).data.tags["clsdet.model_uri"] for m in ("classifier", "detector")}
    again = tracking.log_results(tmp_path / "run", tracking_uri=store, experiment="models", log_models=True)
    assert again == ids  # the same runs, reopened from mlflow_runs.json (as `clsdet bench --resume` does)
    assert {m: client.get_run(ids[m]).data.tags["clsdet.model_uri"] for m in before} == before
    exp = client.get_run(ids["parent"]).info.experiment_id
    assert len(client.search_logged_models(experiment_ids=[exp])) == 2


def test_the_model_names_a_bad_row(logged, tmp_path):
    store, ids, _, _ = logged
    loaded = _load(store, tracking.client_for(store).get_run(ids["classifier"]).data.tags["clsdet.model_uri"])
    with pytest.raises(Exception, match=r"row 1: `path` .*missing.png.* is not a file"):
        loaded.predict(pd.DataFrame({"path": [str(tmp_path / "im0.png"), str(tmp_path / "missing.png")]}))
    with pytest.raises(Exception, match=r"row 0: `image` is not an encoded image"):
        loaded.predict(pd.DataFrame({"image": [b"not an image"]}))


def test_the_model_registers_and_parses_a_serving_request(logged):
    """What `mlflow models serve` does with a request: JSON `dataframe_split`, bytes as base64 (the signature)."""
    import base64

    import mlflow
    from mlflow.models import validate_serving_input
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    store, ids, images, classes = logged
    uri = tracking.client_for(store).get_run(ids["detector"]).data.tags["clsdet.model_uri"]
    request = json.dumps({
        "dataframe_split": {
            "columns": ["path", "image"],
            # no nulls in a binary column of a request (MLflow base64-decodes every value): "" is "no bytes"
            "data": [[str(images[0]), ""], ["", base64.b64encode(images[1].read_bytes()).decode()]],
        }
    })  # fmt: skip
    with _use_tracking_uri(store):
        version = mlflow.register_model(uri, "clsdet-detector")
        out = validate_serving_input(f"models:/clsdet-detector/{version.version}", request)
    assert list(out["path"]) == [str(images[0]), ""]
    assert np.allclose(out[[f"score/{c}" for c in classes]].to_numpy(), _pixel_scores(images, classes))


def test_a_real_runs_models_round_trip(tmp_path_factory, tmp_path):
    """The session's tiny trained run (tests/app/tiny_run.py): the pyfunc model of each candidate scores files and
    bytes as its own predictor does, at its tuned thresholds."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
    import fake_pipeline as FP  # noqa: N812 - only for its migrated empty store
    from tiny_run import tiny_run

    from benchmarks.record import load_results
    from benchmarks.registry.pipelines import load_predictor
    from benchmarks.tracking.pyfunc_model import log_pyfunc

    run_dir = tiny_run(tmp_path_factory)
    store = FP.mlflow_store(tmp_path)
    client = tracking.client_for(store)
    exp = tracking.ensure_experiment(client, "real", tracking.artifact_location_for(store))
    run_id = client.create_run(exp).info.run_id
    images = sorted((run_dir / "latency_images").iterdir())[:3]
    for name, entry in load_results(run_dir)["models"].items():
        art = run_dir / entry["artifact"]
        model = _load(store, log_pyfunc(client, run_id, name, entry["pipeline"], art, tracking.SCRATCH_DIRS))
        pred = load_predictor(entry["pipeline"], art, "cpu")
        expected = np.asarray(pred.predict_scores([str(p) for p in images]))
        cols = [f"score/{c}" for c in pred.classes]
        by_path = model.predict(pd.DataFrame({"path": [str(p) for p in images]}))
        by_bytes = model.predict(pd.DataFrame({"image": [p.read_bytes() for p in images]}))
        assert np.allclose(by_path[cols].to_numpy(), expected, atol=1e-5), name
        assert np.allclose(by_bytes[cols].to_numpy(), expected, atol=1e-5), name
        decided = expected >= np.asarray(pred.thresholds)[None, :]
        assert (by_path[[f"label/{c}" for c in pred.classes]].to_numpy() == decided).all(), name
