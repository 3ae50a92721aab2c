"""MLflow system metrics (CPU, memory, disk, network, GPU: `system/...`) of a training run, sampled only while a
training job fits its model: never while latency is timed (the sampler is a thread that would share the CPU with
the timed calls), nor on the parent run.

    with training_metrics(run_id, tracking_uri):   # no-op without a run id, or with
        fit(...)                                   # MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=false

MLflow's sampler publishes once per interval and drops the last partial one; here that last sample is published
when the block ends, so a training shorter than the interval still has one row.
"""

from __future__ import annotations

import contextlib
import logging
import os

SAMPLING_S = 10.0  # MLflow's default interval; $MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL overrides it (as in MLflow)
TAG = "clsdet.system_metrics"

log = logging.getLogger(__name__)


def enabled() -> bool:
    """On unless MLflow's own switch is set off ($MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=false)."""
    return os.environ.get("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "").strip().lower() not in ("false", "0", "no")


@contextlib.contextmanager
def training_metrics(run_id: str | None, tracking_uri: str | None):
    """Sample system metrics into `run_id` for the block's duration; yields the monitor (None when off)."""
    if not (run_id and tracking_uri and enabled()):
        yield None
        return
    try:
        # deferred: mlflow is heavy
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
        from mlflow.tracking import MlflowClient

        # its INFO lines ("Started monitoring", "Skip logging GPU metrics") on every job would crowd the progress
        logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)

        # resume_logging: a resumed job's samples continue the run's steps instead of repeating 0, 1, ...
        monitor = SystemMetricsMonitor(
            run_id, sampling_interval=SAMPLING_S, resume_logging=True, tracking_uri=tracking_uri
        )
        MlflowClient(tracking_uri).set_tag(run_id, TAG, f"during training, every {monitor.sampling_interval:g} s")
        monitor.start()
    except Exception as exc:  # a sampler that cannot start must not stop the training
        log.warning("MLflow: system metrics are not recorded for run %s: %r", run_id, exc)
        yield None
        return
    try:
        yield monitor
    finally:
        _finish(monitor)


def _finish(monitor) -> None:
    try:
        monitor.finish()
        if any(m.metrics for m in monitor.monitors):  # the partial interval MLflow's loop left unpublished
            monitor.publish_metrics(monitor.aggregate_metrics())
            monitor.mlflow_logger.flush()
    except Exception as exc:
        log.warning("MLflow: the last system-metrics sample was not logged: %r", exc)
