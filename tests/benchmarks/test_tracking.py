"""MLflow tracking against a sqlite store in tmp: parent + nested runs, params, metrics, artifacts, end states."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks import tracking
from benchmarks.record import load_results

FIXTURE = Path(__file__).parent / "fixtures" / "results_example.json"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def client(store):
    return tracking.client_for(store)


@pytest.fixture
def run_dir(tmp_path) -> Path:
    shutil.copy(FIXTURE, tmp_path / "results.json")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "cost_breakdown.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (tmp_path / "report.md").write_text("# report\n")
    (tmp_path / "classifier" / "checkpoints").mkdir(parents=True)
    (tmp_path / "classifier" / "checkpoints" / "best.ckpt").write_bytes(b"weights")
    (tmp_path / "classifier" / "history.csv").write_text("epoch\n0\n")  # not a weight file: not logged
    (tmp_path / "detector").mkdir()
    (tmp_path / "detector" / "best.pt").write_bytes(b"weights")
    return tmp_path


def _artifacts(client, run_id: str, path: str | None = None) -> set[str]:
    out = set()
    for f in client.list_artifacts(run_id, path):
        out |= _artifacts(client, run_id, f.path) if f.is_dir else {f.path}
    return out


def test_parent_and_nested_runs_with_params_metrics_artifacts(store, client, run_dir):
    results = load_results(run_dir)
    with tracking.tracking_run(results, run_dir, tracking_uri=store) as runs:
        assert runs["tracking_uri"] == store
        assert runs.start_nested("classifier") == runs["classifier"]  # existing: same id
        ids = tracking.log_results(run_dir)
    assert ids == {"parent": runs["parent"], "classifier": runs["classifier"], "detector": runs["detector"]}
    parent = client.get_run(runs["parent"])
    assert parent.info.status == "FINISHED"
    assert parent.data.params["classifier.epochs"] == "6"
    assert parent.data.params["classes"] == '["circle", "square", "triangle"]'
    assert parent.data.metrics["labeling_hours/cvat"] == pytest.approx(1.5083)
    assert parent.data.tags["mlflow.source.git.commit"].startswith("731db2d8")
    assert {"results.json", "report.md", "plots/cost_breakdown.png"} <= _artifacts(client, runs["parent"])
    exp = client.get_experiment(parent.info.experiment_id)
    assert exp.artifact_location == (Path(store[len("sqlite:///") :]).parent / "mlartifacts").as_uri()

    for model in ("classifier", "detector"):
        run = client.get_run(runs[model])
        assert run.data.tags[tracking.PARENT_TAG] == runs["parent"]
        assert run.info.status == "FINISHED"
        assert run.data.params["name"] == results["models"][model]["name"]
        assert run.data.metrics["macro_ap"] == pytest.approx(results["models"][model]["accuracy"]["macro_ap"])
        hist = client.get_metric_history(runs[model], "val/macro_ap")
        assert [m.step for m in sorted(hist, key=lambda m: m.step)] == list(range(6))
    cls = client.get_run(runs["classifier"]).data
    # newest of the twice-measured cell; another machine's cells carry its host name
    assert cls.metrics["latency_ms_p50/cpu/b1/model"] == pytest.approx(8.856, abs=0.01)
    assert "latency_ms_p50/cuda/b1/model/gpu-box" in cls.metrics
    assert not any(k.startswith("latency_ms_p50/mps") for k in cls.metrics)  # unavailable: no number
    det = client.get_run(runs["detector"]).data
    assert "metrics/mAP50_B" in det.metrics  # sanitised from metrics/mAP50(B)
    assert det.metrics["box_map50"] == pytest.approx(0.861)
    assert _artifacts(client, runs["classifier"]) == {"weights/checkpoints/best.ckpt"}
    assert _artifacts(client, runs["detector"]) == {"weights/best.pt"}


def test_exception_marks_failed(store, client, run_dir):
    with pytest.raises(ValueError, match="boom"), tracking.tracking_run(load_results(run_dir), run_dir, store) as runs:
        raise ValueError("boom")
    for role in ("parent", "classifier", "detector"):
        assert client.get_run(runs[role]).info.status == "FAILED"


def test_keyboard_interrupt_marks_killed(store, client, run_dir):
    with pytest.raises(KeyboardInterrupt), tracking.tracking_run(load_results(run_dir), run_dir, store) as runs:
        raise KeyboardInterrupt
    assert client.get_run(runs["parent"]).info.status == "KILLED"
    assert client.get_run(runs["detector"]).info.status == "KILLED"


def test_resume_reopens_the_interrupted_runs(store, client, run_dir):
    with pytest.raises(KeyboardInterrupt), tracking.tracking_run(load_results(run_dir), run_dir, store) as first:
        raise KeyboardInterrupt
    assert client.get_run(first["parent"]).info.status == "KILLED"
    with tracking.tracking_run(load_results(run_dir), run_dir, store) as second:
        assert client.get_run(second["parent"]).info.status == "RUNNING"
    assert {r: second[r] for r in ("parent", "classifier", "detector")} == {
        r: first[r] for r in ("parent", "classifier", "detector")
    }
    assert client.get_run(first["parent"]).info.status == "FINISHED"
    parents = client.search_runs([first["experiment_id"]], f"tags.`clsdet.run_dir` = '{run_dir.resolve()}'")
    assert len({r.info.run_id for r in parents}) == 3  # one parent + two nested, not a second set


def test_log_results_alone_and_long_params(store, client, run_dir):
    import json

    res = json.loads((run_dir / "results.json").read_text())
    res["config"]["classifier"]["notes"] = "x" * 7000
    (run_dir / "results.json").write_text(json.dumps(res))
    ids = tracking.log_results(run_dir, tracking_uri=store, experiment="alone")
    parent = client.get_run(ids["parent"])
    assert parent.info.status == "FINISHED"
    assert parent.data.params["classifier.notes"].endswith("...[truncated]")
    assert "classifier.notes" in parent.data.tags["clsdet.params_truncated"]
    assert client.get_experiment_by_name("alone").experiment_id == parent.info.experiment_id


def test_default_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = tracking.default_tracking_uri()
    from benchmarks.paths import REPO

    assert uri == f"sqlite:///{REPO / 'results' / 'mlflow.db'}"
    assert tracking.artifact_location_for(uri) == (REPO / "results" / "mlartifacts").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking.default_tracking_uri() == "http://mlflow.example:5000"
    assert tracking.artifact_location_for("http://mlflow.example:5000") is None


def test_metric_names_are_sanitised():
    assert tracking.metric_name("metrics/mAP50-95(B)") == "metrics/mAP50-95_B"
    assert tracking.metric_name("ap/../cat:dog") == "ap/cat_dog"


def test_store_and_experiment_from_a_config(store, client, run_dir):
    class Cfg:  # what the harness passes: a BenchConfig (anything with to_dict())
        def to_dict(self):
            return {
                "name": "demo",
                "mlflow": {"tracking_uri": store, "experiment": "from-config"},
                "classifier": {"epochs": 3},
            }

    with tracking.tracking_run(Cfg(), run_dir) as runs:
        pass
    assert client.get_experiment_by_name("from-config").experiment_id == runs["experiment_id"]
    assert client.get_run(runs["classifier"]).data.params["epochs"] == "3"
    assert client.get_run(runs["parent"]).data.tags["clsdet.benchmark"] == "demo"
