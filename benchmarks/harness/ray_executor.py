"""The `ray` executor: every training job a Ray task, on a local Ray instance or a cluster (`ray start --head`).

A task gets only the path of its job folder: it reads job.json and writes artifact/ + status.json there
(benchmarks/harness/jobs.py). So every node must see the run folder, and the images job.json names, at the same path
(a shared filesystem such as NFS); `check_nodes` proves it on every node before any training starts. Workers import
this repository's code through PYTHONPATH (runtime_env), so the project and its virtual environment must sit at the
same path on every node too (simplest: both on the shared filesystem). Ray itself is an optional extra
(`pip install clsdet-bench[ray]`): it is imported only here, only when this executor runs.

Resources per task: `num_gpus` = the candidate's `devices` (1 by default) for a CUDA job (device cuda, or auto on a
cluster with GPUs), and `cpus_per_job` CPUs (default 1), which is also the job's torch thread count.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness.jobs import Job, is_done, run_job_in_worker, status
from benchmarks.harness.progress import ExecutorError, JobProgress
from benchmarks.paths import REPO
from benchmarks.record import utc_now, write_json

INSTALL_HINT = "pip install 'clsdet-bench[ray]' (or pip install 'ray[default]>=2.9') in this environment"
LOCAL_OBJECT_STORE = 256 * 1024 * 1024  # tasks exchange only small status dicts; Ray's default takes 30% of RAM
SHARED_FS_HINT = (
    "the run folder (--out) and the data must be on a filesystem every Ray node mounts at the same path "
    "(e.g. NFS); pass --out /shared/path/runs"
)


def import_ray():
    try:
        import ray  # deferred: Ray is an optional extra, and heavy
    except ImportError as exc:
        raise ExecutorError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from exc
    return ray


# --- what runs on a worker -----------------------------------------------------------------------------------------
def _run_on_worker(job_dir: str, threads: int) -> dict:
    """One job in a Ray worker process (benchmarks/harness/jobs.py run_job_in_worker; its output stays on the
    worker's console, which Ray forwards to the driver)."""
    return run_job_in_worker(job_dir, threads)


def _probe(run_dir: str, read_paths: list[str]) -> dict:
    """On one node: can this process write into the run folder and read the inputs? Returns the problems found."""
    problems = []
    probe = Path(run_dir) / f".ray-probe-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        problems.append(f"cannot write into the run folder {run_dir}: {exc}")
    for p in read_paths:
        if not os.access(p, os.R_OK):
            problems.append(f"cannot read {p}")
    return {"hostname": socket.gethostname(), "pid": os.getpid(), "problems": problems}


# --- the driver ----------------------------------------------------------------------------------------------------
def _init(ray, address: str | None, num_cpus: int | None, echo) -> bool:
    """Connect (address: auto | ray://host:10001 | host:6379) or start a local instance; returns whether this call
    did it (then the executor shuts it down). An instance already initialised in this process is used as it is."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS")  # what `ray.init()` itself would connect to
    if address and num_cpus:
        raise ExecutorError(
            "--ray-num-cpus sizes a local Ray instance; with --ray-address the cluster's own resources count (drop one)"
        )
    env = {"PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for k in ("CLSDET_CACHE_DIR", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        if os.environ.get(k):
            env[k] = os.environ[k]
    kwargs: dict = {"runtime_env": {"env_vars": env}, "log_to_driver": True}
    if address:
        kwargs["address"] = address
    else:
        kwargs.update(num_cpus=num_cpus, object_store_memory=LOCAL_OBJECT_STORE, include_dashboard=False)
    try:
        ray.init(**kwargs)
    except Exception as exc:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise ExecutorError(
            f"could not start or reach {where}: {type(exc).__name__}: {exc}; start one with `ray start --head` and "
            "pass --ray-address auto (on a cluster node) or ray://HEAD:10001"
        ) from exc
    echo(f"  ray: {'connected to ' + address if address else 'started a local Ray instance'}")
    return True


def check_nodes(ray, run_dir: Path, read_paths: list[str]) -> list[dict]:
    """A tiny task pinned to every alive node: each must write into the run folder and read the inputs."""
    # deferred: ray is heavy
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(num_cpus=0, max_retries=0)(_probe)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    refs = [
        probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(
            str(run_dir), read_paths
        )
        for n in nodes
    ]
    found = ray.get(refs, timeout=300)
    bad = [f"{r['hostname']}: {'; '.join(r['problems'])}" for r in found if r["problems"]]
    if bad:
        raise ExecutorError(f"a Ray worker cannot see the run's files ({' | '.join(bad)}): {SHARED_FS_HINT}")
    return found


def _wants_gpus(job_dir: Path, cluster_gpus: float) -> int:
    cfg = json.loads((job_dir / "job.json").read_text()).get("config") or {}
    device = cfg.get("device", "auto")
    if device == "cuda" or (device == "auto" and cluster_gpus > 0):
        devices = cfg.get("devices", 1)
        return int(devices) if str(devices).isdigit() else 1
    return 0


def _inputs_to_check(run_dir: Path, todo: list[Job]) -> list[str]:
    """The repo (workers import it) and the first train image of each candidate's first job."""
    paths, seen = [str(REPO / "benchmarks" / "__init__.py")], set()
    for job in todo:
        if job.candidate in seen:
            continue
        seen.add(job.candidate)
        train = json.loads((job.folder(run_dir) / "job.json").read_text()).get("train") or []
        if train:
            paths.append(str(train[0]["path"]))
    return paths


def _warn_local_store(run_dir: Path, todo: list[Job], n_nodes: int, echo) -> None:
    """Jobs on several nodes writing one sqlite file over a network filesystem risk lock errors and lost metrics."""
    uris = {(json.loads((j.folder(run_dir) / "job.json").read_text()).get("tracking") or {}).get("uri") for j in todo}
    local = sorted(u for u in uris if u and not u.startswith(("http://", "https://", "databricks")))
    if n_nodes > 1 and local:
        echo(
            f"  warning: jobs on {n_nodes} nodes log to {', '.join(local)}; a shared `mlflow server` with "
            "--tracking-uri http://HOST:PORT is the safe set-up (README 'Team and cluster')"
        )


def _failed(run_dir: Path, job: Job, exc: BaseException) -> dict:
    """The worker died (killed, out of memory, node lost) before run_job could record anything: record Ray's error,
    keeping the worker the `running` marker named."""
    st = status(run_dir, job)
    if st.get("status") in ("failed", "interrupted"):
        return st  # run_job recorded the training error itself
    msg = str(exc).strip().splitlines()
    st = {
        **{k: st[k] for k in ("pid", "hostname", "started_utc") if k in st},
        "status": "failed",
        "finished_utc": utc_now(),
        "wall_s": 0.0,
        "error": f"{type(exc).__name__}: {(msg[0] if msg else '')[:500]}",
        "traceback": str(exc)[-4000:],
    }
    write_json(job.folder(run_dir) / "status.json", st)
    return st


def run_ray(
    run_dir: Path,
    jobs: list[Job],
    echo: Callable[[str], None] = print,
    address: str | None = None,
    num_cpus: int | None = None,
    cpus_per_job: int | None = None,
) -> dict:
    """Run the unfinished jobs as Ray tasks; one progress line per finished job. Returns what executor.json records
    about the cluster."""
    run_dir = Path(run_dir).resolve()
    todo = [j for j in jobs if not is_done(run_dir, j)]
    cpus = int(cpus_per_job or 1)
    if cpus < 1:
        raise ExecutorError(f"--ray-cpus-per-job {cpus_per_job}: expected an integer >= 1")
    info: dict = {"address": address or "local", "cpus_per_job": cpus}
    if not todo:
        return info
    ray = import_ray()
    info["ray_version"] = ray.__version__
    started = _init(ray, address, num_cpus, echo)
    pending: dict = {}
    try:
        nodes = check_nodes(ray, run_dir, _inputs_to_check(run_dir, todo))
        res = ray.cluster_resources()
        alive = [n for n in ray.nodes() if n.get("Alive")]
        gpus, max_node_cpus = res.get("GPU", 0), max(n.get("Resources", {}).get("CPU", 0) for n in alive)
        info.update(nodes=len(nodes), cluster_cpus=res.get("CPU", 0), cluster_gpus=gpus)
        _warn_local_store(run_dir, todo, len(nodes), echo)
        if cpus > max_node_cpus:
            raise ExecutorError(f"--ray-cpus-per-job {cpus}: no Ray node has more than {max_node_cpus:g} CPUs")
        task = ray.remote(max_retries=0)(_run_on_worker)  # a failed training is recorded, never silently retried
        for job in todo:
            (job.folder(run_dir) / "status.json").unlink(missing_ok=True)  # an earlier attempt's: not this one's
            n_gpus = _wants_gpus(job.folder(run_dir), gpus)
            if n_gpus > gpus:
                raise ExecutorError(
                    f"job {job.key} trains on CUDA ({n_gpus} GPU) but the Ray cluster has {gpus:g} GPU(s); set the "
                    "candidate's device to auto or cpu, or add GPU nodes"
                )
            ref = task.options(num_cpus=cpus, num_gpus=n_gpus).remote(str(job.folder(run_dir)), cpus)
            pending[ref] = job
        echo(
            f"  ray: {len(todo)} job(s) on {len(nodes)} node(s) ({res.get('CPU', 0):g} CPU, {gpus:g} GPU), "
            f"{cpus} CPU per job"
        )
        progress = JobProgress(len(todo), echo, run_dir, todo)  # parallel jobs: the ETA is an upper bound
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ref)
            try:
                st = ray.get(ref)
            except Exception as exc:  # recorded; the other jobs go on
                st = _failed(run_dir, job, getattr(exc, "cause", None) or exc)
            progress.finished(job, st)
    except KeyboardInterrupt:
        for ref in pending:  # the jobs still queued or training stop with the driver; --resume re-submits them
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
    return info
