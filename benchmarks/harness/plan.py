"""The run plan: every training job the bench will run, with its duration estimated on this machine, before the first
epoch; and the time budget (`--time-budget`) the run fits itself to.

How a job's duration is estimated. Each candidate's pipeline gives one real optimizer step and one no-grad
forward of its own network at its input size (`step_functions` in classifier/steptime.py and detector/steptime.py),
timed a few times by the harness's timer (measure/timers.py: seconds, not minutes), and a few of the run's own
train images are decoded and resized (what the data loader does per image). A job of E epochs on N train and V val
images then takes

    start + E x (N x (step / batch x train_factor + decode) + V x (forward x val_factor + decode) + per_epoch)
          + V x (forward + decode)                       (the thresholds tuned on val after training)

with `start`, `per_epoch`, `train_factor` and `val_factor` per pipeline (CALIBRATION below): what a synthetic step
leaves out (augmentation, the library's bookkeeping, checkpoints, Ultralytics' per-epoch NMS and mAP). The plan
is written into the run (plan.json) and results.json compares estimate with actual per job, so every run measures
the estimator's error; while the run goes on, the remaining estimate is scaled by the finished jobs' actual /
estimate ratio of the same pipeline.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.config import save_resolved, with_overrides
from benchmarks.harness.budget import fit_budget
from benchmarks.harness.keys import config_key
from benchmarks.harness.training import plan_jobs
from benchmarks.measure.timers import time_callable
from benchmarks.paths import PLAN_FILE
from benchmarks.record import fmt_s, read_json, write_json
from benchmarks.registry.backends import get_backend
from benchmarks.registry.pipelines import get as get_pipeline
from classifier.hardware import resolve_device

# What a synthetic step leaves out, per pipeline, fitted on the demo's quick-profile jobs (1 to 280 images, 6 to 21
# epochs, 160 px) on a quiet 2-core VM: start (s per job: building the trainer and the dataset view, the
# classifier's normalisation pass and per-job checkpoints, loading the best weights, tuning thresholds),
# per_epoch (s: logging, checkpoints, the validation loop's set-up), train_factor (x the timed step per image:
# below 1 for the classifier, whose timed batch of CPU_TIMING_BATCH is less efficient per image than its real batch
# of 32), val_factor (x a forward per val image: Ultralytics' validation adds NMS and mAP to each image).
# results.json's plan.accuracy measures how far each run's estimate was off, so a drift shows in every report.
CALIBRATION = {
    "classifier": {"start": 15.0, "per_epoch": 0.3, "train_factor": 0.7, "val_factor": 1.5},
    "detector": {"start": 2.0, "per_epoch": 0.12, "train_factor": 1.0, "val_factor": 2.5},
}
DEFAULT_CALIBRATION = {"start": 5.0, "per_epoch": 0.5, "train_factor": 1.0, "val_factor": 1.5}  # not fitted yet
CPU_TIMING_BATCH = 8  # on a CPU the steps are timed at this batch and scaled to the configured one
# each step and forward: one untimed call (allocator, first-call kernel selection), then the median of three
STEP_TIMING = {"warmup": 1, "iters": 3, "min_seconds": 0.0}
DECODE_SAMPLE = 6  # train images decoded to measure the per-image loading cost
OTHER_STAGES_S = 20.0  # data, split, curve, results, report, MLflow on the demo (stages.json): small next to training


@dataclass
class PlannedJob:
    key: str
    candidate: str
    pipeline: str
    fraction: float
    seed: int
    split: int
    n_train: int
    n_val: int
    epochs: int
    imgsz: int
    batch: int
    headline: bool
    estimate_s: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


# --- measuring this machine ----------------------------------------------------------------------------------------
class Timings:
    """Per (pipeline, model, input size, batch): the measured step and forward; per input size: the decode. Cached,
    so the budget's search over input sizes times each size once."""

    def __init__(self, n_classes: int, sample_paths: list[str], device: str = "cpu"):
        self.n_classes, self.paths, self.device = n_classes, list(sample_paths)[:DECODE_SAMPLE], device
        self._steps: dict[tuple, dict] = {}
        self._decode: dict[int, float] = {}
        self.seconds = 0.0  # spent measuring: part of the plan's own cost

    def steps(self, pipeline: str, config) -> dict:
        batch = int(config.batch)
        key = (pipeline, _model_id(config), int(config.imgsz), batch)
        if key not in self._steps:
            t0 = time.perf_counter()
            fn = getattr(get_pipeline(pipeline).package(), "step_functions", None)
            if fn is None:  # a pipeline without the hook: planned at the calibration's defaults only
                self._steps[key] = {"train_step_s": None, "infer_image_s": None, "why": "no step_functions in pipeline"}
            else:
                # on a CPU a step's work is per image (convolutions over each image), so a small batch timed and
                # scaled gives the full batch's time in a fraction of the seconds; a GPU is timed at the real batch
                small = min(batch, CPU_TIMING_BATCH) if self.device == "cpu" else batch
                fns = fn(config, self.n_classes, small, device=self.device)
                train, fwd = (time_callable(fns[k], self.device, **STEP_TIMING) for k in ("train_step", "forward"))
                self._steps[key] = {
                    "train_step_s": statistics.median(train.samples_ms) / 1e3 * batch / small,
                    "infer_image_s": statistics.median(fwd.samples_ms) / 1e3 / small,
                    "timed_batch": small,
                    "method": f"median of {STEP_TIMING['iters']} after {STEP_TIMING['warmup']} warm-up, {train.timer}, "
                    f"sync {train.sync}, {torch_threads()} threads; train step scaled x {batch}/{small}",
                }
            self.seconds += time.perf_counter() - t0
        return self._steps[key]

    def decode(self, imgsz: int) -> float:
        """Seconds per image to read, decode and resize one of the run's train images to `imgsz`."""
        if imgsz not in self._decode:
            t0 = time.perf_counter()
            self._decode[imgsz] = _decode_seconds(self.paths, imgsz)
            self.seconds += time.perf_counter() - t0
        return self._decode[imgsz]

    def to_dict(self) -> dict:
        return {
            "steps": [
                {**v, "pipeline": k[0], "model": k[1], "imgsz": k[2], "batch": k[3]} for k, v in self._steps.items()
            ],
            "decode_s_per_image": {str(k): v for k, v in self._decode.items()},
            "device": self.device,
            "measured_s": round(self.seconds, 2),
        }


def torch_threads() -> int:
    # deferred: torch is heavy
    import torch

    return torch.get_num_threads()


def _model_id(config) -> str:
    parts = [str(getattr(config, k)) for k in ("backbone", "model", "mode") if getattr(config, k, None)]
    return "-".join(parts)


def _decode_seconds(paths: list[str], imgsz: int) -> float:
    # deferred: PIL is heavy
    from PIL import Image

    if not paths:
        return 0.0
    times = []
    for p in paths:
        t0 = time.perf_counter()
        try:
            with Image.open(p) as im:
                im.convert("RGB").resize((imgsz, imgsz))
        except (OSError, ValueError, Image.DecompressionBombError):  # the data stage counted it; not timed here
            continue
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2] if times else 0.0


# --- estimating ----------------------------------------------------------------------------------------------------
def estimate_job(job: PlannedJob, timings: Timings, config) -> float:
    cal = CALIBRATION.get(job.pipeline, DEFAULT_CALIBRATION)
    st = timings.steps(job.pipeline, config)
    step, fwd = st.get("train_step_s"), st.get("infer_image_s")
    if step is None:
        return cal["start"] + job.epochs * cal["per_epoch"]
    dec = timings.decode(job.imgsz)
    per_image = step / max(1, job.batch) * cal["train_factor"] + dec  # a step's work is per image on a CPU
    per_epoch = job.n_train * per_image + job.n_val * (fwd * cal["val_factor"] + dec) + cal["per_epoch"]
    return cal["start"] + job.epochs * per_epoch + job.n_val * (fwd + dec)


def estimate_evaluate(jobs: list[PlannedJob], n_test: int, timings: Timings, configs: dict) -> float:
    """Every job's model scores the test images once (and the headline detectors' box mAP once more)."""
    total = 0.0
    for j in jobs:
        st = timings.steps(j.pipeline, configs[j.candidate])
        fwd = st.get("infer_image_s") or 0.0
        passes = 2 if (j.headline and get_pipeline(j.pipeline).uses_boxes) else 1  # box mAP: a second pass
        total += 1.0 + passes * n_test * (fwd + timings.decode(j.imgsz))
    return total


def estimate_latency(cfg, timings: Timings, configs: dict) -> float:
    """The latency stage: per model, device, backend, dtype and batch size, `rounds` cells of at least `iters`
    iterations and `min_seconds` each (two scopes: the network, end to end), plus one ONNX export per model and
    backend that needs one, plus the throughput sweep."""
    lc = cfg.latency
    devices = list(lc.devices or ["cpu"])
    total = 0.0
    for c in cfg.candidates:
        st = timings.steps(c.pipeline, configs[c.name])
        fwd = st.get("infer_image_s") or 0.01
        dec = timings.decode(int(configs[c.name].imgsz))
        for backend in lc.backends:
            total += get_backend(backend).setup_s  # the one-off export / compile
            for _dtype in lc.dtypes:
                for bs in lc.batch_sizes:
                    model_cell = max(lc.min_seconds, (lc.warmup + lc.iters) * bs * fwd)
                    e2e_cell = max(lc.min_seconds, (lc.warmup + lc.iters) * bs * (fwd + dec))
                    total += lc.rounds * (model_cell + e2e_cell) * len(devices)
            if getattr(lc, "throughput", True):
                total += len(devices) * 6 * max(getattr(lc, "throughput_min_seconds", 0.2), 0.2)
    return total


def describe_jobs(ctx) -> list[PlannedJob]:
    """The jobs `plan_jobs` would write for ctx.cfg, without writing anything (harness/training.py's dry run)."""
    ctx.dry_run, ctx.planned, echo = True, {}, ctx.echo
    ctx.echo = lambda _line: None  # the train stage says what the planning says (left-out images, matched points)
    try:
        jobs = plan_jobs(ctx)
    finally:
        ctx.dry_run, ctx.echo = False, echo
    out = []
    for j in jobs:
        s = ctx.planned[j.key]
        out.append(
            PlannedJob(
                j.key,
                j.candidate,
                j.pipeline,
                j.fraction,
                j.seed,
                j.split,
                s["n_images"],
                s["n_val"],
                s["epochs"],
                s["imgsz"],
                s["batch"],
                j.headline,
            )  # fmt: skip
        )
    return out


def make_plan(ctx, timings: Timings) -> dict:
    """The plan of ctx.cfg: {jobs: [...], train_s, evaluate_s, latency_s, other_s, total_s, timings}."""
    cfg = ctx.cfg
    configs = {c.name: c.config for c in cfg.candidates}
    jobs = describe_jobs(ctx)
    for j in jobs:
        j.estimate_s = estimate_job(j, timings, configs[j.candidate])  # a step's time does not depend on epochs
    n_test = len(ctx.split["test"])
    train_s = sum(j.estimate_s for j in jobs)
    ev = estimate_evaluate(jobs, n_test, timings, configs)
    lat = estimate_latency(cfg, timings, configs)
    return {
        "jobs": [j.to_dict() for j in jobs],
        "train_s": round(train_s, 1),
        "evaluate_s": round(ev, 1),
        "latency_s": round(lat, 1),
        "other_s": OTHER_STAGES_S,
        "total_s": round(train_s + ev + lat + OTHER_STAGES_S, 1),
        "method": "a few timed optimizer steps per pipeline at its input size and batch, a few train images "
        "decoded, scaled by the calibration in benchmarks/harness/plan.py",
        "calibration": CALIBRATION,
        "timings": timings.to_dict(),
    }


# --- the stage -----------------------------------------------------------------------------------------------------
def _estimator(ctx, timings: Timings):
    def estimate(cfg) -> dict:
        saved, ctx.cfg = ctx.cfg, cfg
        try:
            return make_plan(ctx, timings)
        finally:
            ctx.cfg = saved

    return estimate


def _device(cfg) -> str:
    devices = [str(c.config.device) for c in cfg.candidates if getattr(c.config, "device", None)]
    return resolve_device(devices[0] if devices else "auto")


def stage_plan(ctx) -> None:
    """Plan the jobs, estimate each on this machine, fit the time budget if there is one (ctx.time_budget, seconds),
    print the plan and write plan.json. A resumed run with the same request reuses its plan (and the budget's cuts)
    instead of timing again: the same command must give the same jobs."""
    f = Path(ctx.run_dir) / PLAN_FILE
    requested, budget_s = config_key(ctx.cfg), getattr(ctx, "time_budget", None)
    old = read_json(f, tolerant=True)
    if old and old.get("requested_key") == requested and old.get("budget", {}).get("budget_s") == budget_s:
        overrides = [o for c in old["budget"].get("changes", []) for o in c["overrides"]]
        if overrides:
            ctx.cfg = with_overrides(ctx.cfg, overrides)
            save_resolved(ctx.cfg, Path(ctx.run_dir) / "config.resolved.yaml")
        plan = old
        ctx.echo("  the plan of the earlier run with these settings (not timed again):")
    else:
        train_ids = ctx.split["train"]
        timings = Timings(len(ctx.manifest.classes), ctx.paths(train_ids[:DECODE_SAMPLE]), _device(ctx.cfg))
        estimate = _estimator(ctx, timings)
        unfitted = estimate(ctx.cfg)
        plan, changes = unfitted, []
        if budget_s is not None:
            ctx.cfg, plan, changes = fit_budget(ctx.cfg, ctx.manifest, budget_s, estimate, with_overrides)
            save_resolved(ctx.cfg, Path(ctx.run_dir) / "config.resolved.yaml")
        plan = {**plan, "timings": timings.to_dict()}
        plan["requested_key"] = requested
        plan["budget"] = {"budget_s": budget_s, "changes": changes, "estimate_unfitted_s": unfitted["total_s"]}
        write_json(f, plan)
        ctx.echo(f"  measured on this machine in {timings.seconds:.1f} s ({plan['method']}):")
    for line in plan_lines(plan):
        ctx.echo("  " + line)
    # deferred: benchmarks.curve.warnings imports numpy
    from benchmarks.curve.warnings import before_training, warning_lines

    # what the settings already decide before the first epoch (from scratch, objects too small at the input size)
    for line in warning_lines(before_training(ctx.cfg, ctx.manifest)):
        ctx.echo("  " + line)


def plan_lines(plan: dict) -> list[str]:
    """The plan as console lines: one per job, the stage totals, the budget's changes."""
    rows = [("job", "images", "val", "epochs", "input", "estimate")]
    for j in plan["jobs"]:
        rows.append((j["key"], str(j["n_train"]), str(j["n_val"]), str(j["epochs"]), f"{j['imgsz']} px",
                     fmt_s(j["estimate_s"])))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    out.append(
        f"{len(plan['jobs'])} training job(s) ~{fmt_s(plan['train_s'])}, evaluate ~{fmt_s(plan['evaluate_s'])}, "
        f"latency ~{fmt_s(plan['latency_s'])}, other stages ~{fmt_s(plan['other_s'])}: "
        f"about {fmt_s(plan['total_s'])} in all"
    )
    b = plan.get("budget") or {}
    if b.get("budget_s") is not None:
        if b.get("changes"):
            out.append(f"time budget {fmt_s(b['budget_s'])}: the settings as asked take about "
                       f"{fmt_s(b['estimate_unfitted_s'])}; changed, in this order:")  # fmt: skip
            out += [f"  - {c['what']} ({' '.join(c['overrides'])}): {c['weakens']}" for c in b["changes"]]
        else:
            out.append(f"time budget {fmt_s(b['budget_s'])}: the settings as asked fit; nothing changed")
    return out


# --- estimate against actual ---------------------------------------------------------------------------------------
TOLERANCE = 0.30  # the estimator's goal: each job within +-30% of its measured time


def plan_record(run_dir: Path, stages: dict) -> dict | None:
    """results.json's `plan`: the plan with each job's actual seconds (its status.json) and each stage's (stages.json),
    and how far off the estimate was: actual / estimate per job, their median, the share within +-TOLERANCE."""
    plan = read_json(Path(run_dir) / PLAN_FILE, tolerant=True)
    if plan is None:
        return None
    jobs = []
    for j in plan["jobs"]:
        candidate, point = j["key"].split("/", 1)
        st = read_json(Path(run_dir) / "jobs" / candidate / point / "status.json", tolerant=True) or {}
        actual = st.get("wall_s") if st.get("status") == "done" else None
        ratio = actual / j["estimate_s"] if actual and j["estimate_s"] else None
        jobs.append({**j, "actual_s": actual, "ratio": None if ratio is None else round(ratio, 3)})
    ratios = [j["ratio"] for j in jobs if j["ratio"] is not None]
    stage_actual = {k: (stages.get(k) or {}).get("wall_s") for k in ("train", "evaluate", "latency")}
    total_actual = sum(float(v.get("wall_s") or 0) for v in stages.values()) if stages else None
    return {
        **{k: v for k, v in plan.items() if k != "jobs"},
        "jobs": jobs,
        "actual": {**stage_actual, "total_s": None if total_actual is None else round(total_actual, 1)},
        "accuracy": {
            "n_jobs": len(ratios),
            "median_ratio": round(float(sorted(ratios)[len(ratios) // 2]), 3) if ratios else None,
            "within_tolerance": sum(abs(r - 1) <= TOLERANCE for r in ratios),
            "tolerance": TOLERANCE,
            "train_ratio": round(stage_actual["train"] / plan["train_s"], 3)
            if stage_actual["train"] and plan.get("train_s")
            else None,
            "total_ratio": round(total_actual / plan["total_s"], 3) if total_actual and plan.get("total_s") else None,
            "note": "actual / estimate; a job kept from an earlier run counts its original training time",
        },
    }
