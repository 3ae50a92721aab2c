"""`plots/budget_curve.png`: test macro AP against labeling hours (log) and against labeled images, per method.

One line per (candidate, method) through the mean over seeds at each fraction; the band is the seed spread (min to
max over seeds) when there are several seeds, else the point's bootstrap 95% CI (the title says which); every
seed's point is marked, hollow where the point was capped (fewer optimizer steps than the full run). A line ends at
its method's dearest point: nothing is extrapolated or held flat, as in the verdict. The random-ranking baseline
(the permutation test's mean macro AP, averaged over the points) is a dashed grey line. With a labeling rate in
money, the hours axis gets a second scale in currency on top.

For render_plots' registry (plots.py PLOTS: name -> fn(results)), use `plot_budget_from_results`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.registry import methods

EXTRA = methods.SPARE_COLOURS  # a method's second and later candidates
DPI = 110


def _series(points: list[dict]) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for p in points:
        acc, lab = p.get("accuracy") or {}, p.get("labeling") or {}
        if acc.get("macro_ap") is None:
            continue
        key = (str(p.get("candidate") or p.get("pipeline") or p.get("method")), str(p.get("method")))
        out[key].append({
            "fraction": float(p["fraction"]), "seed": p.get("seed"), "hours": lab.get("hours"),
            "n_images": p.get("n_images"), "ap": float(acc["macro_ap"]), "ci": acc.get("macro_ap_ci95"),
            "baseline": (acc.get("baseline") or {}).get("random_ranking_macro_ap",
                                                        (acc.get("baseline") or {}).get("macro_ap")),
            "capped": bool((p.get("recipe") or {}).get("capped")),
        })  # fmt: skip
    return out


def _rows(pts: list[dict], x: str) -> list[tuple[float, float, float, float, int]]:
    """(x mean, ap mean, band lo, band hi, n seeds) per fraction, sorted by x; points without x dropped."""
    by_f: dict[float, list[dict]] = defaultdict(list)
    for q in pts:
        if q[x] is not None and q[x] > 0:
            by_f[q["fraction"]].append(q)
    rows = []
    for _, qs in sorted(by_f.items()):
        aps = np.array([q["ap"] for q in qs])
        if len(qs) > 1:
            lo, hi = aps.min(), aps.max()
        else:
            ci = qs[0]["ci"] or [aps[0], aps[0]]
            lo, hi = ci
        rows.append((float(np.mean([q[x] for q in qs])), float(aps.mean()), float(lo), float(hi), len(qs)))
    return sorted(rows)


def _box_method() -> str:
    """The method whose per-box rate the rate figure moves (the first registered that is priced per box)."""
    return next((m.name for m in methods.METHODS.values() if m.unit == "box"), "")


def _targets(ax, verdict: dict) -> None:
    """Target lines (dotted) and, on them, each method's hours to reach it (a marker; none when not reached)."""
    seen = set()
    for method, entries in (verdict.get("hours_to_target") or {}).items():
        for e in entries:
            t = e.get("target")
            if t is None:
                continue
            if t not in seen:
                ax.axhline(t, color="#555555", ls=":", lw=0.9)
                ax.annotate(e["name"], (1.0, t), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                            fontsize=7, color="#555555")  # fmt: skip
                seen.add(t)
            if e.get("hours"):
                ax.plot([e["hours"]], [t], marker="v", ms=8, color=methods.colour(method), zorder=4)


def budget_figure(points: list[dict], labeling_usd_per_hour: float | None = None, verdict: dict | None = None):
    """The two-panel Figure, or a string saying why it cannot be drawn."""
    series = _series(points)
    if not any(_rows(v, "hours") for v in series.values()):
        return "no budget point with labeling hours and a macro AP"
    # deferred: matplotlib is heavy
    from matplotlib.figure import Figure

    # deferred: matplotlib is heavy
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(10.5, 4.4), dpi=DPI, layout="constrained")
    ax_h, ax_n = fig.subplots(1, 2, sharey=True)
    methods_seen: dict[str, int] = defaultdict(int)
    capped_labelled = False  # one legend entry for the hollow markers, whichever series has the first
    spreads = set()
    for (cand, method), pts in sorted(series.items(), key=lambda kv: kv[0][1]):
        i = methods_seen[method]
        methods_seen[method] += 1
        color = methods.colour(method) if i == 0 else EXTRA[(i + len(methods_seen)) % len(EXTRA)]
        label = f"{cand} ({methods.label(method)})"
        for ax, x in ((ax_h, "hours"), (ax_n, "n_images")):
            rows = _rows(pts, x)
            if not rows:
                continue
            xs, ys, lo, hi, ns = (np.array(c) for c in zip(*rows))
            spreads.add("seed spread (min-max)" if ns.max() > 1 else "bootstrap 95% CI (one seed)")
            ax.fill_between(xs, lo, hi, color=color, alpha=0.18, lw=0)
            ax.plot(xs, ys, color=color, lw=1.8, label=label if ax is ax_h else None)
            for capped in (False, True):  # hollow: a capped point (fewer optimizer steps than the full run)
                qs = [q for q in pts if q[x] and q["capped"] == capped]
                first = bool(capped and qs and ax is ax_h and not capped_labelled)
                capped_labelled = capped_labelled or first
                ax.scatter([q[x] for q in qs], [q["ap"] for q in qs], s=22, zorder=3, lw=1.0 if capped else 0.5,
                           color="white" if capped else color, edgecolor=color if capped else "white",
                           label="capped point (hollow)" if first else None)  # fmt: skip
    base = [q["baseline"] for v in series.values() for q in v if q["baseline"] is not None]
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax, xlabel in ((ax_h, "labeling hours (log; val split included)"), (ax_n, "labeled train images (log)")):
        if base:
            ax.axhline(
                float(np.mean(base)),
                color="#7f7f7f",
                ls="--",
                lw=1,
                label="random-ranking baseline" if ax is ax_h else None,
            )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(plain)
        lead = "25" if ax is ax_h else "2345"  # image counts span less than a decade or two: label more ticks
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _, lead=lead: f"{v:g}" if f"{v:g}"[0] in lead else ""))
        ax.set_xlabel(xlabel)
        ax.grid(True, which="both", alpha=0.3)
    ax_h.set_ylabel("macro AP (test)")
    if verdict:
        _targets(ax_h, verdict)
    if labeling_usd_per_hour:
        rate = float(labeling_usd_per_hour)
        top = ax_h.secondary_xaxis("top", functions=(lambda h: h * rate, lambda d: d / rate))
        top.set_xlabel(f"labeling cost (USD at {rate:g} per hour)")
        top.xaxis.set_major_formatter(plain)
    band = " / ".join(sorted(spreads))
    fig.legend(loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Accuracy per labeling budget (band: {band})", fontsize=11)
    return fig


def plot_budget_curve(points: list[dict], path: str | Path, labeling_usd_per_hour: float | None = None) -> Path | str:
    """Write the PNG to `path` and return it, or return the reason it was not drawn (and leave no stale file)."""
    path = Path(path)
    fig = budget_figure(points, labeling_usd_per_hour)
    if isinstance(fig, str):
        path.unlink(missing_ok=True)
        return fig
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def plot_budget_from_results(results: dict):
    """render_plots-style entry: the points under results['curve']['points'] (the key the harness writes)."""
    curve = results.get("curve") or {}
    if not curve.get("points"):
        return "no budget curve in this run (results.json has no curve points)"
    points = [p for p in curve["points"] if not p.get("split")]  # extra splits are not budget points
    return budget_figure(points, (curve.get("rates") or {}).get("labeling_usd_per_hour"), curve.get("verdict"))


def rate_figure(results: dict):
    """Where the lead changes (hours) against the seconds per box, at the fastest, central and slowest box rates."""
    v = (results.get("curve") or {}).get("verdict") or {}
    rr = v.get("rate_range") or {}
    cross, rates = rr.get("crossover_hours") or {}, rr.get("s_per_box") or {}
    pts = [(rates[n], cross.get(n)) for n in ("boxes_cheap", "nominal", "boxes_dear") if rates.get(n)]
    if not pts:
        return "no per-box labeling rate in this run (boxes priced per image, or no detector points)"
    if all(h is None for _, h in pts):
        return "no change of lead on the budget curve at any box rate: nothing for the rates to move"
    # deferred: matplotlib is heavy
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.2), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    xs = [x for x, h in pts if h is not None]
    ax.plot(xs, [h for _, h in pts if h is not None], marker="o", color=methods.colour(_box_method()))
    for x, h in pts:
        if h is None:
            ax.annotate("no change", (x, 0), xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=7)
    ax.set_xlabel("seconds per box (fastest / central / slowest)")
    ax.set_ylabel("labeling hours where the lead changes")
    ax.grid(True, alpha=0.3)
    fig.suptitle("Budget answer against the box rate", fontsize=10)
    return fig
