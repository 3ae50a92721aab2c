"""Free space before training: the run's expected growth against the free space of its disk, said as a warning
(never a failure: the estimate can be wrong both ways) before the first job writes a byte.

What the train stage leaves: every job keeps its folder (weights, history, scores) at least until the curve stage
scores it, so each job counts its kept size: a finished job of the same candidate and model settings in an earlier
run under the same runs folder (measured), else its weights (the pipeline's `estimate_params(cfg)`, an optional
pipeline function, x 4 bytes) + PER_JOB_BYTES. While a job trains it also holds checkpoints: the largest job's
weights x CHECKPOINT_EXTRA, once per job training at the same time. A candidate with neither estimate is named.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.harness.executors import get_executor
from benchmarks.harness.run_size import fmt_bytes, folder_bytes
from benchmarks.registry.pipelines import get

# A training keeps a best and a last checkpoint while it runs (deleted when it ends unless asked to keep them), each
# the weights plus Adam/AdamW's two moments per weight: 2 x 3 = 6 times the fp32 weights; 7 for the rest
# (Ultralytics' EMA copy, a checkpoint being written while the previous one still exists).
CHECKPOINT_EXTRA = 7
PER_JOB_BYTES = 5_000_000  # history, logs, val/test scores and plots of one job
MARGIN = 1.2  # 20% on top: an estimate, and the disk is shared with everything else
# job config keys that change from job to job without changing what it writes
NOT_SIZE = ("epochs", "seed", "device", "workers")


def _model_settings(config: dict) -> str:
    return json.dumps({k: v for k, v in (config or {}).items() if k not in NOT_SIZE}, sort_keys=True, default=str)


def measured_job_bytes(runs_dir: Path, run_dir: Path, candidate: str, config: dict) -> tuple[int, Path] | None:
    """(bytes, run folder) of the largest finished job of `candidate` with the same model settings in another run
    folder under `runs_dir`, or None."""
    want, best = _model_settings(config), None
    for spec_file in Path(runs_dir).glob(f"*/jobs/{candidate}/*/job.json"):
        job_dir = spec_file.parent
        if job_dir.parents[2] == Path(run_dir):
            continue
        try:
            done = json.loads((job_dir / "status.json").read_text()).get("status") == "done"
            same = done and _model_settings(json.loads(spec_file.read_text()).get("config")) == want
        except (OSError, ValueError, AttributeError):
            continue
        if same:
            n = folder_bytes(job_dir)
            if best is None or n > best[0]:
                best = (n, job_dir.parents[2])
    return best


def estimated_params(pipeline: str, config) -> int | None:
    """The pipeline's parameter count for this config (`estimate_params`), or None when it cannot say."""
    try:
        estimate = getattr(get(pipeline).package(), "estimate_params", None)
        params = estimate(config) if estimate is not None else None
    except Exception:  # noqa: BLE001 - an estimate only: a failure here must not stop the run
        return None
    return int(params) if params else None


def concurrency(ctx, n_jobs: int) -> int:
    """How many jobs may train at the same time: --parallel N here; every job on a Ray cluster."""
    if not get_executor(ctx.executor).in_process:
        return n_jobs
    return max(1, min(n_jobs, int(ctx.executor_options.get("parallel") or 1)))


def space_needed(ctx, jobs) -> tuple[int, str, list[str]]:
    """(bytes with the margin, how they add up, candidates with no estimate) for the jobs still to train."""
    kept, extra, parts, unknown = 0, 0, [], []
    by_candidate: dict[str, list] = {}
    for job in jobs:
        by_candidate.setdefault(job.candidate, []).append(job)
    runs_dir = Path(ctx.run_dir).parent
    for name, its_jobs in by_candidate.items():
        c = ctx.cfg.candidate(name)
        params = estimated_params(c.pipeline, c.config)
        measured = measured_job_bytes(runs_dir, ctx.run_dir, name, c.config.to_dict())
        if measured:
            each, how = measured[0], f"measured in {measured[1].name}"
        elif params:
            each, how = (
                params * 4 + PER_JOB_BYTES,
                f"{params / 1e6:.1f} M params x 4 bytes + {fmt_bytes(PER_JOB_BYTES)}",
            )
        else:
            unknown.append(name)
            continue
        extra = max(extra, (params * 4 if params else each) * CHECKPOINT_EXTRA)
        kept += each * len(its_jobs)
        parts.append(f"{name}: {len(its_jobs)} x {fmt_bytes(each)}, {how}")
    n = concurrency(ctx, len(jobs))
    if parts:
        parts.append(f"checkpoints of {n} job(s) training at once: {fmt_bytes(extra * n)}")
    return int((kept + extra * n) * MARGIN), "; ".join(parts), unknown


def check_free_space(ctx, jobs) -> str | None:
    """A warning (also echoed) when the disk of the run folder has less free space than the jobs are expected to
    take; None when it fits, when there is nothing to train, or when nothing could be estimated."""
    if not jobs:
        return None
    need, parts, unknown = space_needed(ctx, jobs)
    try:
        free = shutil.disk_usage(ctx.run_dir).free
    except OSError:
        return None
    if not need or free >= need:
        return None
    others = [p for p in Path(ctx.run_dir).parent.iterdir() if p.is_dir() and p != Path(ctx.run_dir)]
    free_what = f"delete old run folders under {Path(ctx.run_dir).parent} ({len(others)} besides this one)"
    if not others:
        free_what = "free space on that disk"
    text = (
        f"  warning: the {len(jobs)} training job(s) are expected to take about {fmt_bytes(need)} "
        f"({parts}; {round((MARGIN - 1) * 100)}% margin"
        f"{'; no estimate for ' + ', '.join(unknown) if unknown else ''}), but only {fmt_bytes(free)} is free on the "
        f"disk of {ctx.run_dir}: {free_what}, or point --out at a larger disk; training goes on"
    )
    ctx.echo(text)
    return text
