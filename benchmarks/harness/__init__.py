"""The benchmark harness: `run_bench` sequences the stages (run.py); stages.py holds them, training.py turns the
split into jobs (jobs.py) run by an executor (executors.py), and assemble.py builds results.json.

Imports point down only: run -> stages -> training/assemble -> jobs/executors -> pipelines, record, paths."""

from benchmarks.harness.keys import config_key
from benchmarks.harness.run import STAGES, run_bench
from benchmarks.paths import DEFAULT_RUNS

__all__ = ["DEFAULT_RUNS", "STAGES", "config_key", "run_bench"]
