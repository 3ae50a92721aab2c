"""MLflow: one parent run per benchmark, a nested run per candidate and per budget-curve point; it only reads
finished records.

    with tracking_run(cfg_or_results, run_dir) as runs:   # FAILED on an exception, KILLED on Ctrl-C, re-raised
        runs["r18-scratch"]           # a candidate's nested run id, created now: hand it to Lightning's MLFlowLogger
        with runs.training("r18-scratch") as run_id:     # or: the nested run spans this block, start to end
            ...
        runs.start_nested("extra")    # another nested run, by name
        ...                           # the benchmark
        log_results(run_dir)          # results.json -> params, metrics, artifacts of the active runs

A nested run shows its training's duration, not the benchmark's: it starts when its id is first asked for (the
harness asks as it sets the training up) or on entering `training()`; it ends on leaving `training()` or when the
training ended by its job's status.json (`finished_utc`, `wall_s`); a nested run that log_results creates (the
curve points) gets its job's start and end. Weights go to MLflow only when asked (`mlflow.log_models: true`,
`clsdet bench --log-models`): the run folder already holds them, and a copy per run grew the artifact store by
hundreds of MB per benchmark; then each candidate is also an `mlflow.pyfunc` model (pyfunc_model.py). The parent run
gets the manifest as a dataset input (dataset.py); a candidate's run gets system metrics while it trains (system.py).

`log_results(run_dir)` outside a `tracking_run` creates and finishes its own runs (logging an old run afterwards).
Store: `tracking_uri` argument > config `mlflow.tracking_uri` > $MLFLOW_TRACKING_URI > sqlite
`<repo>/results/mlflow.db`, with artifacts pinned beside a sqlite store (`<db folder>/mlartifacts`), never in the
current directory. MLflow is imported inside functions only: it takes seconds to import.
"""

from benchmarks.tracking.guard import TrackingError
from benchmarks.tracking.results import (
    RUN_ARTIFACTS,
    SCRATCH_DIRS,
    WEIGHT_SUFFIXES,
    final_metrics,
    history_metrics,
    log_results,
    model_weights,
)
from benchmarks.tracking.session import (
    PARENT_TAG,
    RUNS_FILE,
    TrackingSession,
    active_session,
    candidate_sections,
    check_store_writable,
    close_orphans,
    start_session,
    tracking_run,
    window_of,
)
from benchmarks.tracking.store import (
    DEFAULT_EXPERIMENT,
    absolute_uri,
    artifact_location_for,
    client_for,
    default_tracking_uri,
    ensure_experiment,
    flatten,
    log_metrics,
    log_params,
    metric_name,
)

__all__ = [
    "DEFAULT_EXPERIMENT", "PARENT_TAG", "RUNS_FILE", "RUN_ARTIFACTS", "SCRATCH_DIRS", "WEIGHT_SUFFIXES",
    "TrackingError", "TrackingSession", "absolute_uri", "active_session", "artifact_location_for",
    "candidate_sections", "check_store_writable", "client_for", "close_orphans", "default_tracking_uri",
    "ensure_experiment", "final_metrics", "flatten", "history_metrics", "log_metrics", "log_params", "log_results",
    "metric_name", "model_weights", "start_session", "tracking_run", "window_of",
]  # fmt: skip
