"""Jobs, the unit of training: (resolved candidate config, training subset, seed) -> an artifact folder.

A job's inputs are one file, `job.json` (the candidate's config with the recipe's epochs, the class list, the
train subset and the val split as plain samples, where to log), and its outputs are files beside it:

    <run>/jobs/<candidate>/f<fraction>-s<seed>/job.json      inputs
                                               artifact/     the pipeline's artifact (weights, history, training.json)
                                               status.json   done | failed | interrupted, wall seconds, error, worker

No job reads another's state, so an executor may run them in order here or spread them over a cluster
(benchmarks/harness/executors.py). Thresholds are tuned on val inside the job, the same way for every pipeline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from benchmarks import runtime
from benchmarks.measure.memory import track_peak_memory
from benchmarks.record import DiskFullError, disk_full_error, is_disk_full, utc_now, write_json
from benchmarks.registry import pipelines
from benchmarks.tracking.system import training_metrics

JOBS_DIR = "jobs"


@dataclass(frozen=True)
class Job:
    candidate: str
    pipeline: str
    fraction: float
    seed: int
    headline: bool  # the full train split with the first seed: the run reported in the headline
    split: int = 0  # 0: the configured split; n >= 1: an extra split (curve.splits) with split seed = split.seed + n

    @property
    def name(self) -> str:
        return f"f{self.fraction:g}-s{self.seed}" + (f"-r{self.split}" if self.split else "")

    @property
    def key(self) -> str:
        return f"{self.candidate}/{self.name}"

    def folder(self, run_dir: Path) -> Path:
        return Path(run_dir) / JOBS_DIR / self.candidate / self.name

    def artifact(self, run_dir: Path) -> Path:
        return self.folder(run_dir) / "artifact"


def write_job(run_dir: Path, job: Job, spec: dict) -> Path:
    """Write job.json (the job's inputs); an unchanged spec keeps a finished job finished (resume)."""
    folder = job.folder(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / "job.json"
    doc = {"key": job.key, **spec}

    def inputs(d: dict) -> dict:  # where to log (`tracking`) is not an input of the training
        return {k: v for k, v in d.items() if k != "tracking"}

    if f.exists():
        try:
            if inputs(json.loads(f.read_text())) == inputs(json.loads(json.dumps(doc, default=str))):
                write_json(f, doc)  # same inputs: keep the result, update where it logs
                return f
        except ValueError:
            pass
        # other inputs: the old result does not stand, and neither do its checkpoints (a resumed fit would restore
        # the old config's optimizer state) nor its artifact
        (folder / "status.json").unlink(missing_ok=True)
        shutil.rmtree(folder / "artifact", ignore_errors=True)
    write_json(f, doc)
    return f


def status(run_dir: Path, job: Job) -> dict:
    f = job.folder(run_dir) / "status.json"
    try:
        return json.loads(f.read_text()) if f.exists() else {"status": "pending"}
    except ValueError:
        return {"status": "pending"}


def is_done(run_dir: Path, job: Job) -> bool:
    return status(run_dir, job).get("status") == "done"


def run_job(job_dir: str | Path, echo=print) -> dict:
    """Run the job in `job_dir` (its job.json): train, tune thresholds on val, write status.json. Any process that
    can read the folder can run it; returns the status. Training errors are recorded and re-raised."""
    # deferred: benchmarks.evaluate imports numpy
    from benchmarks.evaluate import tune_thresholds

    job_dir = Path(job_dir)
    spec = json.loads((job_dir / "job.json").read_text())
    p = pipelines.get(spec["pipeline"])
    cfg = p.config_class().from_dict(spec["config"])
    out = job_dir / "artifact"
    worker = {"pid": os.getpid(), "hostname": socket.gethostname()}
    tracking = spec.get("tracking") or {}
    t0 = time.perf_counter()
    try:
        # peak memory measured here, the same way for every pipeline; system metrics only while the model fits
        with track_peak_memory(out), training_metrics(tracking.get("run_id"), tracking.get("uri")):
            p.package().fit(
                spec["train"],
                spec["val"],
                spec["classes"],
                cfg,
                out,
                progress=spec.get("progress", True),
                tracking_uri=tracking.get("uri"),
                mlflow_run_id=tracking.get("run_id"),
                resume=(out / "checkpoints").exists(),
            )
        pred = pipelines.load_predictor(spec["pipeline"], out, device="cpu")
        val_paths = [s["path"] for s in spec["val"]]
        targets = [[math.nan if v is None else v for v in s["labels"]] for s in spec["val"]]
        import numpy as np  # deferred: numpy is heavy

        pred.save_thresholds(
            tune_thresholds(pred.predict_scores(val_paths), np.asarray(targets, dtype=np.float32)),
            "per-class max F1 on val (benchmarks/evaluate.py)",
        )
        (out / "recipe.json").write_text(json.dumps(spec.get("recipe") or {}, indent=1))
        st = {"status": "done", "wall_s": round(time.perf_counter() - t0, 3), "finished_utc": utc_now(), **worker}
        write_json(job_dir / "status.json", st)
        return st
    except BaseException as exc:
        kind = "interrupted" if runtime.is_interruption(exc) else "failed"
        st = {
            "status": kind,
            "wall_s": round(time.perf_counter() - t0, 3),
            "finished_utc": utc_now(),
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=8),
            **worker,
        }
        write_json(job_dir / "status.json", st)  # on a full disk this is a DiskFullError too, saying the same
        if kind == "failed" and is_disk_full(exc) and not isinstance(exc, DiskFullError):
            # the pipeline's own write (weights, a checkpoint) hit it: every later job would too, so the run stops
            raise disk_full_error(getattr(exc, "filename", None) or out, f"training {job_dir.name}") from exc
        raise


def run_job_in_worker(job_dir: str, threads: int, log: str | None = None) -> dict:
    """One job in a worker process (a Ray task or a local process pool): the offline runtime first (threads, caches,
    telemetry off), a `running` marker naming the worker, then the job. With `log`, the job's own output (epoch
    lines, library messages) goes to that file instead of the console, where parallel jobs would interleave."""
    runtime.setup(threads=threads)
    worker = {"pid": os.getpid(), "hostname": socket.gethostname(), "threads": threads}
    write_json(Path(job_dir) / "status.json", {"status": "running", "started_utc": utc_now(), **worker})
    if log is None:
        return run_job(job_dir)  # training errors are written to status.json by run_job and re-raised
    with _output_to(log):
        return run_job(job_dir)


@contextlib.contextmanager
def _output_to(path: str):
    """This process's stdout and stderr (file descriptors 1 and 2, so logging handlers bound to sys.stdout and C-level
    output follow) into `path` for the duration; restored after (a pool's worker process runs several jobs)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
