"""The project's folders, defined once: every module that needs one imports it from here."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
DEFAULT_RUNS = RESULTS / "runs"  # `clsdet bench` run folders
LABELING_LOGS = REPO / "labeling_logs"  # where `clsdet label` writes and the harness reads by default
DEFAULT_MLFLOW_DB = RESULTS / "mlflow.db"
# in a run folder: the plan, the time budget's changes and (after training) actual seconds; written by the plan stage
# (harness/plan.py), read by the progress line and the curve stage
PLAN_FILE = "plan.json"
