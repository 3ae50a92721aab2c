"""`clsdet evaluate RUN_DIR`: every statistic and the verdict recomputed from the stored test scores, no retraining.

Each scored point keeps `jobs/<key>/scored.npz` (scores, truth, ids, classes, thresholds; harness/training.py).
This re-scores every point from those files with the run's resolved config (bootstrap and permutation counts may be
overridden), keeps what cannot be recomputed without the models (box mAP), then runs the curve, results and report
stages again. A point whose file is missing or unreadable is reported and left out, never silently.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.config import ConfigError, load_config
from benchmarks.evaluate import evaluate
from benchmarks.harness import stages as S
from benchmarks.harness.jobs import JOBS_DIR
from benchmarks.harness.training import SCORED, load_scored

RESOLVED = "config.resolved.yaml"


class _NoLog:
    """Stage bookkeeping is not touched: the stages were finished by the bench that made the run."""

    def __init__(self, run_dir: Path):
        f = run_dir / "stages.json"
        self.stages = json.loads(f.read_text()).get("stages", {}) if f.is_file() else {}

    def done(self, name: str) -> bool:
        return True

    def mark(self, *a, **k) -> None:
        pass


def reevaluate(run_dir: Path, overrides: list[str] | None = None, echo=print) -> dict:
    """Recompute eval.json's accuracy per point, curve.json, results.json and the reports. Returns the verdict."""
    run_dir = Path(run_dir)
    cfg_file = run_dir / RESOLVED
    if not cfg_file.is_file():
        raise ConfigError(f"{run_dir}: no {RESOLVED}; is this a run folder made by `clsdet bench`?")
    cfg = load_config(cfg_file, overrides=overrides)
    ctx = S.Context(cfg=cfg, run_dir=run_dir, log=_NoLog(run_dir), echo=echo)
    ev = ctx.read_json("eval.json")
    m = cfg.metrics
    redone, missing = 0, []
    for key, entry in (ev.get("points") or {}).items():
        if entry.get("status") != "done":
            continue
        folder = run_dir / JOBS_DIR / key
        if not (folder / SCORED).is_file():
            missing.append(key)
            continue
        d = load_scored(folder)
        split = entry.get("split", 0)
        want = ev["test_ids"] if not split else (ev.get("split_test_ids") or {}).get(str(split))
        if d["ids"] != list(want or []):
            raise ConfigError(f"{folder / SCORED}: scored on other test images than eval.json's; re-run the bench")
        acc = evaluate(d["scores"], d["truth"], d["thresholds"], d["classes"], n_boot=m.bootstrap, seed=m.seed,
                       ids=d["ids"], n_perm=m.permutations)  # fmt: skip
        entry["accuracy"] = acc
        redone += 1
    for name, model in (ev.get("models") or {}).items():  # headline models: same accuracy as their point
        for key, entry in (ev.get("points") or {}).items():
            if entry.get("accuracy") and key.startswith(f"{name}/") and _is_headline(run_dir, key):
                model["accuracy"] = entry["accuracy"]
    if missing:
        echo(f"  {len(missing)} point(s) without stored scores ({SCORED}) keep their earlier statistics: "
             f"{', '.join(missing)}; `clsdet bench CONFIG --resume` scores them again")  # fmt: skip
    ctx.write_json("eval.json", ev)
    echo(f"  re-evaluated {redone} point(s) from stored scores ({m.bootstrap} resamples, {m.permutations} perms)")
    S.stage_curve(ctx)
    S.stage_results(ctx)
    S.stage_report(ctx)
    return ctx.read_json("curve.json")["verdict"]


def _is_headline(run_dir: Path, key: str) -> bool:
    f = run_dir / JOBS_DIR / key / "job.json"
    return f.is_file() and bool(json.loads(f.read_text()).get("headline"))
