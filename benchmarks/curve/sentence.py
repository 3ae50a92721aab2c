"""The budget-curve sentence: which method is ahead at which labeling hours, from the simultaneous band.

Input: one scenario's band (compare.curve_band: states on a log grid of hours where both methods were measured)
and the hours each method was measured at. A method is "ahead" only where the simultaneous 95% band of the
difference excludes 0; hours where only one method was measured are said as such, with the numbers, and are never
compared (no extrapolation, no value held flat past a method's dearest point).
"""

from __future__ import annotations

import math

from benchmarks.registry import methods
from benchmarks.registry.pipelines import method_title

# 'the classifier (folder sorting)': a method with the pipeline it trains; 'folder sorting': its name in the reports
title, short = method_title, methods.label


DERIVATION = (
    "Per replicate of one paired two-level bootstrap (test images, then seeds), each method's mean macro AP per "
    "fraction is interpolated linearly in log labeling hours, only between hours where both methods were measured; "
    "a simultaneous 95% sup-t band of the difference over those hours (and the full-data difference) decides: a "
    "method is ahead where the band excludes 0, otherwise the difference is within the uncertainty."
)


TOL = 0.02  # hours this close to the compared range are part of it (two points priced 0.0559 and 0.0561 h meet)


def fmt_h(h: float) -> str:
    return f"{h:.2g}" if h < 10 else f"{h:.0f}"


def _segments(states: list[str], grid: list[float]) -> list[dict]:
    """Runs of equal state; a boundary lies halfway (in log hours) between two grid hours."""
    segs: list[dict] = []
    for i, s in enumerate(states):
        if segs and segs[-1]["state"] == s:
            segs[-1]["to_hours"] = float(grid[i])
            continue
        if segs:
            mid = float(math.sqrt(grid[i - 1] * grid[i]))
            segs[-1]["to_hours"] = mid
            segs.append({"state": s, "from_hours": mid, "to_hours": float(grid[i])})
        else:
            segs.append({"state": s, "from_hours": float(grid[i]), "to_hours": float(grid[i])})
    return segs


def _phrase(state: str) -> str:
    return "the difference is within the uncertainty" if state == "tie" else f"{title(state)} is ahead"


def segments(band: dict, a: str, b: str) -> list[dict]:
    """The band's grid states as segments, with 'a'/'b' named by their methods."""
    names = {"a": a, "b": b, "tie": "tie"}
    return _segments([names[s] for s in band.get("state") or []], band.get("grid") or [])


def curve_sentence(band: dict | None, ranges: dict, a: str | None = None, b: str | None = None) -> dict:
    """{text, segments, derivation}. ranges: {method: [min hours, max hours] or None}; a - b: the compared methods
    (default: the registry's pair of the methods in `ranges`)."""
    if a is None or b is None:
        a, b = methods.pair(ranges)
    have = {m: r for m, r in ranges.items() if r}
    if len(have) < 2 or band is None:
        who = ", ".join(title(m) for m in have) or "no method"
        return {"text": f"No budget comparison: points with labeling hours exist for {who} only.", "segments": [],
                "derivation": DERIVATION}  # fmt: skip
    span = "; ".join(f"{title(m)} {fmt_h(r[0])}-{fmt_h(r[1])} h" for m, r in have.items())
    if not band.get("overlap"):
        text = (
            f"The two methods were never measured at the same labeling hours ({span}), so the curve cannot compare "
            "them at equal cost; only the full-data comparison above does."
        )
        return {"text": text, "segments": [], "derivation": DERIVATION}
    segs = segments(band, a, b)
    lo, hi = band["overlap"]
    if len(segs) == 1:
        body = f"{_phrase(segs[0]['state'])} everywhere"
    else:
        parts = []
        for i, s in enumerate(segs):
            if i == 0:
                parts.append(f"up to {fmt_h(s['to_hours'])} h {_phrase(s['state'])}")
            elif i == len(segs) - 1:
                parts.append(f"from {fmt_h(s['from_hours'])} h on {_phrase(s['state'])}")
            else:
                parts.append(f"from {fmt_h(s['from_hours'])} to {fmt_h(s['to_hours'])} h {_phrase(s['state'])}")
        body = "; ".join(parts)
    text = f"Where both were measured ({fmt_h(lo)} to {fmt_h(hi)} labeling hours): {body}."
    below = [f"below {fmt_h(lo)} h only {title(m)} was measured (from {fmt_h(r[0])} h)"
             for m, r in have.items() if r[0] < lo * (1 - TOL)]  # fmt: skip
    above = [f"above {fmt_h(hi)} h only {title(m)} was measured (to {fmt_h(r[1])} h)"
             for m, r in have.items() if r[1] > hi * (1 + TOL)]  # fmt: skip
    if below or above:
        more = "; ".join(below + above)
        text += " " + more[0].upper() + more[1:] + "."
    return {"text": text, "segments": segs, "derivation": DERIVATION}
