"""`clsdet bench`: data -> split -> train classifier -> train detector -> evaluate -> size -> latency ->
labeling cost -> results.json -> reports -> MLflow.

Each stage writes its output into the run folder and is marked done in `stages.json`, keyed by a hash of the
resolved config and the manifest; `--resume` reuses the newest run with the same key and starts at the first
unfinished stage. The stage functions live in `benchmarks/stages.py`; this module only sequences them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.config import BenchConfig, save_resolved
from benchmarks.record import utc_now

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUNS = REPO / "results" / "runs"

STAGES = (
    "data",
    "split",
    "train_classifier",
    "train_detector",
    "evaluate",
    "size",
    "latency",
    "labeling",
    "results",
    "report",
    "mlflow",
)


def config_key(cfg: BenchConfig) -> str:
    """Hash of everything that changes results: the resolved config minus where things are logged."""
    d = cfg.to_dict()
    d.pop("mlflow", None)
    d.pop("profiles", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


class StageLog:
    """`stages.json` in the run folder: per stage status, wall seconds and finish time; written after each stage."""

    def __init__(self, run_dir: Path, key: str):
        self.file = run_dir / "stages.json"
        self.data = json.loads(self.file.read_text()) if self.file.exists() else {"key": key, "stages": {}}
        self.data["key"] = key

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


def find_resumable(runs_dir: Path, key: str) -> Path | None:
    """The newest run folder whose config key matches (a finished one resumes as a no-op: every stage kept)."""
    candidates = []
    for f in Path(runs_dir).glob("*/stages.json"):
        try:
            d = json.loads(f.read_text())
        except ValueError:
            continue
        if d.get("key") == key:
            candidates.append(f.parent)
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def new_run_dir(runs_dir: Path, cfg: BenchConfig, key: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = Path(runs_dir) / f"{stamp}-{cfg.name}-{key[:6]}"
    run, n = base, 1
    while run.exists():  # the same config twice within a second
        n += 1
        run = base.with_name(f"{base.name}-{n}")
    run.mkdir(parents=True)
    return run


class Progress:
    """One line per stage: `[3/11] train_classifier ...` then `done in 52.1 s`."""

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
) -> Path:
    """Run the benchmark's stages (or just `only`, in order); returns the run folder."""
    from benchmarks import stages as S  # noqa: N812  (the stage functions)

    if devices:
        cfg.latency.devices = list(devices)
        train_device = devices[0]
        cfg.classifier = {**cfg.classifier, "device": train_device}
        cfg.detector = {**cfg.detector, "device": train_device}
    key = config_key(cfg)
    run_dir = find_resumable(runs_dir, key) if resume else None
    if run_dir is None:
        if resume:
            echo(f"--resume: no earlier run with this config (key {key}) under {runs_dir}; starting a new one")
        run_dir = new_run_dir(runs_dir, cfg, key)
    else:
        echo(f"resuming {run_dir}")
    save_resolved(cfg, run_dir / "config.resolved.yaml")
    log = StageLog(run_dir, key)
    echo(f"run folder: {run_dir}")
    ctx = S.Context(cfg=cfg, run_dir=run_dir, log=log, echo=echo)
    unknown = sorted(set(only or []) - set(STAGES))
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; stages: {', '.join(STAGES)}")
    todo = [s for s in STAGES if not only or s in only]
    progress = Progress(len(todo), echo)
    with S.tracking(ctx):
        for name in todo:
            # data is re-read every time (cheap, hash-cached): a changed manifest invalidates what follows
            if log.done(name) and name != "data":
                progress.start(name)
                progress.end(name, time.perf_counter(), "kept from the earlier run")
                continue
            t0 = progress.start(name)
            try:
                getattr(S, f"stage_{name}")(ctx)
            except BaseException as exc:
                wall = time.perf_counter() - t0
                log.mark(name, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed", wall, repr(exc))
                echo(
                    f"[{progress.i}/{progress.total}] {name}: FAILED after {wall:.1f} s; "
                    f"`clsdet bench ... --resume` continues from here"
                )
                raise
            log.mark(name, "done", progress.end(name, t0))
    return run_dir
