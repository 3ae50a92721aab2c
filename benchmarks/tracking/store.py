"""The MLflow store and what goes into it: the tracking URI and artifact location, the client, experiments, names
MLflow accepts, and batched params / metrics. MLflow is imported inside functions only: it takes seconds to import."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

from benchmarks.paths import DEFAULT_MLFLOW_DB
from benchmarks.tracking.guard import Guarded, bound_http_requests

DEFAULT_EXPERIMENT = "clsdet"

log = logging.getLogger(__name__)


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
    """An MlflowClient whose calls give up on a server that does not answer (benchmarks/tracking/guard.py)."""
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    # deferred: mlflow is heavy
    from mlflow.tracking import MlflowClient

    bound_http_requests()
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return Guarded(MlflowClient(tracking_uri=tracking_uri), tracking_uri)


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


# --- logging -----------------------------------------------------------------------------------------------------
def log_params(client, run_id: str, params: dict[str, str]) -> None:
    """Log params the run lacks (MLflow refuses to change one); too long values are truncated, too long keys
    skipped, and both are named in the tags `clsdet.params_truncated` / `clsdet.params_skipped`."""
    # deferred: mlflow is heavy
    from mlflow.entities import Param, RunTag

    # deferred: mlflow is heavy
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
    # deferred: mlflow is heavy
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    items = [Metric(metric_name(k), v, now, step) for k, v in metrics.items() if _num(v) is not None]
    for i in range(0, len(items), 1000):  # MAX_METRICS_PER_BATCH
        client.log_batch(run_id, metrics=items[i : i + 1000])
