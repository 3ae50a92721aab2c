"""The verdict that opens the report, written from analysis.analyse()'s statistics (nothing is computed here).

Three parts, in this order: the answer (does each model beat a random ranking; with all train images, is one
method ahead; along the labeling budget, where is one ahead), how sure (the tests used, the seeds, and the rules'
error rates measured on this run's own test labels), and what would change it (labeling rates, undertrained or
capped points). "Inconclusive on this data" is a verdict and is said as plainly as a win.
"""

from __future__ import annotations

from benchmarks.curve.analysis import SCENARIOS
from benchmarks.curve.selfcheck import summary
from benchmarks.curve.sentence import curve_sentence, fmt_h, short, title
from benchmarks.registry import methods


def _ci(d: float | None, ci: list[float] | None) -> str:
    if d is None:
        return "n/a"
    return f"{d:+.3f}" + (f" [95% CI {ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else " [no CI]")


def fmt_p(p: float, n_perm: int, bare: bool = False) -> str:
    """'= 0.043', or '<= 0.001' at the smallest p-value the permutations can give (1 / (n + 1))."""
    if p <= 1.0 / (n_perm + 1) + 1e-12:
        return f"<= {p:.2g}"
    return f"{p:.2g}" if bare else f"= {p:.2g}"


def _baseline_lines(baseline: dict) -> tuple[list[str], list[str]]:
    lines, beating = [], []
    for cand, t in baseline.items():
        label = f"{cand} ({short(t['method'])})"
        if t.get("p_value") is None:
            lines.append(f"{label} cannot be tested against a random ranking (no class with both labels in test).")
            continue
        seeds = f", mean over {t['n_seeds']} seeds" if t.get("n_seeds", 1) > 1 else ""
        nums = (
            f"macro AP {t['observed']:.3f} against {t['random_ranking_ap']:.3f} for a random ranking{seeds}; "
            f"permutation p {fmt_p(t['p_value'], t['n_perm'])}, Holm-adjusted over {t['holm_over']}: "
            f"{fmt_p(t['p_holm'], t['n_perm'], bare=True)}"
        )
        if t.get("beats"):
            beating.append(cand)
            lines.append(_cap(f"{label} beats a random ranking ({nums})."))
        else:
            lines.append(_cap(f"{label} does not beat a random ranking ({nums}): its scores are no better than chance "
                              "here."))  # fmt: skip
    return lines, beating


def _headline_line(head: dict | None, a: str, b: str) -> tuple[str | None, str]:
    """(sentence, state 'a' | 'b' | 'tie' | 'none')."""
    if not head or head.get("diff") is None:
        return None, "none"
    state = head.get("state") or "tie"
    seeds = f"{head['n_seeds']} seeds" if head["n_seeds"] > 1 else "one seed"
    if head.get("n_splits", 1) > 1:
        seeds += f" x {head['n_splits']} splits"
    perm = head.get("permutation") or {}
    p = f", paired permutation p {fmt_p(perm['p_value'], perm['n_perm'])}" if perm.get("p_value") is not None else ""
    band = head.get("band") or {}
    simul = (f"; simultaneous band [{band['lo']:+.3f}, {band['hi']:+.3f}], which decides" if band.get("lo") is not None
             else "")  # fmt: skip
    nums = (
        f"{short(a)} - {short(b)} macro AP {_ci(head['diff'], head.get('ci95'))}{simul}, P({short(a)} better) = "
        f"{head['p_a_better']:.2f}{p}, {seeds}"
    )
    frac = "all train images" if head["fraction"] == 1 else f"{head['fraction']:g} of the train images"
    if state == "tie":
        return f"With {frac} the two methods are not distinguishable ({nums}).", state
    win, lose = (a, b) if state == "a" else (b, a)
    return f"With {frac} {title(win)} is ahead of {title(lose)} ({nums}).", state


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _money(hours: float | None, usd: float | None) -> str:
    return f" (USD {hours * usd:,.0f})" if hours is not None and usd else ""


def _target_lines(htt: dict, usd: float | None) -> list[str]:
    """'To match X's full-data macro AP (0.46), Y needs 0.21 h [95% CI 0.1, 0.4]' per method and target."""
    lines = []
    for m, entries in htt.items():
        for e in entries:
            full = e.get("of_fraction", 1.0) == 1.0
            what = (f"the {'full-data' if full else 'headline'} macro AP of {title(e['of'])} ({e['target']:.3f})"
                    if e.get("of") else f"macro AP {e['target']:g}")  # fmt: skip
            if e["hours"] is None:
                share = e.get("reached_share") or 0
                lines.append(_cap(f"{title(m)} does not reach {what} with this data (in {share:.0%} of the "
                                  "resamples it does)."))  # fmt: skip
                continue
            ci = e.get("ci95")
            rng = ""
            if ci:
                rng = f" [95% CI {fmt_h(ci[0])}, " + (f"{fmt_h(ci[1])} h]" if ci[1] is not None else "not reached]")
            at = "at or below" if e.get("at_first_point") else "at"  # the cheapest point already reaches it
            lines.append(_cap(f"{title(m)} reaches {what} {at} {fmt_h(e['hours'])} labeling hours{rng}"
                              f"{_money(e['hours'], usd)}."))  # fmt: skip
    return lines


def _crossover(band: dict | None) -> float | None:
    """The first hour at which the method ahead at the cheapest compared budget stops being ahead (None: no such
    change, or nothing ahead there)."""
    states, grid = (band or {}).get("state") or [], (band or {}).get("grid") or []
    if not states or states[0] == "tie":
        return None
    for i in range(1, len(states)):
        if states[i] != states[0]:
            return float((grid[i - 1] * grid[i]) ** 0.5)
    return None


def _rates_line(
    bands: dict, ranges: dict, nominal_states: set[str], box_rates: dict, a: str, b: str
) -> tuple[str, dict]:
    seqs = {}
    for name in SCENARIOS:
        band = bands.get(name) or {}
        seq: list[str] = []
        for s in band.get("state") or []:
            if s != "tie" and (not seq or seq[-1] != s):
                seq.append(s)
        seqs[name] = seq
    survives = len({tuple(s) for s in seqs.values()}) == 1
    cross = {name: _crossover(bands.get(name)) for name in SCENARIOS}
    info = {"survives": survives, "ahead_sequence": seqs, "crossover_hours": cross, "s_per_box": box_rates}
    moves = ""
    if any(v is not None for v in cross.values()) and box_rates:
        parts = [f"{box_rates.get(n, 0):g} s per box: " + (f"{fmt_h(cross[n])} h" if cross[n] is not None else "none")
                 for n in ("boxes_cheap", "nominal", "boxes_dear") if n in box_rates]  # fmt: skip
        moves = " Where the lead changes, by box rate: " + "; ".join(parts) + "."
    if not any(seqs.values()):
        return ("Nothing is ahead at any budget measured for both, so there is no budget answer for the labeling "
                "rates to change."), info  # fmt: skip
    if survives:
        rng = f"{box_rates['boxes_cheap']:g}-{box_rates['boxes_dear']:g} s" if len(box_rates) == 3 else "7-35 s"
        return (f"The budget answer holds across the labeling-rate range (boxes at {rng} each, folder sorting at its "
                f"fastest and slowest).{moves}"), info  # fmt: skip
    texts = {n: curve_sentence(bands.get(n), ranges.get(n, {}), a, b)["text"] for n in ("boxes_cheap", "boxes_dear")}
    info["sentences"] = texts
    return (f'The budget answer depends on the labeling rates: with boxes at their fastest, "{texts["boxes_cheap"]}" '
            f'At their slowest, "{texts["boxes_dear"]}"{moves}'), info  # fmt: skip


def _flags(points: list[dict], fractions: set[float]) -> tuple[list[dict], list[dict]]:
    keys = ("candidate", "method", "fraction", "seed", "split")
    under = [{k: p.get(k) for k in keys} for p in points if p.get("undertrained") and p["fraction"] in fractions]
    capped = [{k: p.get(k) for k in keys} for p in points if (p.get("recipe") or {}).get("capped")
              and p["fraction"] in fractions]  # fmt: skip
    return under, capped


def _box_rates(points: list[dict]) -> dict:
    """{scenario: seconds per box} from a detector point's labeling rate record (empty when priced per image)."""
    for p in points:
        r = (p.get("labeling") or {}).get("rate") or {}
        if r.get("unit") == "box":
            return {"boxes_cheap": r.get("lo"), "nominal": r.get("value"), "boxes_dear": r.get("hi")}
    return {}


def verdict(points: list[dict], stats: dict, usd_per_hour: float | None = None) -> dict:
    """{text, answer, how_sure, what_would_change, inconclusive, headline, models, rate_range, undertrained, capped,
    sentence}. points: the verdict pair's budget points; stats: analysis.analyse() on them. The settings warnings
    (a model that learned nothing, ...) are added by with_warnings()."""
    a, b = stats.get("pair") or methods.pair(p.get("method") for p in points)
    if not points:
        text = "No budget point was scored, so there is no verdict."
        return {"text": text, "answer": text, "how_sure": "", "what_would_change": "", "inconclusive": True,
                "headline": None, "models": {}, "rate_range": {}, "undertrained": [], "capped": [],
                "sentence": {"text": "", "segments": []}}  # fmt: skip
    base_lines, beating = _baseline_lines(stats.get("baseline") or {})
    head_line, head_state = _headline_line(stats.get("headline"), a, b)
    bands, ranges = stats.get("bands") or {}, stats.get("ranges") or {}
    sent = curve_sentence(bands.get("nominal"), ranges.get("nominal", {}), a, b)
    inconclusive = bool(stats.get("baseline")) and not beating
    answer = []
    if inconclusive:
        answer.append("Inconclusive on this data: no model beats a random ranking, so neither the accuracy "
                      "comparison nor the budget curve says which labeling method pays off.")  # fmt: skip
    if head_line:
        answer.append(head_line)
    answer.append(_cap(sent["text"]))
    answer += _target_lines(stats.get("hours_to_target") or {}, usd_per_hour)
    answer += base_lines

    how = ["How sure:"]
    head = stats.get("headline") or {}
    splits = head.get("n_splits", 1)
    if head.get("n_seeds", 0) <= 1 and splits <= 1:
        how.append("Training variance was not measured (one seed, one split): each model could land higher or "
                   "lower on another seed or split; the full profile (--profile full) trains 3 seeds per budget "
                   "and 3 splits at full data.")  # fmt: skip
    elif splits <= 1:
        how.append(f"Seeds: {head['n_seeds']} per budget, resampled with the test images; one split (split-to-split "
                   "variance not measured: `curve.splits` adds splits).")  # fmt: skip
    else:
        how.append(f"Seeds and splits: {head['n_seeds']} seeds per budget; at full data {head['n_seeds']} seeds x "
                   f"{splits} splits (each split with its own test images), all resampled together.")  # fmt: skip
    how.append("Baseline claims: permutation tests at 5%, Holm-corrected; 'ahead' claims: a simultaneous 95% band "
               "over every budget compared and the full-data difference, and at full data the paired permutation "
               "test on ranks must agree.")  # fmt: skip
    check = stats.get("self_check")
    if check:
        how.append(summary(check))

    nominal_states = set((bands.get("nominal") or {}).get("state") or []) | {head_state}
    rates_text, rate_range = _rates_line(bands, ranges, nominal_states, _box_rates(points), a, b)
    if not any(rate_range["ahead_sequence"].values()) and head_state in ("a", "b"):
        rates_text = ("No budget measured for both is decided along the curve, so there is no budget answer for the "
                      "labeling rates to change; the full-data comparison does not depend on them.")  # fmt: skip
    change = [rates_text]
    cited = {p["fraction"] for p in points}
    under, capped = _flags(points, cited)
    if under:
        who = ", ".join(f"{short(u['method'])} at {u['fraction']:.3g} (seed {u['seed']}"
                        + (f", split {u['split']})" if u.get("split") else ")") for u in under)  # fmt: skip
        change.append(f"Still improving at the last epoch (slope test), so possibly undertrained: {who}; the claims at "
                      "those budgets may understate them.")  # fmt: skip
    if capped:
        who = ", ".join(sorted({f"{short(c['method'])} at {c['fraction']:.3g}" for c in capped}))
        change.append(f"Capped (fewer optimizer steps than the full run): {who}.")
    if check and check.get("detectable_difference") is None:
        change.append(f"More test images: with {check['n_test']} no realistic difference can be detected.")

    models = {c: {"method": t["method"], "beats_baseline": t.get("beats"), "p_value": t.get("p_value"),
                  "p_holm": t.get("p_holm"), "random_ranking_ap": t.get("random_ranking_ap"),
                  "macro_ap": t.get("observed")} for c, t in (stats.get("baseline") or {}).items()}  # fmt: skip
    parts = {"answer": " ".join(answer), "how_sure": " ".join(how), "what_would_change": " ".join(change)}
    return {
        "text": "\n\n".join(parts.values()),
        **parts,
        "inconclusive": inconclusive,
        "headline_fraction": stats.get("headline_fraction"),
        "headline": stats.get("headline"),
        "models": models,
        "rate_range": rate_range,
        "undertrained": under,
        "capped": capped,
        "sentence": {**sent, "hours_range": {m: r for m, r in ranges.get("nominal", {}).items()}},
        "hours_to_target": stats.get("hours_to_target") or {},
        "labeling_usd_per_hour": usd_per_hour,
        "self_check": check,
    }


def _lead(warnings: list[dict], pair: list[str] | None) -> str:
    """The learned_nothing warnings about the models the verdict compares, each with its fix (curve/warnings.py)."""
    return " ".join(f"{w['text']} {w['fix']}" for w in warnings or []
                    if w.get("kind") == "learned_nothing" and (not pair or w.get("model") in pair))  # fmt: skip


BUDGET_LEAD = "The run was fitted to a time budget, which weakens these claims:"


def with_warnings(v: dict, warnings: list[dict]) -> dict:
    """The verdict with the settings warnings (curve/warnings.py) stored under `warnings` and a model that learned
    nothing named first in the answer, before any "ahead" claim: its side of the comparison is no test of its
    labeling method. Idempotent: the lead written by an earlier call is replaced, not repeated."""
    out = dict(v)
    pair = v.get("candidates") or list(v.get("models") or {})
    old, new = _lead(v.get("warnings") or [], pair), _lead(warnings, pair)
    key = "answer" if "answer" in v else "text"  # a record older than the three-part verdict has `text` only
    body = v.get(key) or ""
    if old and body.startswith(old):
        body = body[len(old) :].lstrip()
    out[key] = f"{new} {body}".strip() if new else body
    cuts = " ".join(w["text"] for w in warnings or [] if w.get("kind") == "budget_cut")
    change = out.get("what_would_change") or ""
    if BUDGET_LEAD in change:  # written by an earlier call: replaced, not repeated
        change = change[: change.index(BUDGET_LEAD)].rstrip()
    if cuts and key == "answer":  # what the time budget cut weakens belongs with what would change the answer
        out["what_would_change"] = f"{change} {BUDGET_LEAD} {cuts}".strip()
    if key == "answer":
        out["text"] = "\n\n".join(out.get(k) or "" for k in ("answer", "how_sure", "what_would_change"))
    out["warnings"] = list(warnings)
    return out


__all__ = ["verdict", "fmt_h", "with_warnings"]
