"""MLflow: one parent run per benchmark, a nested run per candidate and per budget-curve point; it only reads
finished records.

    with tracking_run(cfg_or_results, run_dir) as runs:   # FAILED on an exception, KILLED on Ctrl-C, re-raised
        runs["r18-scratch"]           # a candidate's nested run id: hand it to Lightning's MLFlowLogger(run_id=...)
        runs.start_nested("extra")    # another nested run, by name
        ...                           # the benchmark
        log_results(run_dir)          # results.json -> params, metrics, artifacts of the active runs

`log_results(run_dir)` outside a `tracking_run` creates and finishes its own runs (logging an old run afterwards).
Store: `tracking_uri` argument > config `mlflow.tracking_uri` > $MLFLOW_TRACKING_URI > sqlite
`<repo>/results/mlflow.db`, with artifacts pinned beside a sqlite store (`<db folder>/mlartifacts`), never in the
current directory. MLflow is imported inside functions only: it takes seconds to import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from pathlib import Path

from benchmarks.paths import DEFAULT_MLFLOW_DB
from benchmarks.record import load_results, newest_per_cell

DEFAULT_EXPERIMENT = "clsdet"
WEIGHT_SUFFIXES = {".pt", ".pth", ".ckpt", ".safetensors", ".onnx"}
RUN_ARTIFACTS = ("results.json", "report.md", "report.html", "config.resolved.yaml", "split.json")
PARENT_TAG = "mlflow.parentRunId"  # how MLflow itself marks a nested run

log = logging.getLogger(__name__)
_ACTIVE: list[TrackingSession] = []


class TrackingError(RuntimeError):
    user_error = True


# --- store -------------------------------------------------------------------------------------------------------
def default_tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{DEFAULT_MLFLOW_DB}"


def absolute_uri(tracking_uri: str) -> str:
    """A relative sqlite path made absolute: training jobs log from other processes (Ray workers) whose current
    directory differs. Server URIs (http://host:port) are what a job on another node can reach."""
    if tracking_uri.startswith("sqlite:///"):
        path = tracking_uri[len("sqlite:///") :]
        if path != ":memory:" and not Path(path).is_absolute():
            return f"sqlite:///{Path(path).absolute()}"
    return tracking_uri


def artifact_location_for(tracking_uri: str) -> str | None:
    """A sqlite store keeps artifacts beside its database; servers and file stores decide for themselves."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///") :])
        return (db.parent / "mlartifacts").resolve().as_uri()
    return None


def client_for(tracking_uri: str):
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    from mlflow.tracking import MlflowClient

    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=tracking_uri)


def ensure_experiment(client, name: str, artifact_location: str | None) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is None:
        return client.create_experiment(name, artifact_location=artifact_location)
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)
    return exp.experiment_id


# --- names and values --------------------------------------------------------------------------------------------
def metric_name(name: str) -> str:
    """A name MLflow accepts on every OS: alphanumerics, _ - . / and spaces; no empty or relative path parts."""
    clean = re.sub(r"[^\w./\- ]", "_", str(name))
    parts = [p.strip("_ ") or "_" for p in clean.split("/") if p not in ("", ".", "..")]
    return "/".join(parts)[:250] or "_"


def flatten(d: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v if isinstance(v, str) else json.dumps(v)
    return out


def _num(x) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or x != x or x in (float("inf"), float("-inf")):
        return None
    return float(x)


# --- the session -------------------------------------------------------------------------------------------------
class TrackingSession(dict):
    """Run ids by role ("parent", "classifier", "detector", ...) plus "tracking_uri" and "experiment_id"."""

    def __init__(self, client, experiment_id: str, tracking_uri: str, run_dir: Path, tags: dict, resume: dict):
        super().__init__(tracking_uri=tracking_uri, experiment_id=experiment_id)
        self.client, self.run_dir, self._tags = client, Path(run_dir), tags
        # `clsdet bench --resume` continues the same MLflow runs (reopened as RUNNING) instead of starting new ones
        for role, run_id in resume.items():
            client.update_run(run_id, status="RUNNING")
            self[role] = run_id
        if "parent" not in self:
            self["parent"] = client.create_run(experiment_id, run_name=self.run_dir.name, tags=tags).info.run_id
        self._save()

    def start_nested(self, name: str) -> str:
        """The nested run `name` under the parent (created on first call); returns its run id."""
        if name not in self:
            tags = {**self._tags, PARENT_TAG: self["parent"], "clsdet.model": name}
            self[name] = self.client.create_run(self["experiment_id"], run_name=name, tags=tags).info.run_id
            self._save()
        return self[name]

    def _save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / RUNS_FILE).write_text(json.dumps(dict(self), indent=1))

    @property
    def nested(self) -> dict[str, str]:
        return {k: v for k, v in self.items() if k not in ("parent", "tracking_uri", "experiment_id")}

    def end(self, status: str = "FINISHED") -> None:
        """Terminate nested runs still running (Lightning may have ended its own) and the parent with `status`."""
        for run_id in [*self.nested.values(), self["parent"]]:
            try:
                if run_id == self["parent"] or self.client.get_run(run_id).info.status == "RUNNING":
                    self.client.set_terminated(run_id, status)
            except Exception as exc:  # ending must never mask the benchmark's own error
                log.warning("could not mark MLflow run %s %s: %r", run_id, status, exc)


def _settings(source) -> tuple[dict, dict]:
    """(resolved config dict, its mlflow section) from a BenchConfig or a results document."""
    if hasattr(source, "to_dict"):
        cfg = source.to_dict()
    elif isinstance(source, dict):
        cfg = source.get("config") if isinstance(source.get("config"), dict) else {}
    else:
        cfg = {}
    return cfg, (cfg.get("mlflow") or {})


RUNS_FILE = "mlflow_runs.json"  # in the run folder: the run ids, so a resumed benchmark reopens the same runs


def _earlier_runs(client, run_dir, uri: str, experiment_id: str) -> dict[str, str]:
    """{role: run id} of an earlier session of this run folder in the same store and experiment, if they exist."""
    f = Path(run_dir) / RUNS_FILE
    if not f.exists():
        return {}
    try:
        d = json.loads(f.read_text())
        if d.get("tracking_uri") != uri or d.get("experiment_id") != experiment_id:
            return {}
        runs = {k: v for k, v in d.items() if k not in ("tracking_uri", "experiment_id")}
        for run_id in runs.values():
            client.get_run(run_id)  # raises when the store lost it
        return runs
    except Exception:  # a missing or foreign store: start fresh runs
        return {}


def start_session(source, run_dir: str | Path, tracking_uri: str | None = None, experiment: str | None = None):
    cfg, ml = _settings(source)
    uri = absolute_uri(tracking_uri or ml.get("tracking_uri") or default_tracking_uri())
    name = experiment or ml.get("experiment") or DEFAULT_EXPERIMENT
    try:
        from benchmarks.runlock import store_lock

        with store_lock(uri):  # two first benches at once would race in the sqlite schema migration
            client = client_for(uri)
            exp_id = ensure_experiment(client, name, artifact_location_for(uri))
        close_orphans(client, exp_id, run_dir)
        tags = {"clsdet.run_dir": str(Path(run_dir).resolve()), "clsdet.benchmark": str(cfg.get("name", ""))}
        session = TrackingSession(client, exp_id, uri, Path(run_dir), tags, _earlier_runs(client, run_dir, uri, exp_id))
    except Exception as exc:
        raise TrackingError(
            f"MLflow store {uri!r} (experiment {name!r}) could not be opened: {exc}; fix `mlflow.tracking_uri` in "
            "the config or --tracking-uri, or unset $MLFLOW_TRACKING_URI to use results/mlflow.db"
        ) from exc
    if cfg:
        log_params(client, session["parent"], flatten(cfg))
    for name, params in candidate_sections(cfg).items():
        session.start_nested(name)
        log_params(client, session[name], flatten(params))
    return session


def close_orphans(client, experiment_id: str, own_run_dir: str | Path | None = None) -> list[str]:
    """Mark KILLED the RUNNING runs of benches that died without ending them (SIGKILL, power loss): a run whose
    `clsdet.run_dir` folder no process holds (benchmarks/runlock.py). Runs of folders on other hosts, or whose
    folder is gone, cannot be told apart from live ones: they are left alone and counted. Returns the closed ids."""
    from benchmarks.runlock import is_held

    own = str(Path(own_run_dir).resolve()) if own_run_dir else None
    closed, unknown = [], 0
    try:
        runs = client.search_runs([experiment_id], "attributes.status = 'RUNNING'", max_results=1000)
    except Exception as exc:  # a store that cannot search: nothing to close, the benchmark goes on
        log.warning("MLflow: could not look for runs left RUNNING by a killed bench: %r", exc)
        return []
    for run in runs:
        folder = run.data.tags.get("clsdet.run_dir")
        if not folder or folder == own:
            continue
        held = is_held(folder)
        if held is None:
            unknown += 1
        elif not held:
            client.set_tag(run.info.run_id, "clsdet.closed_reason", "left RUNNING by a bench that was killed")
            client.set_terminated(run.info.run_id, "KILLED")
            closed.append(run.info.run_id)
    if closed:
        print(
            f"MLflow: marked {len(closed)} run(s) KILLED that a killed bench left RUNNING (no process holds their "
            "run folder)"
        )
    if unknown:
        print(
            f"MLflow: {unknown} run(s) are RUNNING for run folders on another host or deleted; if no bench runs "
            "there, end them in the MLflow UI or with mlflow.MlflowClient().set_terminated(run_id, 'KILLED')"
        )
    return closed


def check_store_writable(cfg) -> None:
    """A sqlite store in a read-only folder makes MLflow retry for ~105 s and fail after the run folder exists:
    checked before anything is written."""
    from benchmarks.runtime import SetupError, check_writable

    uri = (cfg.mlflow.tracking_uri if cfg is not None else None) or default_tracking_uri()
    if not uri.startswith("sqlite:///"):
        return
    db = Path(uri[len("sqlite:///") :])
    fix = "set `mlflow.tracking_uri` (or --tracking-uri) to a writable place, or fix its permissions"
    check_writable(db.parent, "the MLflow store's folder", fix)
    if db.exists() and not os.access(db, os.W_OK):
        raise SetupError(f"the MLflow store {db} is read-only; {fix}")


def candidate_sections(cfg: dict) -> dict[str, dict]:
    """{candidate name: its resolved config, with its pipeline} from a resolved config dict (BenchConfig.to_dict)."""
    from benchmarks.pipelines import PIPELINES

    out = {}
    for p in PIPELINES:
        section = cfg.get(p)
        items = [section] if isinstance(section, dict) and section else section if isinstance(section, list) else []
        for item in items:
            if isinstance(item, dict):
                out[str(item.get("name") or p)] = {"pipeline": p, **{k: v for k, v in item.items() if k != "name"}}
    return out


@contextlib.contextmanager
def tracking_run(results_or_cfg, run_dir: str | Path, tracking_uri: str | None = None, experiment: str | None = None):
    """The whole benchmark inside one parent run: FINISHED, FAILED on an exception, KILLED on KeyboardInterrupt."""
    session = start_session(results_or_cfg, run_dir, tracking_uri, experiment)
    _ACTIVE.append(session)
    status = "FINISHED"
    try:
        yield session
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except BaseException:
        status = "FAILED"
        raise
    finally:
        _ACTIVE.remove(session)
        session.end(status)


def active_session() -> TrackingSession | None:
    return _ACTIVE[-1] if _ACTIVE else None


# --- logging -----------------------------------------------------------------------------------------------------
def log_params(client, run_id: str, params: dict[str, str]) -> None:
    """Log params the run lacks (MLflow refuses to change one); too long values are truncated, too long keys
    skipped, and both are named in the tags `clsdet.params_truncated` / `clsdet.params_skipped`."""
    from mlflow.entities import Param, RunTag
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH

    have = client.get_run(run_id).data.params
    todo, truncated, skipped = [], [], []
    for raw, value in params.items():
        if len(raw) > MAX_ENTITY_KEY_LENGTH:
            skipped.append(raw)
            continue
        key = metric_name(raw)
        if key in have:
            continue
        if len(value) > MAX_PARAM_VAL_LENGTH:
            value = value[: MAX_PARAM_VAL_LENGTH - 15] + "...[truncated]"
            truncated.append(key)
        todo.append(Param(key, value))
    for i in range(0, len(todo), 100):  # MLflow's limit per batch (MAX_PARAMS_TAGS_PER_BATCH)
        client.log_batch(run_id, params=todo[i : i + 100])
    tags = []
    if truncated:
        tags.append(RunTag("clsdet.params_truncated", ", ".join(truncated)[:5000]))
        log.warning(
            "MLflow: %d param value(s) truncated to %d chars: %s",
            len(truncated),
            MAX_PARAM_VAL_LENGTH,
            ", ".join(truncated),
        )
    if skipped:
        tags.append(RunTag("clsdet.params_skipped", f"{len(skipped)} keys longer than {MAX_ENTITY_KEY_LENGTH}"))
    if tags:
        client.log_batch(run_id, tags=tags)


def log_metrics(client, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    items = [Metric(metric_name(k), v, now, step) for k, v in metrics.items() if _num(v) is not None]
    for i in range(0, len(items), 1000):  # MAX_METRICS_PER_BATCH
        client.log_batch(run_id, metrics=items[i : i + 1000])


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
) -> dict[str, str]:
    """Log a finished results.json, its reports and plots, and the weights into the active session's runs (or new,
    finished ones). Returns the run ids by role."""
    run_dir = Path(run_dir).resolve()
    results = load_results(run_dir)
    own = session is None and active_session() is None
    session = session or active_session() or start_session(results, run_dir, tracking_uri, experiment)
    client = session.client
    try:
        _log_parent(client, session["parent"], results, run_dir)
        for model, entry in (results.get("models") or {}).items():
            if isinstance(entry, dict):
                _log_model(client, session.start_nested(model), model, entry, results, run_dir)
        for point in (results.get("curve") or {}).get("points") or []:
            _log_point(client, session.start_nested(f"curve/{point['key']}"), point)
    except BaseException as exc:
        if own:
            session.end("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    if own:
        session.end("FINISHED")
    return {k: v for k, v in session.items() if k not in ("tracking_uri", "experiment_id")}


def _log_parent(client, run_id: str, results: dict, run_dir: Path) -> None:
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


def _log_point(client, run_id: str, point: dict) -> None:
    """A budget-curve point as its own nested run, so the MLflow UI can plot AP against labeling hours too."""
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


def _log_model(client, run_id: str, model: str, entry: dict, results: dict, run_dir: Path) -> None:
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
    client.log_batch(run_id, tags=[RunTag("clsdet.model_name", str(entry.get("name")))])
    art = run_dir / str(entry.get("artifact") or model)
    if art.is_dir():
        for f in sorted(art.rglob("*")):
            if f.is_file() and f.suffix in WEIGHT_SUFFIXES:
                rel = f.parent.relative_to(art).as_posix()
                client.log_artifact(run_id, str(f), "weights" if rel == "." else f"weights/{rel}")
