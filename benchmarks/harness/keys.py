"""A run's two keys, hashes of its resolved config: what a finished run folder can be resumed with (`data_key`) and
whether its training and measurement settings changed (`config_key`)."""

from __future__ import annotations

import hashlib
import json

from benchmarks.config import BenchConfig
from benchmarks.registry.pipelines import PIPELINES


# what training jobs, measurement and reporting use: changing them re-runs from `train` in the same run folder
# (finished jobs whose inputs did not change are kept); anything else (data, split, labels) makes a new run
def per_job_keys() -> tuple[str, ...]:
    return (*PIPELINES, "curve", "latency", "metrics", "cost", "labeling")  # every registered pipeline's section


def _hash(d: dict) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def config_key(cfg: BenchConfig) -> str:
    """Hash of everything that changes results: the resolved config minus where things are logged."""
    d = cfg.to_dict()
    for k in ("mlflow", "profiles", "profile"):
        d.pop(k, None)
    return _hash(d)


def data_key(cfg: BenchConfig) -> str:
    """Hash of what the data and the split depend on: a run folder with the same one can be resumed."""
    d = cfg.to_dict()
    for k in ("mlflow", "profiles", "profile", *per_job_keys()):
        d.pop(k, None)
    return _hash(d)
