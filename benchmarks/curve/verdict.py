"""The verdict that opens the report: does each model beat the baseline, do the two differ, does the budget answer
survive the labeling-rate range, and which runs may be undertrained. "Inconclusive on this data" is a verdict and is
said as plainly as a win (a report once showed two models tied with the prevalence baseline and never said so).

Input: the point and paired records described in sentence.py. The headline comparison uses the largest fraction
measured for both methods (1.0 in a normal run), over all its seeds.
"""

from __future__ import annotations

from benchmarks.curve.sentence import LABELS, SHORT, curve_sentence

SCENARIOS = {  # (classifier hours field, detector hours field)
    "nominal": ("hours", "hours"),
    "boxes_cheap": ("hours_hi", "hours_lo"),  # folder sorting at its slowest, boxes at their fastest
    "boxes_dear": ("hours_lo", "hours_hi"),
}


def _fmt_ci(d: float, ci: list[float] | None) -> str:
    return f"{d:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else " [no CI]")


def _model_rows(points: list[dict], fraction: float) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for p in points:
        if float(p.get("fraction", -1)) != fraction:
            continue
        key = str(p.get("candidate") or p.get("pipeline") or p.get("method"))
        row = out.setdefault(key, {"method": p.get("method"), "seeds": [], "beats": [], "always_positive": []})
        acc = p.get("accuracy") or {}
        row["seeds"].append(p.get("seed"))
        row["beats"].append((acc.get("vs_baseline") or {}).get("beats_baseline"))
        row["always_positive"].append(bool(acc.get("decisions_equal_always_positive")))
    for row in out.values():
        known = [b for b in row["beats"] if b is not None]
        row["beats_baseline"] = None if not known else all(known) if all(known) or not any(known) else "some seeds"
        row["always_positive_any"] = any(row["always_positive"])
    return out


def _ahead_sequence(segments: list[dict]) -> list[str]:
    seq = []
    for s in segments:
        if s["state"] in LABELS and (not seq or seq[-1] != s["state"]):
            seq.append(s["state"])
    return seq


def verdict(points: list[dict], paired: list[dict] | None = None) -> dict:
    """{text, headline_fraction, models, difference, rate_range, undertrained, sentence}; text states everything."""
    paired = paired or []
    fr_by_m: dict[str, set[float]] = {}
    for p in points:
        fr_by_m.setdefault(p.get("method"), set()).add(float(p["fraction"]))
    common = set.intersection(*fr_by_m.values()) if fr_by_m else set()
    fraction = max(common) if common else (max(p["fraction"] for p in points) if points else None)
    models = _model_rows(points, fraction) if fraction is not None else {}
    lines = []
    beating = [k for k, r in models.items() if r["beats_baseline"] is True]
    for key, r in models.items():
        label = f"{key} ({SHORT.get(r['method'], r['method'])})"
        b = r["beats_baseline"]
        how = {True: "beats", False: "does not beat", None: "cannot be compared with"}.get(b, "beats on some seeds")
        lines.append(f"{label} {how} the prevalence baseline (macro AP, paired bootstrap CI at fraction {fraction:g}).")
        if r["always_positive_any"]:
            lines.append(f"{label}: its decisions equal the always-positive baseline (every class always 'yes').")

    rows = [r for r in paired if r.get("metric") == "macro_ap" and float(r.get("fraction", -1)) == fraction]
    diffs = [r for r in rows if r.get("diff") is not None]
    difference = None
    if diffs:
        excl = [bool(r.get("ci95")) and (r["ci95"][0] > 0 or r["ci95"][1] < 0) for r in diffs]
        mean = sum(r["diff"] for r in diffs) / len(diffs)
        std = (sum((r["diff"] - mean) ** 2 for r in diffs) / (len(diffs) - 1)) ** 0.5 if len(diffs) > 1 else None
        difference = {"fraction": fraction, "mean_diff": mean, "std_diff": std, "per_seed": diffs,
                      "differ": all(excl) and len({r["diff"] > 0 for r in diffs}) == 1}  # fmt: skip
        per = "; ".join(f"seed {r.get('seed')}: {_fmt_ci(r['diff'], r.get('ci95'))}" for r in diffs)
        word = "differ" if difference["differ"] else "do not differ beyond the uncertainty"
        spread = f"; mean {mean:+.3f} +- {std:.3f} (std over {len(diffs)} seeds)" if std is not None else ""
        lines.append(f"Detector - classifier macro AP at fraction {fraction:g}: {per}{spread}; the two models {word}.")

    inconclusive = bool(models) and not beating
    if inconclusive:
        lines.insert(0, "Inconclusive on this data: no model beats the prevalence baseline, so neither the accuracy "
                        "comparison nor the budget curve says which labeling method pays off.")  # fmt: skip
    elif difference is not None and not difference["differ"]:
        lines.insert(0, f"On all train images the two models are not distinguishable ({len(beating)} of "
                        f"{len(models)} beat the prevalence baseline).")  # fmt: skip

    scen = {name: curve_sentence(points, which) for name, which in SCENARIOS.items()}
    seqs = {name: _ahead_sequence(s["segments"]) for name, s in scen.items()}
    survives = len({tuple(s) for s in seqs.values()}) == 1
    rate_range = {"survives": survives, "ahead_sequence": seqs, "sentences": {k: s["text"] for k, s in scen.items()}}
    if survives:
        lines.append("The budget answer holds across the labeling-rate range (each method at its fastest and slowest).")
    else:
        cheap, dear = scen["boxes_cheap"]["text"], scen["boxes_dear"]["text"]
        lines.append(f'The budget answer depends on the labeling rates: with boxes at their fastest, "{cheap}"; '
                     f'at their slowest, "{dear}"')  # fmt: skip

    under = [
        {k: p.get(k) for k in ("candidate", "method", "fraction", "seed")} for p in points if p.get("undertrained")
    ]
    if under:
        lines.append(f"{len(under)} point(s) were still improving at their last epoch (possibly undertrained).")
    sentence = scen["nominal"]
    text = " ".join([sentence["text"], *lines])
    return {"text": text, "inconclusive": inconclusive, "headline_fraction": fraction, "models": models,
            "difference": difference, "rate_range": rate_range, "undertrained": under,
            "sentence": {k: sentence[k] for k in ("text", "segments", "derivation")}}  # fmt: skip
