"""`--time-budget`: fit the run's settings into a wall-clock budget before the first epoch, in a fixed order.

The order spends the budget where it buys the most of the answer. Repeats go first (extra splits, extra seeds:
they measure the variance, the report then says it was not measured), then budget-curve points (fewer points,
the curve is coarser), then epochs down to a floor (half the configured epochs, at least MIN_EPOCHS: below that a
from-scratch model is mostly untrained, and the slope test flags it), then input size in 32 px steps down to what
the objects allow (no class's median box below the size `data inspect` warns at, no pipeline below its registered
`min_imgsz`), then latency cells (eager float32 at batch 1). Every cut is a `--set` override, recorded with
what it weakens; a run without a budget changes nothing. When even the last cut does not fit, the bench stops
before training and says what the smallest plan takes.
"""

from __future__ import annotations

import math
import re

from benchmarks.record import fmt_s
from benchmarks.registry.pipelines import PIPELINES
from benchmarks.registry.pipelines import get as get_pipeline

MIN_EPOCHS = 3
EPOCH_FLOOR = 0.5  # of the configured epochs
IMGSZ_STEP = 32  # Ultralytics rounds input sizes to its stride 32
EPOCH_SHARES = (0.9, 0.8, 0.7, 0.6, 0.5)  # tried in order: the first that fits wins


class BudgetError(ValueError):
    user_error = True  # bad input: exit 2 with the message


def parse_duration(text: str) -> float:
    """'20m', '1h30m', '90s', '1.5h' -> seconds; a bare number is refused (minutes or seconds?)."""
    t = str(text).strip().lower().replace(" ", "")
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise BudgetError(f"--time-budget {text!r}: give a duration with units, e.g. 20m, 1h30m, 90s or 1.5h")
    seconds = sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if seconds <= 0:
        raise BudgetError(f"--time-budget {text!r}: the budget must be longer than 0 s")
    return seconds


def _cuts(cfg, manifest):
    """The cuts in order, each a function of the current config -> (overrides, what, weakens) or None when it does
    not apply. Functions, not values: each looks at the config as the cuts before it left it."""

    def splits(c):
        if c.curve.splits:
            return ["curve.splits=[]"], f"extra splits {c.curve.splits} dropped", "split-to-split variance not measured"

    def seeds(c):
        if len(c.curve.seeds) > 1:
            return ([f"curve.seeds=[{c.curve.seeds[0]}]"], f"seeds {c.curve.seeds} -> [{c.curve.seeds[0]}]",
                    "training variance not measured (one seed)")  # fmt: skip

    def fractions(c):
        fr = sorted(c.curve.fractions)
        if len(fr) > 2:
            new = [fr[0], 1.0] if 1.0 in fr else [fr[0], fr[-1]]
            return ([f"curve.fractions=[{', '.join(f'{f:g}' for f in new)}]"], f"curve fractions {fr} -> {new}",
                    f"budget curve at {len(new)} configured fractions instead of {len(fr)}")  # fmt: skip

    def match_points(c):
        if c.curve.match_hours and c.curve.match_points > 1:
            n = c.curve.match_points - 1
            return ([f"curve.match_points={n}"], f"common-hour points {c.curve.match_points} -> {n}",
                    f"curve at {n} common labeling hours instead of {c.curve.match_points}")  # fmt: skip

    def fractions_last(c):
        fr = sorted(c.curve.fractions)
        if len(fr) > 1:
            return (["curve.fractions=[1.0]"], f"curve fractions {fr} -> [1.0]",
                    "budget curve only at the common labeling hours and full data")  # fmt: skip

    def epochs(c):
        return "epochs"  # searched below: the first share of the configured epochs that fits

    def imgsz(c):
        return "imgsz"

    def latency(c):
        lc = c.latency
        if list(lc.backends) != ["eager"] or list(lc.dtypes) != ["float32"] or list(lc.batch_sizes) != [1]:
            return (["latency.backends=[eager]", "latency.dtypes=[float32]", "latency.batch_sizes=[1]",
                     f"latency.rounds={min(lc.rounds, 2)}"], "latency cells -> eager float32 at batch 1",
                    "latency measured for eager float32 at batch 1 only")  # fmt: skip

    return [splits, seeds, fractions, match_points, match_points, fractions_last, epochs, imgsz, latency]


def _section_max(cfg, pipeline: str, key: str) -> int | None:
    vals = [int(getattr(c.config, key)) for c in cfg.candidates if c.pipeline == pipeline]
    return max(vals) if vals else None


def _min_imgsz(manifest, pipeline: str, now: int) -> int:
    """The smallest input size (a multiple of IMGSZ_STEP) at which no class's median box falls below MIN_BOX_PX."""
    from benchmarks.data.sizes import MIN_BOX_PX, object_sizes  # deferred: data.sizes imports numpy

    floor = max(get_pipeline(pipeline).min_imgsz, IMGSZ_STEP)
    size = now
    while size - IMGSZ_STEP >= floor:
        trial = size - IMGSZ_STEP
        per = object_sizes(manifest, {pipeline: trial}).get("per_class") or {}
        small = [v["median_box_px_at"].get(pipeline) for v in per.values() if v.get("median_box_px_at")]
        if any(s is not None and s < MIN_BOX_PX for s in small):
            break
        size = trial
    return size


def _smallest(manifest, pipeline: str, size: int) -> str | None:
    """'detector at 256 px: median cup box 13.1 px', the class whose median box is smallest at that input size."""
    from benchmarks.data.sizes import object_sizes  # deferred: data.sizes imports numpy

    per = object_sizes(manifest, {pipeline: size}).get("per_class") or {}
    at = {c: v["median_box_px_at"].get(pipeline) for c, v in per.items() if v.get("median_box_px_at")}
    at = {c: px for c, px in at.items() if px is not None}
    if not at:
        return None
    cls = min(at, key=at.get)
    return f"{pipeline} at {size} px: median {cls} box {at[cls]:.1f} px"


def fit_budget(cfg, manifest, budget_s: float, estimate, apply, echo=print) -> tuple:
    """(the fitted config, its plan, [change records]). `estimate(cfg) -> plan dict` (plan.make_plan on the run's
    data), `apply(cfg, overrides) -> cfg`. Raises BudgetError when the smallest plan does not fit."""
    plan = estimate(cfg)
    changes: list[dict] = []

    def record(over, what, weakens, before, after):
        changes.append({"overrides": over, "what": what, "weakens": weakens, "estimate_before_s": round(before, 1),
                        "estimate_after_s": round(after, 1)})  # fmt: skip

    for cut in _cuts(cfg, manifest):
        if plan["total_s"] <= budget_s:
            break
        step = cut(cfg)
        if step is None:
            continue
        if step == "epochs":
            cfg, plan = _cut_epochs(cfg, plan, budget_s, estimate, apply, record)
            continue
        if step == "imgsz":
            cfg, plan = _cut_imgsz(cfg, manifest, plan, budget_s, estimate, apply, record)
            continue
        over, what, weakens = step
        new_cfg = apply(cfg, over)
        new_plan = estimate(new_cfg)
        record(over, what, weakens, plan["total_s"], new_plan["total_s"])
        cfg, plan = new_cfg, new_plan
    if plan["total_s"] > budget_s:
        raise BudgetError(
            f"--time-budget {fmt_s(budget_s)}: the smallest plan takes about {fmt_s(plan['total_s'])} on this "
            f"machine after every cut ({'; '.join(c['what'] for c in changes) or 'none applied'}); give at least "
            f"{fmt_s(plan['total_s'] * 1.1)}, or fewer candidates or images"
        )
    return cfg, plan, changes


def _first_fit(cfg, plan, budget_s, estimate, apply, trials) -> tuple | None:
    """(values, config, plan) of the first trial that fits the budget, else of the last one tried; None when no trial
    changes anything. A trial is {pipeline: value}, cut harder as the trials go on."""
    best = None
    for values in trials:
        if not values:
            continue  # this step changes nothing (e.g. 90% of 4 epochs is still 4): try the next
        trial = apply(cfg, [f"{k}={v}" for k, v in values.items()])
        best = (values, trial, estimate(trial))
        if best[2]["total_s"] <= budget_s:
            break
    return best


def _cut_epochs(cfg, plan, budget_s, estimate, apply, record):
    base = {p: e for p in PIPELINES if (e := _section_max(cfg, p, "epochs")) is not None}

    def trials():
        for share in EPOCH_SHARES:
            new = {p: max(min(e, MIN_EPOCHS), math.ceil(e * max(share, EPOCH_FLOOR))) for p, e in base.items()}
            yield {f"{p}.epochs": n for p, n in new.items() if n < base[p]}

    best = _first_fit(cfg, plan, budget_s, estimate, apply, trials())
    if best is None:
        return cfg, plan
    values, new_cfg, new_plan = best
    what = ", ".join(f"{k.split('.')[0]} epochs {base[k.split('.')[0]]} -> {v}" for k, v in values.items())
    record([f"{k}={v}" for k, v in values.items()], what,
           "fewer epochs: models may be undertrained (the slope test flags them)", plan["total_s"],
           new_plan["total_s"])  # fmt: skip
    return new_cfg, new_plan


def _cut_imgsz(cfg, manifest, plan, budget_s, estimate, apply, record):
    from benchmarks.data.sizes import MIN_BOX_PX  # deferred: data.sizes imports numpy

    now = {p: s for p in PIPELINES if (s := _section_max(cfg, p, "imgsz")) is not None}
    floors = {p: _min_imgsz(manifest, p, s) for p, s in now.items()}

    def trials():
        sizes = dict(now)
        while True:  # one step down for every pipeline still above its floor, until none is
            down = {p: s - IMGSZ_STEP if s - IMGSZ_STEP >= floors[p] else s for p, s in sizes.items()}
            if down == sizes:
                return
            sizes = down
            yield {f"{p}.imgsz": s for p, s in sizes.items() if s != now[p]}

    best = _first_fit(cfg, plan, budget_s, estimate, apply, trials())
    if best is None:
        return cfg, plan
    values, new_cfg, new_plan = best
    sizes = {k.split(".")[0]: v for k, v in values.items()}
    what = ", ".join(f"{p} input {now[p]} -> {v} px" for p, v in sizes.items())
    smallest = [t for p, v in sizes.items() if (t := _smallest(manifest, p, v))]
    weak = (f"smaller input: the smallest objects lose detail ({'; '.join(smallest) or 'no boxes to measure'}; kept "
            f"at or above the {MIN_BOX_PX} px median box `data inspect` warns at)")  # fmt: skip
    record([f"{k}={v}" for k, v in values.items()], what, weak, plan["total_s"], new_plan["total_s"])
    return new_cfg, new_plan
