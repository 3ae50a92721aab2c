"""Executors run training jobs (benchmarks/harness/jobs.py). `local` runs them in order in this process.

Every executor has the same contract: run the jobs not yet done, one progress line per finished job (done/total,
elapsed, ETA), a failed job is recorded in its status.json and the others go on; the caller decides what a failure
means for the run. Evaluation, latency and reports stay on the driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness.jobs import Job, is_done, run_job, status

EXECUTORS = ("local",)


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
    if executor == "local":
        run_local(run_dir, jobs, echo)
    else:
        raise ExecutorError(f"unknown executor {executor!r}; executors: {', '.join(EXECUTORS)}")
    statuses = {j.key: status(run_dir, j) for j in jobs}
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
