"""The report's "Run plan" section: each job's estimated and actual duration, how far the estimate was off, and what
a time budget changed (results.json `plan`, benchmarks/harness/plan.py)."""

from __future__ import annotations

import pandas as pd

from benchmarks.record import fmt_s


def _fmt(seconds) -> str:
    return "n/a" if seconds is None else fmt_s(float(seconds))


def plan_blocks(results: dict) -> list[tuple]:
    plan = results.get("plan")
    if not plan:
        return []  # a run from before plans were recorded
    acc = plan.get("accuracy") or {}
    b: list[tuple] = [("h2", "Run plan: estimate against actual")]
    budget = plan.get("budget") or {}
    if budget.get("budget_s") is not None:
        if budget.get("changes"):
            b.append(("p", f"Time budget {_fmt(budget['budget_s'])}: the settings as asked were estimated at "
                           f"{_fmt(budget.get('estimate_unfitted_s'))}, so the run changed them, in this order "
                           "(each cut weakens what it says):"))  # fmt: skip
            b.append(("list", [f"{c['what']} (`{' '.join(c['overrides'])}`): {c['weakens']}; estimate "
                               f"{_fmt(c['estimate_before_s'])} -> {_fmt(c['estimate_after_s'])}"
                               for c in budget["changes"]]))  # fmt: skip
        else:
            b.append(("p", f"Time budget {_fmt(budget['budget_s'])}: the settings as asked fit; nothing changed."))
    rows = [
        {"job": j["key"], "images": j["n_train"], "val": j["n_val"], "epochs": j["epochs"], "input px": j["imgsz"],
         "estimate": _fmt(j["estimate_s"]), "actual": _fmt(j.get("actual_s")),
         "actual / estimate": "n/a" if j.get("ratio") is None else f"{j['ratio']:.2f}"}
        for j in plan.get("jobs") or []
    ]  # fmt: skip
    if rows:
        b.append(("table", pd.DataFrame(rows)))
    actual = plan.get("actual") or {}
    parts = [f"Training {_fmt(plan.get('train_s'))} estimated, {_fmt(actual.get('train'))} actual"]
    parts.append(f"evaluate {_fmt(plan.get('evaluate_s'))} / {_fmt(actual.get('evaluate'))}")
    parts.append(f"latency {_fmt(plan.get('latency_s'))} / {_fmt(actual.get('latency'))}")
    tol = acc.get("tolerance", 0.3)
    within = (f"{acc.get('within_tolerance')} of {acc.get('n_jobs')} jobs within +-{tol:.0%} of their estimate, "
              f"median actual / estimate {acc['median_ratio']:.2f}" if acc.get("median_ratio") is not None
              else "no job finished to compare")  # fmt: skip
    steps = (plan.get("timings") or {}).get("steps") or []
    how = "; ".join(f"{t['pipeline']} {t['model']} at {t['imgsz']} px: {t['method']}" for t in steps if t.get("method"))
    text = f"Estimated before the first epoch: {plan.get('method', '')}" + (f" (step timing: {how})" if how else "")
    text += f". {'; '.join(parts)}. {within}. A job kept from an earlier run counts its original time."
    b.append(("p", text))
    return b
