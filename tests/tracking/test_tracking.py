"""MLflow tracking against a sqlite store in tmp: parent + nested runs, params, metrics, artifacts, end states."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks import tracking
from benchmarks.record import load_results

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results_example.json"


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
    (tmp_path / "classifier" / "checkpoints" / "best.ckpt").write_bytes(b"training's working copy")
    (tmp_path / "classifier" / "weights.pt").write_bytes(b"weights")
    (tmp_path / "classifier" / "history.csv").write_text("epoch\n1\n")  # not a weight file: not logged
    (tmp_path / "detector" / "weights").mkdir(parents=True)
    (tmp_path / "detector" / "weights" / "best.pt").write_bytes(b"weights")
    (tmp_path / "detector" / "ultralytics" / "weights").mkdir(parents=True)
    (tmp_path / "detector" / "ultralytics" / "weights" / "best.pt").write_bytes(b"Ultralytics' own copy")
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
    # by default MLflow holds no weights: the run folder has them
    for model in ("classifier", "detector"):
        assert _artifacts(client, runs[model]) == set()
        assert client.get_run(runs[model]).data.tags["clsdet.weights_logged"] == "false"


def test_log_models_logs_the_artifact_weights_only(store, client, run_dir):
    ids = tracking.log_results(run_dir, tracking_uri=store, experiment="with-weights", log_models=True)
    # not Lightning's checkpoints nor Ultralytics' copies: only what a later command loads
    assert _artifacts(client, ids["classifier"]) == {"weights/weights.pt"}
    assert _artifacts(client, ids["detector"]) == {"weights/weights/best.pt"}
    assert client.get_run(ids["detector"]).data.tags["clsdet.weights_logged"] == "true"


def test_log_models_from_the_config(store, client, run_dir):
    res = json.loads((run_dir / "results.json").read_text())
    res["config"]["mlflow"]["log_models"] = True
    (run_dir / "results.json").write_text(json.dumps(res))
    ids = tracking.log_results(run_dir, tracking_uri=store, experiment="weights-by-config")
    assert _artifacts(client, ids["classifier"]) == {"weights/weights.pt"}


def _ms(utc: str) -> int:
    return int(datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp() * 1000)


def test_nested_runs_span_their_training_not_the_benchmark(store, client, run_dir):
    res = json.loads((run_dir / "results.json").read_text())
    res["stages"]["train_classifier"]["finished_utc"] = "2026-11-24T09:28:51Z"  # wall_s 318.0
    res["stages"]["train_detector"]["finished_utc"] = "2026-11-24T09:30:56Z"  # wall_s 560.2
    (run_dir / "results.json").write_text(json.dumps(res))
    t0 = time.time() * 1000
    with tracking.tracking_run(res, run_dir, tracking_uri=store, experiment="durations") as runs:
        assert set(runs.nested) == set()  # no nested run before its training starts
        time.sleep(0.05)
        with runs.training("classifier") as run_id:  # how the harness times a training
            t1 = time.time() * 1000
            time.sleep(0.05)
        t2 = time.time() * 1000
        time.sleep(0.05)
        tracking.log_results(run_dir)
    cls = client.get_run(run_id).info
    assert t0 + 40 < cls.start_time <= t1 and t1 + 40 < cls.end_time <= t2
    assert cls.status == "FINISHED"
    # the detector's run was first created by log_results: it gets its stage's start and end from results.json
    det = client.get_run(runs["detector"]).info
    assert det.end_time == _ms("2026-11-24T09:30:56Z")
    assert det.end_time - det.start_time == 560200
    parent = client.get_run(runs["parent"]).info
    assert parent.end_time > t2  # the parent spans the whole benchmark


def test_a_nested_run_started_by_its_id_ends_when_its_training_ended(store, client, run_dir):
    res = json.loads((run_dir / "results.json").read_text())
    (run_dir / "results.json").write_text(json.dumps(res))
    with tracking.tracking_run(res, run_dir, tracking_uri=store, experiment="by-id") as runs:
        run_id = runs.get("classifier")  # what the harness hands Lightning as the training starts
        start = client.get_run(run_id).info.start_time
        end = datetime.fromtimestamp(start / 1000 + 2.0, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        res["stages"]["train_classifier"] = {"status": "done", "wall_s": 2.0, "finished_utc": end}
        (run_dir / "results.json").write_text(json.dumps(res))
        tracking.log_results(run_dir)
    info = client.get_run(run_id).info
    assert info.end_time == _ms(end)
    assert runs.get("nonsense") is None


def _train_then_fail(runs, roles, exc: BaseException):
    for role in roles:
        runs[role]  # as the harness does when that model's training starts
    raise exc


def test_exception_marks_failed(store, client, run_dir):
    with pytest.raises(ValueError, match="boom"), tracking.tracking_run(load_results(run_dir), run_dir, store) as runs:
        _train_then_fail(runs, ["classifier"], ValueError("boom"))
    for role in ("parent", "classifier"):
        assert client.get_run(runs[role]).info.status == "FAILED"
    assert "detector" not in runs  # never started: no empty run left behind


def test_keyboard_interrupt_marks_killed(store, client, run_dir):
    with pytest.raises(KeyboardInterrupt), tracking.tracking_run(load_results(run_dir), run_dir, store) as runs:
        _train_then_fail(runs, ["detector"], KeyboardInterrupt())
    assert client.get_run(runs["parent"]).info.status == "KILLED"
    assert client.get_run(runs["detector"]).info.status == "KILLED"


def test_resume_reopens_the_interrupted_runs(store, client, run_dir):
    with pytest.raises(KeyboardInterrupt), tracking.tracking_run(load_results(run_dir), run_dir, store) as first:
        _train_then_fail(first, ["classifier", "detector"], KeyboardInterrupt())
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
        runs["classifier"]
    assert client.get_experiment_by_name("from-config").experiment_id == runs["experiment_id"]
    assert client.get_run(runs["classifier"]).data.params["epochs"] == "3"
    assert client.get_run(runs["parent"]).data.tags["clsdet.benchmark"] == "demo"


def test_bench_log_models_flag_sets_the_config(tmp_path):
    from benchmarks.cli import build_parser
    from benchmarks.commands.bench import load_bench_config

    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("name: t\nclasses: [a]\nsources: {f: {reader: folders, path: x}}\nlabels: {classifier: f}\n")
    parser = build_parser()
    assert load_bench_config(parser.parse_args(["bench", str(cfg_file), "--log-models"])).mlflow.log_models is True
    assert load_bench_config(parser.parse_args(["bench", str(cfg_file)])).mlflow.log_models is False


def test_candidate_and_curve_point_runs_take_their_jobs_times(store, client, run_dir):
    """Schema 2: each training is a job, jobs/<candidate>/f<fraction>-s<seed>/ with status.json beside artifact/."""
    res = json.loads((run_dir / "results.json").read_text())
    jobs = run_dir / "jobs"
    (jobs / "classifier" / "f1-s0" / "artifact").mkdir(parents=True)
    (jobs / "classifier" / "f1-s0" / "status.json").write_text(
        json.dumps({"status": "done", "wall_s": 12.5, "finished_utc": "2026-11-24T09:10:00Z"})
    )
    (jobs / "classifier" / "f0.5-s1").mkdir(parents=True)
    (jobs / "classifier" / "f0.5-s1" / "status.json").write_text(
        json.dumps({"status": "done", "wall_s": 4.0, "finished_utc": "2026-11-24T09:12:00.500Z"})
    )
    res["models"]["classifier"]["artifact"] = "jobs/classifier/f1-s0/artifact"
    res["curve"] = {"points": [{"key": "classifier/f0.5-s1", "candidate": "classifier", "fraction": 0.5, "seed": 1}]}
    (run_dir / "results.json").write_text(json.dumps(res))
    ids = tracking.log_results(run_dir, tracking_uri=store, experiment="jobs")
    cls = client.get_run(ids["classifier"]).info
    assert (cls.start_time, cls.end_time) == (_ms("2026-11-24T09:10:00Z") - 12500, _ms("2026-11-24T09:10:00Z"))
    point = client.get_run(ids["curve/classifier/f0.5-s1"]).info
    assert point.end_time - point.start_time == 4000 and point.end_time == _ms("2026-11-24T09:12:00.500Z")
    # a model without a timing record (the detector here) still gets a run, timed by log_results itself
    assert client.get_run(ids["detector"]).info.status == "FINISHED"


def test_tables_and_the_verdict_as_the_description(store, client, run_dir):
    from benchmarks.report.flat import write_flat

    res = json.loads((run_dir / "results.json").read_text())
    res["curve"] = {"verdict": {"text": "The classifier is ahead up to 2 labeling hours."}, "points": []}
    (run_dir / "results.json").write_text(json.dumps(res))
    write_flat(run_dir, load_results(run_dir))  # what the report step writes before the mlflow stage
    ids = tracking.log_results(run_dir, tracking_uri=store, experiment="tables")
    parent = client.get_run(ids["parent"])
    note = parent.data.tags["mlflow.note.content"]
    assert note.startswith("**Verdict.** The classifier is ahead up to 2 labeling hours.")
    ap = res["models"]["classifier"]["accuracy"]["macro_ap"]
    assert f"- classifier: macro AP {ap:.3f}" in note
    assert {"tables/budget.json", "tables/latency.json", "tables/per_class.json"} <= _artifacts(client, ids["parent"])
    out = Path(client.download_artifacts(ids["parent"], "tables/per_class.json", str(run_dir / "dl")))
    table = json.loads(out.read_text())  # log_table's format: {"columns": [...], "data": [[...], ...]}
    rows = [dict(zip(table["columns"], r)) for r in table["data"]]
    per_class = res["models"]["classifier"]["accuracy"]["per_class"]
    assert [r["class"] for r in rows if r["model"] == "classifier"] == list(per_class)
    first = next(iter(per_class))
    assert next(r["ap"] for r in rows if r["model"] == "classifier" and r["class"] == first) == per_class[first]["ap"]
    budget = json.loads(
        Path(client.download_artifacts(ids["parent"], "tables/budget.json", str(run_dir / "dl2"))).read_text()
    )
    assert budget["columns"][:3] == ["run_id", "candidate", "pipeline"] and len(budget["data"]) == len(res["models"])


def test_the_manifest_is_a_dataset_input_of_the_parent_run(store, client, run_dir):
    from benchmarks.tracking.dataset import manifest_digest

    classes = ["circle", "square", "triangle"]
    images = [
        {"id": f"id{i}", "sha256": f"id{i}" * 8, "path": f"/data/im{i}.png", "width": 32, "height": 24,
         "labels": {"cvat": {"circle": i % 2, "square": 1}}, "boxes": {"cvat": [[1, 0, 0, 5, 5]] * (i + 1)}}
        for i in range(3)
    ]  # fmt: skip
    (run_dir / "manifest.json").write_text(json.dumps({"manifest_version": 1, "classes": classes, "images": images}))
    (run_dir / "split.json").write_text(json.dumps({"train": ["id0"], "val": [], "test": ["id2"]}))
    ids = tracking.log_results(run_dir, tracking_uri=store, experiment="dataset")
    inputs = client.get_run(ids["parent"]).inputs.dataset_inputs
    assert len(inputs) == 1
    ds = inputs[0].dataset
    assert ds.digest == manifest_digest(run_dir / "manifest.json")
    assert json.loads(ds.source)["uri"].endswith("manifest.json")
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "benchmark"
    profile = json.loads(ds.profile)
    assert profile["num_rows"] == 3
    cols = [c["name"] for c in json.loads(ds.schema)["mlflow_colspec"]]
    assert cols[:8] == ["id", "sha256", "path", "width", "height", "split", "n_boxes", "truth/circle"]
    from benchmarks.tracking.dataset import manifest_frame

    df = manifest_frame(json.loads((run_dir / "manifest.json").read_text()), json.loads((run_dir / "split.json")
                        .read_text()), "cvat")  # fmt: skip
    assert list(df["split"]) == ["train", "unused", "test"] and list(df["n_boxes"]) == [1, 2, 3]
    assert df["truth/triangle"].isna().all()  # the truth source says nothing about triangles: NA, not 0
    for model in ("classifier", "detector"):  # the nested runs have none: the parent holds the data
        assert not client.get_run(ids[model]).inputs.dataset_inputs
