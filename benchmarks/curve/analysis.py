"""Every statistic the verdict rests on, computed from the points' stored test scores (nothing is retrained).

Input: the curve's points (benchmarks/harness/curve_stage.py: candidate, method, fraction, seed, labeling hours)
and each point's test scores on the same test images. Output (JSON-ready, stored in results.json's curve):
- `baseline`: per candidate at the headline fraction, the permutation test of its mean macro AP over seeds against a
  random ranking, Holm-corrected across the candidates the verdict speaks about;
- `headline`: the paired two-level bootstrap difference (first method minus second) with all train images;
- `bands`: per labeling-rate scenario, the simultaneous comparison along the hours where both were measured;
- `ranges`: the hours each method was measured at, per scenario;
- `self_check`: the rules' error rates on this run's own test labels (selfcheck.py).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from benchmarks.curve.compare import Replicates, combine_splits, curve_band, difference
from benchmarks.curve.selfcheck import self_check
from benchmarks.curve.sentence import short
from benchmarks.curve.targets import hours_to_target
from benchmarks.registry import methods
from benchmarks.significance import ALPHA, holm, paired_permutation_test_groups, permutation_test_groups

# The compared methods a - b are methods.pair() of the points' methods: with the built-in two, CVAT boxes minus
# folder sorting. Rate scenarios: (hours field for a, for b); "boxes" names a's rate, the dearer method's.
SCENARIOS = {
    "nominal": ("hours", "hours"),
    "boxes_cheap": ("hours_lo", "hours_hi"),  # boxes at their fastest rate, folder sorting at its slowest
    "boxes_dear": ("hours_hi", "hours_lo"),
}


def keep_classes(targets: np.ndarray) -> np.ndarray:
    known = ~np.isnan(targets)
    y = np.nan_to_num(targets, nan=0.0)
    support, labelled = (y * known).sum(axis=0), known.sum(axis=0)
    return (support > 0) & (labelled > support)


def _hours(points: list[dict], method: str, field: str) -> dict[float, float]:
    by: dict[float, list[float]] = defaultdict(list)
    for p in points:
        h = (p.get("labeling") or {}).get(field)
        if p["method"] == method and h is not None and h > 0:
            by[float(p["fraction"])].append(float(h))
    return {f: float(np.mean(v)) for f, v in by.items()}


def headline_fraction(points: list[dict]) -> float | None:
    by_m: dict[str, set[float]] = defaultdict(set)
    for p in points:
        by_m[p["method"]].add(float(p["fraction"]))
    common = set.intersection(*by_m.values()) if len(by_m) > 1 else set()
    if common:
        return max(common)
    return max((float(p["fraction"]) for p in points), default=None)


def headline_state(head: dict, alpha: float = ALPHA) -> str:
    """'a' | 'b' | 'tie': a side is ahead only when the simultaneous band (or, without one, the interval) excludes 0
    AND the paired permutation test on ranks agrees at alpha (an intersection-union test; significance.py)."""
    band = head.get("band") or {}
    lo, hi = (band.get("lo"), band.get("hi")) if band else tuple(head.get("ci95") or (None, None))
    if lo is None or hi is None:
        return "tie"
    side = "a" if lo > 0 else "b" if hi < 0 else "tie"
    perm = head.get("permutation") or {}
    if side != "tie" and perm.get("p_value") is not None and perm["p_value"] >= alpha:
        return "tie"
    return side


def _hours_to_targets(rep: Replicates, pts: list[dict], frac: float, targets_ap: list[float], a: str, b: str) -> dict:
    """{method: [entry]}: the hours each method needs to reach the other's full-data macro AP and each configured
    target (targets.hours_to_target), on the nominal hours."""
    full = {m: rep.curve_value(m, frac) for m in (a, b) if frac in rep.sets.get(m, {})}
    where = "at full data" if frac == 1.0 else f"at {frac:g} of the train images"
    out: dict = {}
    for m, other in ((a, b), (b, a)):
        hours = _hours(pts, m, "hours")
        if not hours:
            continue
        entries = []
        if other in full:
            name = f"{short(other)} {where}"
            res = hours_to_target(rep, m, hours, full[other][0], target_reps=full[other][1])
            entries.append({"name": name, "of": other, "of_fraction": frac, **res})
        for t in targets_ap:
            entries.append({"name": f"target {t:g}", "of": None, **hours_to_target(rep, m, hours, t)})
        out[m] = entries
    return out


def _sets(points: list[dict], scores: dict) -> dict:
    sets: dict = defaultdict(lambda: defaultdict(dict))
    for p in points:
        sets[p["method"]][float(p["fraction"])][p["seed"]] = scores[p["key"]]
    return {m: dict(v) for m, v in sets.items()}


def analyse(
    points: list[dict], scores: dict[str, np.ndarray], targets: np.ndarray, n_boot: int = 1000,
    n_perm: int = 1000, seed: int = 0, sims: int = 200, alpha: float = ALPHA,
    split_targets: dict[int, np.ndarray] | None = None, targets_ap: list[float] | None = None,
) -> dict:  # fmt: skip
    """points: one candidate per method (the verdict's pair); scores: {point key: (N, C) test scores}; points of an
    extra split (`split` >= 1) are scored on that split's test images, whose targets are in split_targets."""
    targets = np.asarray(targets, dtype=np.float64)
    split_targets = {int(k): np.asarray(v, dtype=np.float64) for k, v in (split_targets or {}).items()}
    keep = keep_classes(targets)
    pts_all = [p for p in points if p["key"] in scores]
    pts = [p for p in pts_all if not p.get("split")]  # the curve: the run's own split
    extra = sorted({int(p["split"]) for p in pts_all if p.get("split") and int(p["split"]) in split_targets})
    frac = headline_fraction(pts)
    out: dict = {"headline_fraction": frac, "alpha": alpha, "n_test": int(targets.shape[0]),
                 "n_classes": int(keep.sum()), "bands": {}, "ranges": {}, "headline": None, "baseline": {},
                 "splits": [0, *extra]}  # fmt: skip
    if frac is None or not keep.any():
        return out
    by_split = {0: (pts, targets, keep)}
    for r in extra:
        t = split_targets[r]
        by_split[r] = ([p for p in pts_all if p.get("split") == r and float(p["fraction"]) == frac], t, keep_classes(t))
    # the baseline: each candidate's seeds (and splits) at the headline fraction, one permutation test, Holm across
    tests: dict = {}
    for r, (ps, _t, _k) in by_split.items():
        for p in ps:
            if float(p["fraction"]) == frac:
                entry = tests.setdefault(p["candidate"], {"method": p["method"], "groups": {}})
                entry["groups"].setdefault(r, []).append(scores[p["key"]])
    for t in tests.values():
        groups = [(sc, by_split[r][1], by_split[r][2]) for r, sc in t["groups"].items()]
        res = permutation_test_groups(groups, n_perm=n_perm, seed=seed)
        res["test"] = res.pop("method")  # "method" stays the labeling method
        t["n_seeds"] = max(len(sc) for sc in t["groups"].values())
        t["n_splits"] = len(t.pop("groups"))
        t.update(res)
    adj = holm({c: t["p_value"] for c, t in tests.items()}, alpha)
    for c, t in tests.items():
        t.update({"p_holm": adj[c]["p_holm"], "beats": adj[c]["reject"] if t["p_value"] is not None else None,
                  "holm_over": len(tests)})  # fmt: skip
    out["baseline"] = tests
    a, b = methods.pair(p["method"] for p in pts_all)
    out["pair"] = [a, b]
    sets = _sets(pts, scores)
    rep = Replicates(sets, targets, keep, n_boot, seed)
    head = None
    if a in sets and b in sets:
        per_split = {0: difference(rep, a, b, frac)}
        groups = []
        for r, (ps, t, k) in by_split.items():
            s_r = sets if r == 0 else _sets(ps, scores)
            if r and (a not in s_r or b not in s_r or frac not in s_r[a] or frac not in s_r[b]):
                continue
            if r:
                d = difference(Replicates(s_r, t, k, n_boot, seed, stream=r), a, b, frac)
                if d is not None:
                    per_split[r] = d
            common = sorted(set(s_r[a].get(frac, {})) & set(s_r[b].get(frac, {})))
            groups.append(([s_r[a][frac][x] for x in common], [s_r[b][frac][x] for x in common], t, k))
        per_split = {r: d for r, d in per_split.items() if d is not None}
        if per_split:
            head = combine_splits(per_split, seed)
            head["permutation"] = paired_permutation_test_groups(groups, n_perm=n_perm, seed=seed)
    for name, (fa, fb) in SCENARIOS.items():
        hours = {a: _hours(pts, a, fa), b: _hours(pts, b, fb)}
        out["ranges"][name] = {m: [min(h.values()), max(h.values())] if h else None for m, h in hours.items()}
        if a in sets and b in sets:
            out["bands"][name] = curve_band(rep, a, b, hours, head)
    out["hours_to_target"] = _hours_to_targets(rep, pts, frac, targets_ap or [], a, b)
    if head is not None:
        out["headline"] = {k: v for k, v in head.items() if k != "replicates"}
        band = out["bands"].get("nominal", {}).get("headline")
        if band:
            out["headline"]["band"] = band  # simultaneous with the curve's comparisons
        out["headline"]["state"] = headline_state(out["headline"], alpha)
    observed = {}
    for p in pts:
        per = (p.get("accuracy") or {}).get("per_class_ap")
        if float(p["fraction"]) == frac and per:
            observed.setdefault(p["candidate"], [np.nan if v is None else v for v in per])
    out["self_check"] = self_check(targets, observed or None, sims=sims, seed=seed, alpha=alpha) if sims else None
    return out
