"""`clsdet bench`: data -> split -> train (every candidate's jobs) -> evaluate -> size -> latency -> labeling cost
-> results.json -> reports -> MLflow.

Each stage writes its output into the run folder and is marked done in `stages.json`, with a hash of the resolved
config and one of its data/split part; `--resume` reuses the newest run with the same data/split part and starts at
the first unfinished stage (from `train` when the training or measurement settings changed: training jobs whose
inputs did not change stay finished). The stage functions live in `benchmarks/harness/stages.py`; this module only
sequences them, and holds the run folder's lock (benchmarks/lock.py) while they run.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import runtime
from benchmarks.config import BenchConfig, save_resolved
from benchmarks.data.roles import resolve_label_roles
from benchmarks.harness.keys import config_key, data_key
from benchmarks.lock import hold_run_folder
from benchmarks.measure.devices import check_present
from benchmarks.paths import DEFAULT_RUNS
from benchmarks.record import DiskFullError, disk_full_error, is_disk_full, utc_now
from benchmarks.runtime import check_writable
from benchmarks.tracking import check_store_writable

STAGES = (
    "data",
    "split",
    "plan",
    "train",
    "evaluate",
    "size",
    "latency",
    "labeling",
    "curve",
    "results",
    "report",
    "mlflow",
)


class StageLog:
    """`stages.json` in the run folder: per stage status, wall seconds and finish time; written after each stage."""

    def __init__(self, run_dir: Path, key: str, dkey: str = ""):
        self.file = run_dir / "stages.json"
        self.data = json.loads(self.file.read_text()) if self.file.exists() else {"key": key, "stages": {}}
        self.changed = self.data.get("key") != key  # resumed with other training/measurement settings
        self.data["key"], self.data["data_key"] = key, dkey

    def done(self, name: str) -> bool:
        return self.data["stages"].get(name, {}).get("status") == "done"

    def mark(self, name: str, status: str, wall_s: float, error: str | None = None) -> None:
        entry = {"status": status, "wall_s": round(wall_s, 3), "finished_utc": utc_now()}
        if error:
            entry["error"] = error
        self.data["stages"][name] = entry
        self.file.write_text(json.dumps(self.data, indent=1))

    def reset_from(self, name: str) -> None:
        """Invalidate `name` and every later stage (their inputs changed)."""
        for later in STAGES[STAGES.index(name) :]:
            self.data["stages"].pop(later, None)

    @property
    def stages(self) -> dict:
        return self.data["stages"]


def find_resumable(runs_dir: Path, dkey: str) -> Path | None:
    """The newest run folder with the same data and split settings (a finished one with the same config resumes as
    a no-op; with other candidates or curve settings, only the jobs whose inputs changed train)."""
    candidates = []
    for f in Path(runs_dir).glob("*/stages.json"):
        try:
            d = json.loads(f.read_text())
        except ValueError:
            continue
        if d.get("data_key") == dkey:
            candidates.append(f.parent)
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def new_run_dir(runs_dir: Path, cfg: BenchConfig, key: str) -> Path:
    """A new folder directly inside `runs_dir` (config.py checks the name; this stays safe for any string)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(cfg.name)).lstrip(".")[:64] or "bench"
    base = Path(runs_dir) / f"{stamp}-{name}-{key[:6]}"
    run, n = base, 1
    while run.exists():  # the same config twice within a second
        n += 1
        run = base.with_name(f"{base.name}-{n}")
    run.mkdir(parents=True)
    return run


class Progress:
    """One line per stage: `[3/11] train ...` then `done in 52.1 s`."""

    def __init__(self, total: int, echo: Callable[[str], None] = print):
        self.total, self.echo, self.i = total, echo, 0

    def start(self, name: str, note: str = "") -> float:
        self.i += 1
        self.echo(f"[{self.i}/{self.total}] {name}{' - ' + note if note else ''} ...")
        return time.perf_counter()

    def end(self, name: str, t0: float, status: str = "done") -> float:
        wall = time.perf_counter() - t0
        self.echo(f"[{self.i}/{self.total}] {name}: {status} in {wall:.1f} s")
        return wall


def run_bench(
    cfg: BenchConfig,
    runs_dir: Path = DEFAULT_RUNS,
    resume: bool = False,
    devices: list[str] | None = None,
    only: list[str] | None = None,
    echo: Callable[[str], None] = print,
    executor: str = "local",
    executor_options: dict | None = None,
    only_candidates: list[str] | None = None,
    time_budget: float | None = None,
    plan_only: bool = False,
) -> Path:
    """Run the benchmark's stages (or just `only`, in order); returns the run folder. `only_candidates`: train only
    these candidates' jobs in the resumed run, the others' finished jobs are reused (they must exist).
    `time_budget` (seconds): the plan stage fits the settings into it; `plan_only`: stop after the plan (nothing
    trained, nothing logged to MLflow; `--resume` later reuses the folder's data, split and plan)."""
    if devices:
        # the training device must exist (a missing latency device is recorded as unavailable, the run goes on)
        check_present(devices[0], "--device (the training device, the first one)")
        cfg.latency.devices = list(devices)
        cfg.candidates = [c.with_config(device=devices[0]) for c in cfg.candidates]

    resolve_label_roles(cfg)  # a box pipeline's default source: the first whose reader yields boxes
    for name in only_candidates or []:
        cfg.candidate(name)  # an unknown name fails now, listing the candidates, before a run folder exists
    if plan_only:
        only = ["data", "split", "plan"]
    unknown = sorted(set(only or []) - set(STAGES))
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; stages: {', '.join(STAGES)}")
    # before anything is written: a read-only place fails now with one line, not as a traceback half-way
    check_writable(runs_dir, "the runs folder", "choose another with --out, or fix its permissions")
    if not plan_only:
        check_store_writable(cfg)
    key, dkey = config_key(cfg), data_key(cfg)
    run_dir = find_resumable(runs_dir, dkey) if resume else None
    if run_dir is None:
        if resume:
            echo(f"--resume: no earlier run with this data and split (key {dkey}) under {runs_dir}; starting a new one")
        run_dir = new_run_dir(runs_dir, cfg, key)
    else:
        check_writable(run_dir, "the run folder to resume", "fix its permissions, or run without --resume")
        echo(f"resuming {run_dir}")
    with hold_run_folder(run_dir):  # a second bench on this folder (two --resume) fails instead of training into it
        return _run_stages(cfg, run_dir, key, dkey, only, _logged(echo, run_dir), executor, executor_options,
                           only_candidates, time_budget, plan_only)  # fmt: skip


RUN_LOG = "bench.log"  # in the run folder: the harness's progress lines (stages, plan, jobs, run ETA), timestamped


def _logged(echo: Callable[[str], None], run_dir: Path) -> Callable[[str], None]:
    """`echo`, and each line appended to the run's log with the time (the epoch lines of the pipelines go to the
    terminal only)."""
    log = Path(run_dir) / RUN_LOG

    def out(line: str) -> None:
        echo(line)
        try:
            with log.open("a") as f:
                f.write(f"{utc_now()} {line}\n")
        except OSError:
            pass  # the log is a convenience: a full disk is reported by the stage that writes results

    return out


def _run_stages(cfg, run_dir, key, dkey, only, echo, executor, executor_options, only_candidates, time_budget=None,
                plan_only=False) -> Path:  # fmt: skip
    # deferred: the stages import numpy, MLflow and the measurement; the CLI imports this module at start-up
    from benchmarks.harness import stages as S  # noqa: N812  (the stage functions)

    save_resolved(cfg, run_dir / "config.resolved.yaml")
    log = StageLog(run_dir, key, dkey)
    if log.changed and log.stages:
        echo("  the training or measurement settings changed: jobs whose inputs changed train, finished ones are kept")
        log.reset_from("train")
    echo(f"run folder: {run_dir}")
    ctx = S.Context(
        cfg=cfg, run_dir=run_dir, log=log, echo=echo, executor=executor, executor_options=executor_options or {}
    )
    ctx.only_candidates = list(only_candidates or [])
    ctx.time_budget = time_budget
    todo = [s for s in STAGES if not only or s in only]
    progress = Progress(len(todo), echo)
    # --plan logs nothing to MLflow: no run is started for a benchmark that trains nothing
    with contextlib.nullcontext() if plan_only else S.tracking(ctx):
        for name in todo:
            # data is re-read every time (cheap, hash-cached): a changed manifest invalidates what follows; the plan
            # is re-applied every time (a resumed run under a time budget gets the same cuts again)
            if log.done(name) and name not in ("data", "plan"):
                progress.start(name)
                progress.end(name, time.perf_counter(), "kept from the earlier run")
                continue
            t0 = progress.start(name)
            try:
                status = getattr(S, f"stage_{name}")(ctx) or "done"  # or the reason it is not done (mlflow)
            except BaseException as exc:
                wall = time.perf_counter() - t0
                how = "interrupted" if runtime.is_interruption(exc) else "failed"
                log.mark(name, how, wall, repr(exc))
                echo(
                    f"[{progress.i}/{progress.total}] {name}: {how.upper()} after {wall:.1f} s; "
                    f"`clsdet bench ... --resume` continues from here"
                )
                if is_disk_full(exc) and not isinstance(exc, DiskFullError):  # a stage's own write hit it
                    raise disk_full_error(getattr(exc, "filename", None) or run_dir, f"stage {name}") from exc
                raise
            # "done, 2 of 8 latency cells failed": finished (kept on --resume), and the console line says what failed
            log.mark(name, "done" if status.startswith("done") else status, progress.end(name, t0, status))
    return run_dir
