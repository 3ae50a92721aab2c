"""Executors run training jobs (benchmarks/harness/jobs.py). `local` runs them in order in this process; `ray` runs
each as a Ray task on a local instance or a cluster (benchmarks/harness/ray_executor.py, the optional `ray` extra).

Every executor has the same contract: run the jobs not yet done, one progress line per finished job (done/total,
elapsed, ETA), a failed job is recorded in its status.json and the others go on; the caller decides what a failure
means for the run. Evaluation, latency and reports stay on the driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness.jobs import Job, is_done, run_job, status

EXECUTORS = ("local", "ray")
EXECUTOR_FILE = "executor.json"  # in the run folder: which executor and which worker processes ran the jobs


class JobsFailedError(RuntimeError):
    """Jobs the run cannot do without (the headline runs) failed; their errors are in their status.json."""


class ExecutorError(ValueError):
    user_error = True


def _eta(done: int, total: int, elapsed: float) -> str:
    if not done or done >= total:
        return ""
    left = elapsed / done * (total - done)
    return f", ETA {left / 60:.1f} min" if left >= 60 else f", ETA {left:.0f} s"


class JobProgress:
    """`  job 3/8 done: r18/f0.5-s0 in 52.1 s (elapsed 2.6 min, ETA 4.3 min)`."""

    def __init__(self, total: int, echo: Callable[[str], None]):
        self.total, self.echo, self.done, self.t0 = total, echo, 0, time.perf_counter()

    def finished(self, job: Job, st: dict) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.t0
        what = st.get("status", "?")
        extra = f" ({st['error']})" if st.get("error") else ""
        self.echo(
            f"  job {self.done}/{self.total} {what}: {job.key} in {st.get('wall_s', 0):.1f} s{extra} "
            f"(elapsed {elapsed / 60:.1f} min{_eta(self.done, self.total, elapsed)})"
        )


def run_local(run_dir: Path, jobs: list[Job], echo: Callable[[str], None] = print) -> None:
    todo = [j for j in jobs if not is_done(run_dir, j)]
    progress = JobProgress(len(todo), echo)
    for job in todo:
        echo(f"  job {progress.done + 1}/{len(todo)}: {job.key} ...")
        try:
            st = run_job(job.folder(run_dir), echo=echo)
        except KeyboardInterrupt:
            raise
        except Exception:  # recorded in its status.json; the other jobs go on
            st = status(run_dir, job)
        progress.finished(job, st)


def run_jobs(run_dir: Path, jobs: list[Job], executor: str = "local", echo=print, **options) -> dict[str, dict]:
    """Run the unfinished jobs with `executor`; returns {job key: status}. Raises JobsFailedError when a headline
    job failed (the benchmark has nothing to report without it); failed curve points are recorded and reported."""
    info: dict = {}
    if executor == "local":
        if options:
            raise ExecutorError(f"executor options {sorted(options)} need --executor ray")
        run_local(run_dir, jobs, echo)
    elif executor == "ray":
        from benchmarks.harness.ray_executor import run_ray

        info = run_ray(run_dir, jobs, echo, **options)
    else:
        raise ExecutorError(f"unknown executor {executor!r}; executors: {', '.join(EXECUTORS)}")
    statuses = {j.key: status(run_dir, j) for j in jobs}
    record_executor(run_dir, executor, statuses, info)
    failed = [j for j in jobs if statuses[j.key].get("status") != "done"]
    for j in failed:
        echo(f"  job {j.key}: {statuses[j.key].get('status')} - {statuses[j.key].get('error', 'no error recorded')}")
    if any(j.headline for j in failed):
        names = ", ".join(j.key for j in failed if j.headline)
        raise JobsFailedError(
            f"headline training job(s) {names} did not finish; see their status.json under {Path(run_dir) / 'jobs'}"
            "; fix the cause and run `clsdet bench ... --resume` (finished jobs are kept)"
        )
    return statuses


def record_executor(run_dir: Path, executor: str, statuses: dict[str, dict], info: dict) -> dict:
    """executor.json: the executor, its settings, and the worker processes (host, pid) that ran the finished jobs
    (from their status.json; a resumed run counts the earlier sessions' workers too). results.json carries it."""
    import socket

    from benchmarks.record import write_json

    done = [s for s in statuses.values() if s.get("status") == "done"]
    workers = sorted({(str(s.get("hostname")), int(s.get("pid") or 0)) for s in done})
    hosts = sorted({h for h, _ in workers})
    doc = {
        "executor": executor,
        **info,
        "jobs": len(statuses),
        "jobs_done": len(done),
        "workers": len(workers),
        "hosts": hosts,
        "driver": socket.gethostname(),
    }
    where = f", cluster {info['address']}" if info.get("address") else ""
    if "nodes" in info:
        where += f" ({info['nodes']} node(s), {info.get('cluster_cpus', 0):g} CPU, {info.get('cluster_gpus', 0):g} GPU"
        where += f", {info.get('cpus_per_job')} CPU per job)"
    doc["summary"] = (
        f"Training: {len(done)} of {len(statuses)} job(s) finished by the {executor} executor{where}, in "
        f"{len(workers)} worker process(es) on {len(hosts)} host(s) ({', '.join(hosts) or 'none'}); evaluation, "
        f"latency and reports ran on the driver ({doc['driver']})."
    )
    write_json(Path(run_dir) / EXECUTOR_FILE, doc)
    return doc
