"""The report's opening: the verdict and the budget-curve sentence, the budget points and the paired differences,
all read from results.json's `curve` (written by the harness's curve stage); nothing is recomputed here."""

from __future__ import annotations

import pandas as pd

from benchmarks.report import common as C  # noqa: N812


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


def points_table(results: dict) -> pd.DataFrame:
    rows = []
    for p in _curve(results).get("points") or []:
        acc, lab, rec = p.get("accuracy") or {}, p.get("labeling") or {}, p.get("recipe") or {}
        rows.append({
            "candidate": p.get("candidate"), "method": p.get("method"), "fraction": f"{p.get('fraction', 0):g}",
            "seed": p.get("seed"), "images": p.get("n_images"), "boxes": p.get("n_boxes"),
            "labeling h [range]": f"{C.fmt(lab.get('hours'), 2)} [{C.fmt(lab.get('hours_lo'), 2)}, "
            f"{C.fmt(lab.get('hours_hi'), 2)}] ({lab.get('source', '?')})",
            "macro AP [95% CI]": C.fmt_ci(acc.get("macro_ap"), acc.get("macro_ap_ci95")),
            "beats baseline": {True: "yes", False: "no"}.get((acc.get("vs_baseline") or {}).get("beats_baseline"), "?"),
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
            "a - b": f"{r.get('a', 'detector')} - {r.get('b', 'classifier')}", "difference [95% CI]": _ci(
                r.get("diff"), r.get("ci95")),
            "CI excludes 0": {True: "yes", False: "no"}.get(r.get("excludes_zero"), "?"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def headline_difference(results: dict) -> dict[str, str]:
    """{detector candidate: 'vs <classifier>: +0.09 [+0.05, +0.12]'} at the headline fraction; with several seeds,
    the mean +- std over seeds next to the first seed's bootstrap CI."""
    rows = [r for r in _curve(results).get("paired") or [] if r.get("metric") == "macro_ap" and r.get("fraction") == 1]
    out: dict[str, list[str]] = {}
    by: dict[tuple, list[dict]] = {}
    for r in rows:
        by.setdefault((r.get("a"), r.get("b")), []).append(r)
    for (a, b), rs in by.items():
        rs = sorted(rs, key=lambda r: r.get("seed", 0))
        text = f"vs {b}: {_ci(rs[0].get('diff'), rs[0].get('ci95'))}"
        diffs = [r["diff"] for r in rs if C.num(r.get("diff")) is not None]
        if len(diffs) > 1:
            mean = sum(diffs) / len(diffs)
            std = (sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)) ** 0.5
            text += f"; {mean:+.3f} +- {std:.3f} over {len(diffs)} seeds"
        out.setdefault(str(a), []).append(text)
    return {k: "; ".join(v) for k, v in out.items()}


def verdict_blocks(results: dict, plots: dict) -> list[tuple]:
    curve = _curve(results)
    v = curve.get("verdict") or {}
    if not v:
        return [("h2", "Verdict"), ("p", C.na("no budget curve in this run (results.json has no `curve`)"))]
    blocks: list[tuple] = [("h2", "Verdict"), ("p", v.get("text") or "n/a")]
    derivation = (v.get("sentence") or {}).get("derivation")
    if derivation:
        blocks.append(("p", f"How the sentence is derived: {derivation}"))
    blocks += [
        (
            "plot",
            "budget_curve",
            plots.get("budget_curve"),
            "Test macro AP against labeling hours (log) and against labeled images, per candidate; band: seed "
            "spread (one seed: bootstrap 95% CI). Every point's hours include labeling the fixed val split, which "
            "each method needs too.",
        ),
        ("h3", "Budget points"),
        ("table", points_table(results)),
        ("h3", "Paired differences (same test images resampled for both models)"),
        ("table", paired_table(results)),
    ]
    if curve.get("failed"):
        blocks.append(("p", "Failed points: " + "; ".join(f"{f['key']}: {f.get('error')}" for f in curve["failed"])))
    rates = curve.get("rates") or {}
    if any(v is not None for v in rates.values()):
        blocks.append(("p", f"Money: labeling at {rates.get('labeling_usd_per_hour')} USD/h, compute at "
                            f"{rates.get('compute_usd_per_hour')} USD/h (from the config's `cost:`)."))  # fmt: skip
    return blocks
