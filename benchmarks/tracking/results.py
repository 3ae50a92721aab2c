"""A finished results.json into MLflow: params, final and per-epoch metrics, reports and plots, a nested run per
budget-curve point; the weights only when asked."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

from benchmarks.record import load_results, newest_per_cell, read_json
from benchmarks.tracking.dataset import log_manifest
from benchmarks.tracking.guard import unless_down
from benchmarks.tracking.session import TrackingSession, active_session, ending, start_session, window_of
from benchmarks.tracking.store import _num, flatten, log_metrics, log_params, metric_name
from benchmarks.tracking.tables import log_tables

WEIGHT_SUFFIXES = {".pt", ".pth", ".ckpt", ".safetensors", ".onnx"}
# training's own working folders inside an artifact (Lightning checkpoints, Ultralytics' run): never logged as weights
SCRATCH_DIRS = {"checkpoints", "lightning", "ultralytics"}
RUN_ARTIFACTS = (
    "results.json",
    "results.csv",
    "latency.csv",
    "report.md",
    "report.html",
    "config.resolved.yaml",
    "split.json",
)
log = logging.getLogger(__name__)
JOBS_DIR = "jobs"  # the run folder's training jobs, each `jobs/<key>/status.json` (benchmarks/harness/jobs.py)


def history_metrics(history: list[dict]):
    """(epoch, {key: value}) per row of a training history: per-epoch metrics logged with step=epoch."""
    for i, row in enumerate(history):
        step = row.get("epoch", i)
        yield (int(step) if _num(step) is not None else i), {k: v for k, v in row.items() if k != "epoch"}


def final_metrics(entry: dict, labeling: dict, latency_cells: list[dict], own_machine: str | None) -> dict:
    """Final numbers of one model: accuracy (+CI bounds, per class), box, training, size, labeling, and p50 latency
    per device/batch/scope (names carry dtype when not float32 and the host when not this run's machine)."""
    out: dict[str, float] = {}
    acc = entry.get("accuracy") or {}
    for k in ("macro_ap", "micro_ap", "macro_f1", "micro_f1", "hamming_loss", "exact_match", "n_test"):
        out[k] = acc.get(k)
    for k in ("macro_ap_ci95", "macro_f1_ci95"):
        ci = acc.get(k)
        if isinstance(ci, list) and len(ci) == 2:
            out[f"{k}_lo"], out[f"{k}_hi"] = ci
    out["baseline_macro_ap"] = (acc.get("baseline") or {}).get("macro_ap")
    for cls, pc in (acc.get("per_class") or {}).items():
        out[f"ap/{cls}"] = (pc or {}).get("ap")
    box = entry.get("box") or {}
    out["box_map50"], out["box_map50_95"] = box.get("map50"), box.get("map50_95")
    train = entry.get("training") or {}
    for k in ("train_wall_s", "epochs_run", "s_per_epoch", "train_images_per_s", "peak_mem_mb", "best_epoch"):
        out[k] = train.get(k)
    size = entry.get("size") or {}
    for k in ("params", "flops", "file_mb_fp32", "file_mb_fp16"):
        out[k] = size.get(k)
    out["labeling_hours"] = labeling.get("hours")
    for c in latency_cells:
        if c.get("status") != "ok":
            continue
        name = f"{c.get('device')}/b{c.get('batch_size')}/{c.get('scope')}"
        if c.get("dtype") not in (None, "float32"):
            name += f"/{c['dtype']}"
        if (c.get("backend") or "eager") != "eager":  # else an onnxruntime cell overwrites the eager one
            name += f"/{c['backend']}"
        if c.get("machine_id") != own_machine:
            name += f"/{c.get('hostname') or c.get('machine_id')}"
        out[f"latency_ms_p50/{name}"] = c.get("latency_ms_p50")
        out[f"throughput_img_s/{name}"] = c.get("throughput_img_s")
    return out


def log_results(
    run_dir: str | Path,
    session: TrackingSession | None = None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    log_models: bool | None = None,
) -> dict[str, str]:
    """Log a finished results.json, its reports and plots into the active session's runs (or new, finished ones),
    and the weights when `log_models` (default: the config's `mlflow.log_models`, false). Returns the run ids."""
    run_dir = Path(run_dir).resolve()
    results = load_results(run_dir)
    if log_models is None:
        log_models = bool(((results.get("config") or {}).get("mlflow") or {}).get("log_models"))
    own = session is None and active_session() is None
    session = session or active_session() or start_session(results, run_dir, tracking_uri, experiment)
    client = session.client
    if getattr(client, "down", None):  # the server stopped answering during the benchmark: it may be back by now
        client.try_again()
    # a server that does not answer: each part is noted as not logged (`clsdet log RUN_DIR` logs it later)
    with ending(session.end) if own else contextlib.nullcontext():  # a session opened here is ended here
        with unless_down(client, "parent", "results"):
            _log_parent(client, session["parent"], results, run_dir)
        for model, entry in (results.get("models") or {}).items():
            if isinstance(entry, dict):
                with unless_down(client, model, "results"):
                    run_id = _nested_for(session, model, _training_record(run_dir, results, model, entry))
                    _log_model(client, run_id, model, entry, results, run_dir, log_models)
        for point in (results.get("curve") or {}).get("points") or []:
            record = read_json(run_dir / JOBS_DIR / str(point.get("key")) / "status.json", tolerant=True)
            with unless_down(client, f"curve/{point['key']}", "results"):
                _log_point(client, _nested_for(session, f"curve/{point['key']}", record), point)
    return {k: v for k, v in session.items() if k not in ("tracking_uri", "experiment_id")}


def _training_record(run_dir: Path, results: dict, model: str, entry: dict) -> dict | None:
    """When a model trained: its job's status.json beside its artifact, or (schema 1) the stage `train_<model>`."""
    art = run_dir / str(entry.get("artifact") or model)
    return read_json(art.parent / "status.json", tolerant=True) or (results.get("stages") or {}).get(f"train_{model}")


def _nested_for(session: TrackingSession, role: str, record: dict | None) -> str:
    """The nested run of `role`, timed as its training (`record`): a new one starts when the training started; one
    still running (created as the training was set up) ends when the training ended."""
    window = window_of(record)
    if role not in session:
        run_id = session.start_nested(role, start_ms=window[0] if window else None)
    else:
        run_id = session[role]
    start = session.client.get_run(run_id).info.start_time
    if window and start <= window[1] + 1000:  # finished_utc has whole seconds: a run started in that second counts
        session.training_ended(role, max(window[1], start))
    return run_id


def _log_parent(client, run_id: str, results: dict, run_dir: Path) -> None:
    # deferred: mlflow is heavy
    from mlflow.entities import RunTag

    log_params(client, run_id, flatten(results.get("config") or {}))
    m, c = results.get("machine") or {}, results.get("commit") or {}
    tags = {
        "clsdet.results_run_id": results.get("run_id"),
        "clsdet.machine_id": m.get("machine_id"),
        "clsdet.hostname": m.get("hostname"),
        "clsdet.cpu": m.get("cpu"),
        "clsdet.profile": results.get("profile"),
        "mlflow.source.git.commit": c.get("id"),
        "clsdet.commit_dirty": c.get("dirty"),
        "clsdet.schema_version": results.get("schema_version"),
    }
    client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items() if v is not None])
    metrics = {f"labeling_hours/{k}": (v or {}).get("hours") for k, v in (results.get("labeling") or {}).items()}
    metrics.update({f"split/{k}": v for k, v in ((results.get("split") or {}).get("counts") or {}).items()})
    metrics["n_images"] = (results.get("data") or {}).get("n_images")
    metrics.update({f"stage_wall_s/{k}": (v or {}).get("wall_s") for k, v in (results.get("stages") or {}).items()})
    log_metrics(client, run_id, metrics)
    for name in RUN_ARTIFACTS:
        if (run_dir / name).is_file():
            client.log_artifact(run_id, str(run_dir / name))
    if (run_dir / "plots").is_dir():
        client.log_artifacts(run_id, str(run_dir / "plots"), "plots")
    log_tables(client, run_id, results, run_dir)
    try:
        log_manifest(client, run_id, run_dir, results)
    except Exception as exc:  # the dataset view is a convenience: the run's own records are already in
        log.warning("MLflow: the manifest could not be logged as a dataset input: %r", exc)
        client.set_tag(run_id, "clsdet.dataset_error", f"{type(exc).__name__}: {exc}"[:5000])


def _log_point(client, run_id: str, point: dict) -> None:
    """A budget-curve point as its own nested run, so the MLflow UI can plot AP against labeling hours too."""
    # deferred: mlflow is heavy
    from mlflow.entities import RunTag

    recipe, acc, lab = point.get("recipe") or {}, point.get("accuracy") or {}, point.get("labeling") or {}
    params = {
        "model": point.get("candidate"), "pipeline": point.get("pipeline"), "method": point.get("method"),
        "fraction": point.get("fraction"), "seed": point.get("seed"), "n_images": point.get("n_images"),
        "n_boxes": point.get("n_boxes"), "epochs": recipe.get("epochs"), "labeling_source": lab.get("source"),
    }  # fmt: skip
    log_params(client, run_id, {k: str(v) for k, v in params.items()})
    ci = acc.get("macro_ap_ci95") or [None, None]
    log_metrics(client, run_id, {
        "macro_ap": acc.get("macro_ap"), "macro_ap_ci95_lo": ci[0], "macro_ap_ci95_hi": ci[1],
        "macro_f1": acc.get("macro_f1"), "labeling_hours": lab.get("hours"), "labeling_hours_lo": lab.get("hours_lo"),
        "labeling_hours_hi": lab.get("hours_hi"), "train_wall_s": point.get("train_wall_s"),
        "steps": recipe.get("steps"),
    })  # fmt: skip
    client.log_batch(run_id, tags=[RunTag("clsdet.curve_point", str(point.get("key")))])


def _log_model(client, run_id: str, model: str, entry: dict, results: dict, run_dir: Path, log_models: bool) -> None:
    # deferred: mlflow is heavy
    from mlflow.entities import RunTag

    params = {"name": entry.get("name")}
    params.update(flatten(entry.get("config") or {}))
    lab = (results.get("labeling") or {}).get(entry.get("labeling_method") or "") or {}
    params["labeling_source"] = lab.get("source")
    log_params(client, run_id, {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()})
    have = set(client.get_run(run_id).data.metrics)  # e.g. logged live by Lightning's MLFlowLogger: not twice
    for step, metrics in history_metrics((entry.get("training") or {}).get("history") or []):
        log_metrics(client, run_id, {k: v for k, v in metrics.items() if metric_name(k) not in have}, step=step)
    log_metrics(
        client,
        run_id,
        final_metrics(
            entry, lab, newest_per_cell(entry.get("latency") or []), (results.get("machine") or {}).get("machine_id")
        ),
    )
    art = run_dir / str(entry.get("artifact") or model)
    weights = model_weights(art) if log_models else []
    tags = {"clsdet.model_name": str(entry.get("name")), "clsdet.weights_logged": str(bool(weights)).lower()}
    logged = client.get_run(run_id).data.tags.get("clsdet.model_uri")
    if weights and entry.get("pipeline") and not logged:  # a resumed run's mlflow stage keeps the model it logged
        tags.update(_log_pyfunc(client, run_id, model, str(entry["pipeline"]), art))
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    for f in weights:
        rel = f.parent.relative_to(art).as_posix()
        client.log_artifact(run_id, str(f), "weights" if rel == "." else f"weights/{rel}")


def _log_pyfunc(client, run_id: str, model: str, pipeline: str, art: Path) -> dict[str, str]:
    """The candidate as a registrable pyfunc model: {"clsdet.model_uri": ...}, or the reason it could not be logged
    (a failure is data: the other models and the run's records still go in)."""
    try:
        # deferred: pyfunc_model imports mlflow.pyfunc, needed only when models are logged
        from benchmarks.tracking.pyfunc_model import log_pyfunc

        return {"clsdet.model_uri": log_pyfunc(client, run_id, model, pipeline, art, SCRATCH_DIRS)}
    except Exception as exc:
        log.warning("MLflow: %s could not be logged as a pyfunc model: %r", model, exc)
        return {"clsdet.model_error": f"{type(exc).__name__}: {exc}"[:5000]}


def model_weights(artifact: Path) -> list[Path]:
    """The weight files of an artifact folder that a later command loads, without training's working copies."""
    if not artifact.is_dir():
        return []
    return [
        f
        for f in sorted(artifact.rglob("*"))
        if f.is_file() and f.suffix in WEIGHT_SUFFIXES and not SCRATCH_DIRS & set(f.relative_to(artifact).parts[:-1])
    ]
