"""The budget-curve sentence, computed from the points, as text and a dict.

Inputs are lists of the harness's records: a point is {candidate, pipeline, method ('folder_sort' | 'cvat_boxes'),
fraction, seed, n_images, labeling{hours, hours_lo, hours_hi, source}, accuracy{macro_ap, macro_ap_ci95, vs_baseline,
decisions_equal_always_positive}, undertrained}; a paired row is {fraction, seed, metric, diff, ci95}.

How the sentence is derived (DERIVATION, also returned so the report can print it):
- per method, the points are averaged over seeds at each fraction: mean macro AP, and an uncertainty half-width
  u = sqrt(b^2 + (t s / sqrt(k))^2) with b the mean half-width of the points' bootstrap CIs (test-set noise), s
  the std over the k seeds (training noise; 0 with one seed) and t Student's 97.5% quantile with k - 1 degrees of
  freedom (4.3 for 3 seeds: few seeds must not look certain);
- mean AP and u are interpolated linearly in log(hours) between measured points, on a common log grid. Below a
  method's cheapest point it is "not measured" (no extrapolation). Above its dearest point it is "not measured"
  too, unless that point used every train image (fraction 1): then more hours buy nothing more for that method and
  its full-data value holds;
- at each grid hour, d = AP(detector) - AP(classifier) with half-width sqrt(u_det^2 + u_cls^2); a method is "ahead"
  where that interval excludes 0, else the difference is "within the uncertainty".
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

LABELS = {"folder_sort": "the classifier (folder sorting)", "cvat_boxes": "the detector (CVAT boxes)"}
SHORT = {"folder_sort": "classifier, folder sorting", "cvat_boxes": "detector, CVAT boxes"}
DERIVATION = (
    "Mean test macro AP per method and fraction over seeds, with half-width sqrt(b^2 + (t s/sqrt(k))^2) (b: mean "
    "bootstrap CI half-width, s: std over k seeds, t: Student's 97.5% quantile, k - 1 d.o.f.); both interpolated "
    "linearly in log labeling hours between "
    "measured points, without extrapolation (a method whose dearest point used every train image keeps that value "
    "for larger budgets). A method is ahead where the interval of the difference, half-width sqrt(u1^2 + u2^2), "
    "excludes 0."
)
GRID = 400


def _hours(p: dict, which: str) -> float | None:
    v = (p.get("labeling") or {}).get(which)
    return float(v) if v is not None and v > 0 else None


def _t975(k: int) -> float:
    if k < 2:
        return 0.0
    from scipy.stats import t

    return float(t.ppf(0.975, k - 1))


def method_curve(points: list[dict], which: str = "hours") -> list[dict]:
    """[{fraction, hours, n_images, ap, u, n_seeds, ap_std}] of one method's points, one row per fraction."""
    by_f: dict[float, list[dict]] = defaultdict(list)
    for p in points:
        if (p.get("accuracy") or {}).get("macro_ap") is not None and _hours(p, which) is not None:
            by_f[float(p["fraction"])].append(p)
    rows = []
    for f, ps in sorted(by_f.items()):
        ap = np.array([p["accuracy"]["macro_ap"] for p in ps], dtype=float)
        halves = [(c[1] - c[0]) / 2 for p in ps if (c := p["accuracy"].get("macro_ap_ci95"))]
        b = float(np.mean(halves)) if halves else 0.0
        s = float(ap.std(ddof=1)) if len(ap) > 1 else 0.0
        rows.append({
            "fraction": f, "hours": float(np.mean([_hours(p, which) for p in ps])),
            "n_images": float(np.mean([p.get("n_images") or 0 for p in ps])), "ap": float(ap.mean()),
            "ap_std": s, "n_seeds": len(ps), "u": math.sqrt(b**2 + (_t975(len(ap)) * s / math.sqrt(len(ap))) ** 2),
        })  # fmt: skip
    return rows


def _interp(curve: list[dict], grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean AP and u at each grid hour; NaN where not measured (see the module docstring)."""
    curve = sorted(curve, key=lambda r: (r["hours"], r["fraction"]))  # np.interp needs increasing hours
    h = np.log([r["hours"] for r in curve])
    ap, u = np.array([r["ap"] for r in curve]), np.array([r["u"] for r in curve])
    g = np.log(grid)
    m, w = np.interp(g, h, ap), np.interp(g, h, u)
    out = (g < h[0] - 1e-12) | ((g > h[-1] + 1e-12) & (curve[-1]["fraction"] < 1.0))  # dearest = all images?
    return np.where(out, np.nan, m), np.where(out, np.nan, w)


def _fmt_h(h: float) -> str:
    return f"{h:.2g}" if h < 10 else f"{h:.0f}"


def _states(curves: dict[str, list[dict]], grid: np.ndarray) -> list[str]:
    (mc, cc), (md, cd) = ("folder_sort", curves["folder_sort"]), ("cvat_boxes", curves["cvat_boxes"])
    ac, uc = _interp(cc, grid)
    ad, ud = _interp(cd, grid)
    states = []
    for i in range(len(grid)):
        if np.isnan(ac[i]) or np.isnan(ad[i]):
            missing = [m for m, a in ((mc, ac[i]), (md, ad[i])) if np.isnan(a)]
            states.append("not_measured:" + ",".join(missing))
            continue
        d, half = ad[i] - ac[i], math.hypot(ud[i], uc[i])
        states.append(md if d - half > 0 else mc if d + half < 0 else "tie")
    return states


def _segments(states: list[str], grid: np.ndarray) -> list[dict]:
    """Runs of equal state; a boundary lies halfway (in log hours) between the last grid hour of one run and the
    first of the next, so consecutive segments meet."""
    segs: list[dict] = []
    for i, s in enumerate(states):
        if segs and segs[-1]["state"] == s:
            segs[-1]["to_hours"] = float(grid[i])
        else:
            if segs:
                segs[-1]["to_hours"] = float(math.sqrt(grid[i - 1] * grid[i]))
            start = float(math.sqrt(grid[i - 1] * grid[i])) if segs else float(grid[i])
            segs.append({"state": s, "from_hours": start, "to_hours": float(grid[i])})
    return segs


def _phrase(state: str) -> str:
    if state == "tie":
        return "the difference is within the uncertainty"
    if state.startswith("not_measured:"):
        missing = state.split(":", 1)[1].split(",")
        others = [m for m in LABELS if m not in missing]
        if len(missing) == 1 and others:  # say what was measured there, and why the other is absent
            return f"only {LABELS[others[0]]} was measured (no point of {LABELS.get(missing[0], missing[0])} there)"
        who = [LABELS.get(m, m) for m in missing]
        return " and ".join(who) + " " + ("was" if len(who) == 1 else "were") + " not measured"
    return f"{LABELS.get(state, state)} is ahead"


def _text(segs: list[dict]) -> str:
    if len(segs) == 1:
        s = segs[0]
        rng = f"{_fmt_h(s['from_hours'])} to {_fmt_h(s['to_hours'])} labeling hours"
        return f"Across the measured range ({rng}) {_phrase(s['state'])}."
    parts = []
    for i, s in enumerate(segs):
        if i == 0:
            parts.append(f"up to {_fmt_h(s['to_hours'])} labeling hours {_phrase(s['state'])}")
        elif i == len(segs) - 1:
            parts.append(f"from {_fmt_h(s['from_hours'])} hours on {_phrase(s['state'])}")
        else:
            parts.append(f"from {_fmt_h(s['from_hours'])} to {_fmt_h(s['to_hours'])} hours {_phrase(s['state'])}")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def _pick(points: list[dict]) -> dict[str, list[dict]]:
    """One curve per method: with several candidates for a method, the one with the best mean AP over its points."""
    out = {}
    for method in ("folder_sort", "cvat_boxes"):
        by_c: dict[str, list[dict]] = defaultdict(list)
        for p in points:
            if p.get("method") == method:
                by_c[str(p.get("candidate") or p.get("pipeline") or method)].append(p)
        if by_c:
            best = max(by_c, key=lambda c: np.mean([r["ap"] for r in method_curve(by_c[c])] or [-1]))
            out[method] = by_c[best]
    return out


def curve_sentence(points: list[dict], which: tuple[str, str] = ("hours", "hours")) -> dict:
    """{text, segments, derivation, curves}. `which`: the labeling field used for (classifier, detector) hours:
    'hours', 'hours_lo' or 'hours_hi' (verdict() uses the extremes to test whether the sentence survives)."""
    chosen = _pick(points)
    curves = {m: method_curve(ps, w) for (m, ps), w in zip(chosen.items(), which)} if len(chosen) == 2 else {}
    if len(curves) < 2 or not all(curves.values()):
        have = ", ".join(LABELS.get(m, m) for m, c in curves.items() if c) or "no method"
        return {"text": f"No budget curve: points with labeling hours and macro AP exist for {have} only.",
                "segments": [], "derivation": DERIVATION, "curves": curves}  # fmt: skip
    lo = min(r["hours"] for c in curves.values() for r in c)
    hi = max(r["hours"] for c in curves.values() for r in c)
    grid = np.geomspace(lo, hi, GRID) if hi > lo else np.array([lo])
    segs = _segments(_states(curves, grid), grid)
    return {"text": _text(segs), "segments": segs, "derivation": DERIVATION, "curves": curves}
