"""The report's opening: the verdict and the budget-curve sentence, the budget points and the paired differences,
all read from results.json's `curve` (written by the harness's curve stage); nothing is recomputed here."""

from __future__ import annotations

import pandas as pd

from benchmarks.curve.sentence import short
from benchmarks.report import common as C  # noqa: N812
from benchmarks.report.settings import settings_blocks, shown_verdict


def _curve(results: dict) -> dict:
    c = results.get("curve")
    return c if isinstance(c, dict) else {}


def _ci(v, ci) -> str:
    if C.num(v) is None:
        return "n/a"
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(C.num(x) is not None for x in ci):
        return f"{v:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"
    return f"{v:+.3f} [CI n/a]"


def _epochs(rec: dict) -> str:
    return f"{rec.get('epochs', '?')} ({rec.get('steps', '?')}{', capped' if rec.get('capped') else ''})"


def _still_improving(p: dict) -> str:
    """yes / no / ? with the p-value of the slope test on the val metric's last epochs (curve/recipe.py)."""
    word = {True: "yes", False: "no"}.get(p.get("undertrained"), "?")
    pv = (p.get("undertrained_test") or {}).get("p_value")
    return f"{word} (p {pv:.2g})" if C.num(pv) is not None else word


def targets_table(results: dict) -> pd.DataFrame:
    """Per method and target: the labeling hours to reach it, with the bootstrap interval (never extrapolated)."""
    v = _curve(results).get("verdict") or {}
    usd = v.get("labeling_usd_per_hour")
    rows = []
    for method, entries in (v.get("hours_to_target") or {}).items():
        for e in entries:
            ci = e.get("ci95")
            rows.append({
                "method": short(method), "target": e.get("name"), "macro AP": C.fmt(e.get("target"), 3),
                "labeling hours": C.fmt(e.get("hours"), 3) if e.get("hours") is not None else "not reached",
                "95% CI": (f"[{C.fmt(ci[0], 3)}, {C.fmt(ci[1], 3) if ci[1] is not None else 'not reached'}]"
                           if ci else "n/a"),
                "reached in resamples": f"{(e.get('reached_share') or 0):.0%}",
                **({"USD": C.fmt(e["hours"] * usd, 0) if e.get("hours") is not None else "—"} if usd else {}),
            })  # fmt: skip
    return pd.DataFrame(rows)


def points_table(results: dict) -> pd.DataFrame:
    rows = []
    for p in _curve(results).get("points") or []:
        acc, lab, rec = p.get("accuracy") or {}, p.get("labeling") or {}, p.get("recipe") or {}
        val = lab.get("val") or {}
        rows.append({
            "candidate": p.get("candidate"), "method": p.get("method"), "fraction": f"{p.get('fraction', 0):g}",
            "seed": p.get("seed"), "images": p.get("n_images"), "boxes": p.get("n_boxes"),
            "labeling h [range]": f"{C.fmt(lab.get('hours'), 3)} [{C.fmt(lab.get('hours_lo'), 3)}, "
            f"{C.fmt(lab.get('hours_hi'), 3)}] ({lab.get('source', '?')})",
            "of which val": f"{C.fmt(val.get('hours'), 3)} ({val.get('n_images')} images)",
            "split": p.get("split", 0),
            "macro AP [95% CI]": C.fmt_ci(acc.get("macro_ap"), acc.get("macro_ap_ci95")),
            "random ranking": C.fmt((acc.get("baseline") or {}).get("random_ranking_macro_ap"), 3),
            "p (this point alone)": C.fmt((acc.get("vs_baseline") or {}).get("p_value"), 3),
            "epochs (steps)": _epochs(rec),
            "train": C.fmt_seconds(p.get("train_wall_s")),
            "still improving": _still_improving(p),
        })  # fmt: skip
    return pd.DataFrame(rows)


def paired_table(results: dict) -> pd.DataFrame:
    rows = []
    for r in _curve(results).get("paired") or []:
        rows.append({
            "fraction": f"{r.get('fraction', 0):g}", "seed": r.get("seed"), "metric": r.get("metric"),
            "a - b": f"{r.get('a', '?')} - {r.get('b', '?')}", "difference [95% CI]": _ci(
                r.get("diff"), r.get("ci95")),
            "CI excludes 0 (this seed alone)": {True: "yes", False: "no"}.get(r.get("excludes_zero"), "?"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def headline_difference(results: dict) -> dict[str, str]:
    """{a's candidate: 'vs <b's candidate>: +0.09 [+0.05, +0.12], P(better) 0.99, 3 seeds'} at the headline
    fraction, from the verdict's paired two-level bootstrap (seeds and test images resampled together); a - b is the
    verdict's pair of methods (detector minus classifier with the built-in two)."""
    v = _curve(results).get("verdict") or {}
    head = v.get("headline") or {}
    cands = v.get("candidates") or []
    models = v.get("models") or {}
    a, b = C.method_pair(results)
    det = [c for c in cands if (models.get(c) or {}).get("method") == a]
    cls = [c for c in cands if (models.get(c) or {}).get("method") == b]
    if head.get("diff") is None or not det or not cls:
        return {}
    seeds = f"{head.get('n_seeds')} seeds" if (head.get("n_seeds") or 1) > 1 else "one seed"
    text = f"vs {cls[0]}: {_ci(head['diff'], head.get('ci95'))}, P(better) {head.get('p_a_better', 0):.2f}, {seeds}"
    return {det[0]: text}


def self_check_table(check: dict | None) -> pd.DataFrame:
    """The verdict's rules and their error rates measured on this run's own test labels."""
    if not check or check.get("error"):
        return pd.DataFrame()
    power = check.get("power") or {}
    rows = [
        ("'beats a random ranking' when the scores know nothing", f"{check['false_beats_rate']:.1%}",
         f"<= {check['alpha']:.0%}", "permutation test"),
        ("'ahead' between two equally good models", f"{check['false_ahead_rate']:.1%}", "<= 5%",
         "paired bootstrap and paired permutation test, one seed"),
        ("95% macro-AP interval contains the true value", f"{check['coverage']:.0%}", "95%",
         "basic bootstrap, logit scale"),
    ] + [
        (f"a real difference of {d} macro AP is detected", f"{v:.0%}", f">= {check['power_target']:.0%} wanted",
         "power") for d, v in power.items()
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["rule", "measured on this run's labels", "nominal", "what"])


def verdict_blocks(results: dict, plots: dict) -> list[tuple]:
    curve = _curve(results)
    v = shown_verdict(results)
    if not v:
        return [("h2", "Verdict"), ("p", C.na("no budget curve in this run (results.json has no `curve`)")),
                *settings_blocks(results)]  # fmt: skip
    blocks: list[tuple] = [("h2", "Verdict"), ("p", v.get("answer") or v.get("text") or "n/a")]
    blocks += settings_blocks(results)
    if v.get("how_sure"):
        check = v.get("self_check") or {}
        blocks += [("h3", "How sure is this"), ("p", v["how_sure"])]
        table = self_check_table(check)
        if not table.empty:
            blocks += [("table", table), ("p", f"Simulation: {check.get('method')}; {check.get('sims')} runs per "
                                               f"rule, {check.get('wall_s')} s.")]  # fmt: skip
    if v.get("what_would_change"):
        blocks += [("h3", "What would change it"), ("p", v["what_would_change"])]
    derivation = (v.get("sentence") or {}).get("derivation")
    if derivation:
        blocks.append(("p", f"How the budget sentence is derived: {derivation}"))
    blocks += [
        (
            "plot",
            "budget_curve",
            plots.get("budget_curve"),
            "Test macro AP against labeling hours (log) and against labeled images, per candidate; band: seed "
            "spread (one seed: bootstrap 95% CI); hollow markers: capped points (fewer optimizer steps than the full "
            "run); dashed: the random-ranking baseline; dotted: targets, with each method's hours to reach them (v). "
            "Every point's hours include labeling its val images (see the points table).",
        ),
        ("h3", "Hours to reach a target"),
        ("table", targets_table(results)),
        (
            "plot",
            "rate_range",
            plots.get("rate_range"),
            "Where the lead changes on the budget curve, at the fastest, central and slowest cited box rates.",
        ),
        ("h3", "Budget points"),
        ("table", points_table(results)),
        (
            "h3",
            "Paired differences per seed (same test images resampled for both models; descriptive: the verdict's "
            "claims use the two-level comparison above)",
        ),
        ("table", paired_table(results)),
    ]
    if curve.get("failed"):
        blocks.append(("p", "Failed points: " + "; ".join(f"{f['key']}: {f.get('error')}" for f in curve["failed"])))
    rates = curve.get("rates") or {}
    if any(v is not None for v in rates.values()):
        blocks.append(("p", f"Money: labeling at {rates.get('labeling_usd_per_hour')} USD/h, compute at "
                            f"{rates.get('compute_usd_per_hour')} USD/h (from the config's `cost:`)."))  # fmt: skip
    return blocks
