"""Executors run training jobs (benchmarks/harness/jobs.py). `local` runs them in order in this process; `ray` runs
each as a Ray task on a local instance or a cluster (benchmarks/harness/ray_executor.py, the optional `ray` extra).

Every executor has the same contract: run the jobs not yet done, one progress line per finished job (done/total,
elapsed, ETA), a failed job is recorded in its status.json and the others go on; the caller decides what a failure
means for the run. Evaluation, latency and reports stay on the driver.
"""

from __future__ import annotations

import multiprocessing
import socket
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks import runtime
from benchmarks.harness.jobs import Job, is_done, run_job, run_job_in_worker, status
from benchmarks.harness.progress import ExecutorError, JobProgress
from benchmarks.harness.ray_executor import run_ray
from benchmarks.record import DiskFullError, utc_now, write_json
from benchmarks.registry import lookup
from benchmarks.registry.pipelines import PIPELINES
from benchmarks.runtime import available_cpus

EXECUTOR_FILE = "executor.json"  # in the run folder: which executor and which worker processes ran the jobs


class JobsFailedError(RuntimeError):
    """Jobs the run cannot do without (the headline runs) failed; their errors are in their status.json."""


def run_local(
    run_dir: Path, jobs: list[Job], echo: Callable[[str], None] = print, parallel: int = 1, before=None
) -> dict:
    """The unfinished jobs in order in this process; with parallel > 1, the headline jobs still run alone first (with
    every thread: the training times the report compares stay comparable), then the curve points `parallel` at a
    time in worker processes that share the cores. `before(job)`, if given, runs just before a job here starts (the
    harness attaches the job's MLflow run then). Returns the executor's settings for executor.json."""
    todo = [j for j in jobs if not is_done(run_dir, j)]
    progress = JobProgress(len(todo), echo, run_dir, todo)
    parallel = int(parallel or 1)
    if parallel < 1:
        raise ExecutorError(f"--parallel {parallel}: expected an integer >= 1")
    rest = [j for j in todo if not j.headline] if parallel > 1 else []
    for job in [j for j in todo if j not in rest]:
        echo(f"  job {progress.done + 1}/{len(todo)}: {job.key} ...")
        if before is not None:
            before(job)  # outside the try: a failing tracking store stops the run with its own error, as planning did
        try:
            st = run_job(job.folder(run_dir), echo=echo)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # recorded in its status.json; the other jobs go on
            if runtime.stop_requested():  # e.g. its DataLoader workers killed by the same SIGTERM: stop here
                raise runtime.Terminated(f"stopped by a signal during {job.key}") from exc
            if isinstance(exc, DiskFullError):  # every later job would hit it too
                raise
            st = status(run_dir, job)
        progress.finished(job, st)
    if not rest:
        return {"parallel": 1}

    threads = max(1, available_cpus() // parallel)
    _run_pool(run_dir, rest, parallel, threads, progress, echo)
    return {"parallel": parallel, "threads_per_parallel_job": threads, "headline_jobs": "alone, all threads"}


def _run_pool(run_dir: Path, jobs: list[Job], parallel: int, threads: int, progress: JobProgress, echo) -> None:

    echo(
        f"  {len(jobs)} curve job(s), {parallel} at a time with {threads} thread(s) each; each job's output: "
        f"{Path(run_dir) / 'jobs'}/<candidate>/<point>/log.txt"
    )

    registry = {name: p.module for name, p in PIPELINES.items()}  # the workers use the driver's pipeline registry
    pool = ProcessPoolExecutor(
        parallel, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init, initargs=(registry,)
    )
    try:
        futures = {
            pool.submit(run_job_in_worker, str(j.folder(run_dir)), threads, str(j.folder(run_dir) / "log.txt")): j
            for j in jobs
        }
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                fut.result()
            except BrokenProcessPool:  # a worker died (killed, out of memory): its job cannot have written a result
                if status(run_dir, job).get("status") == "running":
                    write_json(job.folder(run_dir) / "status.json", {
                        "status": "failed", "finished_utc": utc_now(),
                        "error": "its worker process died (killed? out of memory?); --resume runs it again",
                    })  # fmt: skip
            except DiskFullError:  # every queued job would hit it too: stop (the handler below cancels them)
                raise
            except Exception:  # recorded in its status.json by run_job; the other jobs go on
                pass
            progress.finished(job, status(run_dir, job))
    except BaseException:  # Ctrl-C (the workers got it too) or an error here: queued jobs stay pending for --resume
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _worker_init(registry: dict[str, str]) -> None:
    """In a pool worker (a fresh process): the same pipeline -> module registry as the driver."""

    for name, module in registry.items():
        if name in PIPELINES and PIPELINES[name].module != module:
            PIPELINES[name] = replace(PIPELINES[name], module=module)


@dataclass(frozen=True)
class Executor:
    """One way to run the training jobs: a registry entry (EXECUTORS), picked by `--executor NAME`."""

    name: str
    run: Callable  # (run_dir, jobs, echo, before, **options) -> the settings executor.json records
    options: tuple[str, ...]  # the executor options it takes (CLI flags --parallel, --ray-address, ...)
    in_process: bool  # trains here, one job at a time: each job's MLflow run is attached as the job starts
    help: str


def _local(run_dir: Path, jobs: list[Job], echo, before, parallel: int | None = None) -> dict:
    return run_local(run_dir, jobs, echo, parallel=parallel or 1, before=before)


def _ray(run_dir: Path, jobs: list[Job], echo, before, **options) -> dict:
    return run_ray(run_dir, jobs, echo, **options)


EXECUTORS: dict[str, Executor] = {
    e.name: e
    for e in (
        Executor("local", _local, ("parallel",), True, "the training jobs here, in order (or N at a time)"),
        Executor("ray", _ray, ("address", "num_cpus", "cpus_per_job"), False, "each job a Ray task, local or cluster"),
    )
}


def list_executors() -> list[str]:
    return list(EXECUTORS)


def get_executor(name: str) -> Executor:
    return lookup(EXECUTORS, name, "executor", ExecutorError)


def run_jobs(
    run_dir: Path, jobs: list[Job], executor: str = "local", echo=print, before=None, **options
) -> dict[str, dict]:
    """Run the unfinished jobs with `executor`; returns {job key: status}. Raises JobsFailedError when a headline
    job failed (the benchmark has nothing to report without it); failed curve points are recorded and reported."""
    ex = get_executor(executor)
    extra = sorted(set(options) - set(ex.options))
    if extra:
        takes = {o: [e.name for e in EXECUTORS.values() if o in e.options] for o in extra}
        raise ExecutorError(
            f"executor options {extra} are not the {executor} executor's: "
            + "; ".join(f"{o}: --executor {' or '.join(n) or '(none)'}" for o, n in takes.items())
        )
    info = ex.run(run_dir, jobs, echo, before if ex.in_process else None, **options)
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
    if (info.get("parallel") or 1) > 1:
        where += (
            f" (headline jobs alone with every thread, curve points {info['parallel']} at a time with "
            f"{info.get('threads_per_parallel_job')} thread(s) each: their training times are not comparable with "
            "the headline's)"
        )
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
