"""Warnings where the settings decide the answer: a model that learned nothing, a model trained from scratch on
photos, objects that shrink to a few pixels at the model's input size, a test split too small to tell models apart.

Each warning is `{"kind", "level" ("warning" | "info"), "model" (candidate name or None), "text" (what and why it
matters), "fix" (what would make it a fair test)}`. `before_training(cfg, manifest)` gives the ones knowable from
the config and the data (from_scratch, small_objects) for the run plan; `after_training(results)` all of them from
a results.json dict, skipping what an older record cannot say (no `data.object_sizes`: no small_objects). Pure
functions: the pipelines are asked only for where their pretrained weights live (`starting_weights`, optional).
"""

from __future__ import annotations

import math

from benchmarks.data.sizes import object_sizes
from benchmarks.record import fmt_s
from benchmarks.registry.pipelines import PIPELINES

# Box mAP50 under which a detector has learned nothing about the boxes. The demo's quick profile (14 epochs from
# scratch, 160 px) ends at 0.30 (results/reference/demo-quick-cpu2-intel-xeon); the failures that prompted this
# check ended at 0.000 (coco128 reference, 15 epochs from scratch) and 0.009 (638 photos, 12 epochs from scratch):
# 0.05 sits well above an untrained detector's floor and well below any detector that has found its objects.
LEARNED_NOTHING_MAP50 = 0.05
# The smallest macro-AP difference a user asks about ("is one method 0.1 AP better?"): a test split whose
# detectable difference (80% power, selfcheck.py) is larger cannot answer that question.
SMALL_TEST_DIFF = 0.10
KINDS = ("learned_nothing", "from_scratch", "small_objects", "small_test", "budget_cut")


def _warning(kind: str, model: str | None, text: str, fix: str, level: str = "warning") -> dict:
    return {"kind": kind, "level": level, "model": model, "text": text, "fix": fix}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def method_label(pipeline: str | None) -> str:
    p = PIPELINES.get(pipeline or "")
    return p.method_label if p else "its labeling method"


def model_label(name: str, pipeline: str | None) -> str:
    """'the detector (CVAT boxes)' for a candidate named after its pipeline, else 'yolo11s (CVAT boxes)'."""
    who = f"the {name}" if name == pipeline else name
    return f"{who} ({method_label(pipeline)})"


def is_demo(config: dict) -> bool:
    """The built-in demo data (synthetic shapes): the config `clsdet demo-data` writes is named 'demo' and lists the
    demo's classes. Nothing else in a record marks it, so a renamed demo config counts as real photos."""
    # deferred: benchmarks.demo.render imports PIL
    from benchmarks.demo.render import CLASSES

    return config.get("name") == "demo" and list(config.get("classes") or []) == [c.name for c in CLASSES]


def size_key(name: str, pipeline: str) -> str:
    """The model key object_sizes() reads the resize rule from (the part before ':' names the pipeline)."""
    return name if name == pipeline else f"{pipeline}:{name}"


def candidate_imgsz(candidates: list[dict]) -> dict[str, int]:
    """{size_key: imgsz} for object_sizes(), one entry per candidate."""
    return {size_key(c["name"], c["pipeline"]): int(c["config"]["imgsz"]) for c in candidates
            if (c.get("config") or {}).get("imgsz")}  # fmt: skip


def run_object_sizes(candidates: list[dict], manifest) -> dict | None:
    """object_sizes() of the manifest's boxes at each candidate's input size; None without a box source."""
    if not any(v.kind == "boxes" for v in manifest.sources.values()):
        return None
    return object_sizes(manifest, candidate_imgsz(candidates))


def _starting(c: dict) -> dict | None:
    p = PIPELINES.get(c.get("pipeline") or "")
    fn = getattr(p.package(), "starting_weights", None) if p else None
    return fn(c.get("config") or {}) if fn else None


def _where(c: dict, multi: bool) -> str:
    return f"the `{c['pipeline']}:` entry named {c['name']}" if multi else f"the `{c['pipeline']}:` section"


def from_scratch(candidates: list[dict], demo: bool) -> list[dict]:
    out = []
    multi = {c["pipeline"]: sum(x["pipeline"] == c["pipeline"] for x in candidates) > 1 for c in candidates}
    for c in candidates:
        hint = _starting(c)
        if not hint or not hint.get("scratch"):
            continue
        label, method = model_label(c["name"], c["pipeline"]), method_label(c["pipeline"])
        if demo:
            text = (f"{_cap(label)} was trained from scratch (random initial weights): enough for the built-in demo's "
                    "synthetic shapes, but on real photos fine-tuning pretrained weights is what usually makes a model "
                    f"learn from a few hundred images.")  # fmt: skip
        else:
            text = (f"{_cap(label)} was trained from scratch (random initial weights): on real photos fine-tuning "
                    "pretrained weights is what usually makes a model learn from a few hundred images, so this "
                    f"measures the training budget more than {method}.")  # fmt: skip
        fix = f"Set `{'` and `'.join(hint['set'])}` in {_where(c, multi[c['pipeline']])} of the config"
        if hint.get("file") and hint.get("folder"):
            path = f"{hint['folder'].rstrip('/')}/{hint['file']}"
            src = f" from {hint['url']}" if hint.get("url") else ""
            rule = f" (the folder is {hint['folder_rule']})" if hint.get("folder_rule") else ""
            fix += (f"; offline, the file it reads is {path}: download {hint['file']}{src} on a machine with internet "
                    f"and copy it there{rule}.")  # fmt: skip
        else:
            fix += f" ({hint.get('error') or 'no pretrained weights are known for this model'})."
        out.append(_warning("from_scratch", c["name"], text, fix, "info" if demo else "warning"))
    return out


def small_objects(candidates: list[dict], sizes: dict | None) -> list[dict]:
    """Per candidate, the classes whose median box is below the size threshold at its input size."""
    if not sizes or not sizes.get("per_class"):
        return []
    min_px = float(sizes.get("min_box_px") or 0)
    out = []
    for c in candidates:
        key = next((k for k in (size_key(c["name"], c["pipeline"]), c["name"], c["pipeline"])
                    if k in (sizes.get("imgsz") or {})), None)  # fmt: skip
        if key is None:
            continue
        imgsz = int(sizes["imgsz"][key])
        small = [(cls, at[key]) for cls, e in sizes["per_class"].items()
                 if (at := e.get("median_box_px_at") or {}).get(key) is not None and at[key] < min_px]  # fmt: skip
        if not small:
            continue
        small.sort(key=lambda x: x[1])
        boxes = ", ".join(f"{cls} {px:.1f} px" for cls, px in small)
        text = (f"{_cap(model_label(c['name'], c['pipeline']))} at {imgsz} px: median box of {boxes}, below "
                f"{min_px:g} px, where an object covers a few cells of a stride-8 feature map and is hard to find; "
                "a poor score on these classes says more about the input size than about the labels.")  # fmt: skip
        need = int(math.ceil(imgsz * min_px / small[0][1] / 32.0) * 32)  # the backbones downsample by 32
        fix = (f"Raise `imgsz` of {c['name']} (now {imgsz}; {small[0][0]} reaches {min_px:g} px at about {need} px), "
               "or crop/tile the images so the objects keep their pixels.")  # fmt: skip
        out.append(_warning("small_objects", c["name"], text, fix))
    return out


def small_test(verdict: dict, config: dict, demo: bool) -> list[dict]:
    check = (verdict or {}).get("self_check") or {}
    if not check or check.get("error") or "n_test" not in check:
        return []
    det, n = check.get("detectable_difference"), check["n_test"]
    if det is not None and det <= SMALL_TEST_DIFF:
        return []
    target = check.get("power_target") or 0.8
    if det is None:
        largest = max((float(k) for k in check.get("power") or {}), default=None)
        how = f"no difference up to {largest:g} macro AP" if largest is not None else "no realistic difference"
        found = f"with {n} test images {how} is detected {target:.0%} of the time"
    else:
        found = f"with {n} test images the smallest difference detected {target:.0%} of the time is {det:g} macro AP"
    text = (f"The test split is too small for differences users care about: {found} (above {SMALL_TEST_DIFF:g}), "
            "so 'not distinguishable' here does not mean the methods are equal.")  # fmt: skip
    if demo:
        text += " The demo is sized to finish in minutes."
    ratio = ((config or {}).get("split") or {}).get("test")
    fix = ("More test images: label more images, or raise `split.test`" + (f" (now {ratio:g})" if ratio else "")
           + "; or add splits with `curve.splits` (each split brings its own test images).")  # fmt: skip
    return [_warning("small_test", None, text, fix, "info" if demo else "warning")]


def _numbers(model: dict, vm: dict) -> str:
    acc = model.get("accuracy") or {}
    base = acc.get("baseline") or {}
    ap = vm.get("macro_ap") if vm.get("macro_ap") is not None else acc.get("macro_ap")
    rr = vm.get("random_ranking_ap") if vm.get("random_ranking_ap") is not None else base.get("random_ranking_macro_ap")
    p = vm.get("p_value") if vm.get("p_value") is not None else (acc.get("vs_baseline") or {}).get("p_value")
    parts = []
    box = (model.get("box") or {}).get("map50")
    if box is not None:
        parts.append(f"box mAP50 {box:.3f}")
    if ap is not None:
        if rr is not None:
            ap_text = f"macro AP {ap:.2f} vs {rr:.2f} for a random ranking"
        elif base.get("macro_ap") is not None:  # an older record: the class-prevalence baseline only
            ap_text = f"macro AP {ap:.2f} vs {base['macro_ap']:.2f} for the class-prevalence baseline"
        else:
            ap_text = f"macro AP {ap:.2f}"
        parts.append(ap_text + (f", p = {p:.2g}" if p is not None else ""))
    return "; ".join(parts)


def learned_nothing(results: dict, candidates: list[dict], scratch: set[str]) -> list[dict]:
    """Headline models that do not beat a random ranking, or predict boxes at box mAP50 below the floor."""
    vmodels = (((results.get("curve") or {}).get("verdict") or {}).get("models")) or {}
    models = results.get("models") or {}
    n_train = ((results.get("split") or {}).get("counts") or {}).get("train")
    out = []
    for c in candidates:
        model, vm = models.get(c["name"]) or {}, vmodels.get(c["name"]) or {}
        beats = vm.get("beats_baseline") if "beats_baseline" in vm else (
            (model.get("accuracy") or {}).get("vs_baseline") or {}).get("beats_baseline")  # fmt: skip
        box = (model.get("box") or {}).get("map50")
        low_box = box is not None and box < LEARNED_NOTHING_MAP50
        if beats is not False and not low_box:
            continue
        why = [f"box mAP50 below {LEARNED_NOTHING_MAP50:g}"] if low_box else []
        rr = vm.get("random_ranking_ap") or ((model.get("accuracy") or {}).get("baseline") or {}).get(
            "random_ranking_macro_ap"
        )
        why += [f"does not beat {'a random ranking' if rr is not None else 'its baseline'}"] if beats is False else []
        text = (
            f"{_cap(model_label(c['name'], c['pipeline']))} learned nothing here ({_numbers(model, vm)}; "
            f"{' and '.join(why)}): the comparison says nothing about {method_label(c['pipeline'])}."
        )
        cfg = c.get("config") or {}
        needs = ["pretrained weights (see the from-scratch note)"] if c["name"] in scratch else []
        needs += [f"more epochs (now {cfg['epochs']})" if cfg.get("epochs") else "more epochs",
                  f"a larger input size (now {cfg['imgsz']} px)" if cfg.get("imgsz") else "a larger input size",
                  f"more images (now {n_train} train images)" if n_train else "more images"]  # fmt: skip
        fix = f"A fair test needs a model that learns: {', '.join(needs[:-1])} or {needs[-1]}."
        out.append(_warning("learned_nothing", c["name"], text, fix))
    return out


def result_candidates(results: dict) -> list[dict]:
    return [{"name": name, "pipeline": m.get("pipeline"), "config": m.get("config") or {}}
            for name, m in (results.get("models") or {}).items() if isinstance(m, dict)]  # fmt: skip


def config_candidates(cfg) -> list[dict]:
    return [{"name": c.name, "pipeline": c.pipeline, "config": c.config.to_dict()} for c in cfg.candidates]


def budget_cuts(plan: dict | None) -> list[dict]:
    """One warning per change the time budget made (harness/budget.py), naming the claim it weakens."""
    b = (plan or {}).get("budget") or {}
    if not b.get("changes"):
        return []
    asked = b.get("estimate_unfitted_s")
    return [
        _warning(
            "budget_cut",
            None,
            f"Time budget {fmt_s(b['budget_s'])}: {c['what']}, so {c['weakens']}.",
            f"a larger --time-budget (the settings as asked take about {fmt_s(asked)} here), or none"
            if asked
            else "a larger --time-budget, or none",
        )  # fmt: skip
        for c in b["changes"]
    ]


def after_training(results: dict) -> list[dict]:
    """Every warning a results.json dict supports (older records: what they hold; the rest is skipped)."""
    config = results.get("config") or {}
    demo = is_demo(config)
    cands = result_candidates(results)
    scratch = from_scratch(cands, demo)
    verdict = (results.get("curve") or {}).get("verdict") or {}
    return [
        *learned_nothing(results, cands, {w["model"] for w in scratch}),
        *scratch,
        *small_objects(cands, (results.get("data") or {}).get("object_sizes")),
        *small_test(verdict, config, demo),
        *budget_cuts(results.get("plan")),
    ]


def before_training(cfg, manifest) -> list[dict]:
    """The warnings knowable before any training: from_scratch and small_objects."""
    cands = config_candidates(cfg)
    demo = is_demo({"name": cfg.name, "classes": list(cfg.classes or [])})
    return [*from_scratch(cands, demo), *small_objects(cands, run_object_sizes(cands, manifest))]


def warning_lines(warnings: list[dict]) -> list[str]:
    """One console line per warning: 'WARNING: text Fix: ...' (info: 'note: ...')."""
    return [f"{'WARNING' if w.get('level') == 'warning' else 'note'}: {w['text']} Fix: {w['fix']}"
            for w in warnings or []]  # fmt: skip
