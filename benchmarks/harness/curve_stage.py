"""The `curve` stage: every finished job becomes a budget point priced in labeling hours of its method, the paired
difference detector - classifier per (fraction, seed) on the same test images, and the verdict that opens the report.

Reads the jobs' job.json (subset counts, recipe), artifact/training.json and history.csv (the image-level val macro
AP per epoch, for the "still improving" test), test_scores.npy and eval.json (accuracy per point), labeling.json (the
measured rates, if any); writes curve.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.config.candidates import curve_candidates
from benchmarks.curve import labeling_hours, paired_bootstrap_diff, undertrained, verdict
from benchmarks.curve.analysis import analyse
from benchmarks.curve.paired import as_rows
from benchmarks.curve.pricing import compute_usd
from benchmarks.curve.samples import per_image_seconds
from benchmarks.curve.verdict import with_warnings
from benchmarks.curve.warnings import after_training, config_candidates, run_object_sizes
from benchmarks.data.split import split_counts
from benchmarks.harness.jobs import JOBS_DIR
from benchmarks.harness.training import SCORED, jobs_on_disk, load_scored
from benchmarks.labeling import LabelingRates
from benchmarks.labeling.cost import load_logs
from benchmarks.paths import LABELING_LOGS, PLAN_FILE
from benchmarks.record import read_json
from benchmarks.registry import methods
from benchmarks.registry.pipelines import Pipeline
from benchmarks.registry.pipelines import get as get_pipeline

ACC_KEYS = ("macro_ap", "macro_ap_ci95", "macro_f1", "macro_f1_ci95", "n_test", "vs_baseline", "baseline",
            "decisions_equal_always_positive", "excluded_classes")  # fmt: skip


def _history_metric(artifact: Path, pipeline: Pipeline) -> tuple[list[float], str | None]:
    """(values per epoch, column) of the pipeline's image-level val macro AP (`val_metric`, the "still improving"
    test's metric: higher is better), else of a column older artifacts carry instead (`old_val_metrics`: the
    detector's box mAP before it logged val/image_macro_ap), with a value in the artifact's history.csv; ([], None)
    when there is none."""
    f = artifact / "history.csv"
    if not f.exists():
        return [], None
    df = pd.read_csv(f)
    df.columns = [c.strip() for c in df.columns]
    for col in (pipeline.val_metric, *pipeline.old_val_metrics):
        values = [float(v) for v in pd.to_numeric(df[col], errors="coerce").dropna()] if col in df else []
        if values:
            return values, col
    return [], None


def undertrained_check(artifact: Path, pipeline: str) -> dict:
    """The point's "still improving" fields: {undertrained, undertrained_reason, undertrained_metric (the
    history.csv column tested, None when there was none), undertrained_test {slope_per_epoch, p_value, window,
    method}}."""
    p = get_pipeline(pipeline)
    values, col = _history_metric(artifact, p)
    if col is None:
        names = ", ".join((p.val_metric, *p.old_val_metrics))
        und = undertrained([])
        und["reason"] = f"{artifact / 'history.csv'} has no val metric per epoch (looked for {names}): not judged"
    elif col in p.old_val_metrics:
        und = undertrained(values, metric=f"val box {col} (no image-level val macro AP in this older artifact)")
    else:
        und = undertrained(values, metric=f"{col} (image-level val macro AP)")
    test = {k: und[k] for k in ("slope_per_epoch", "p_value", "window", "method")}
    return {
        "undertrained": und["undertrained"], "undertrained_reason": und["reason"],
        "undertrained_metric": col, "undertrained_test": test,
    }  # fmt: skip


def _val_counts(spec: dict) -> dict:
    val = spec.get("val") or []
    return {
        "n_images": len(val),
        "n_labels": int(sum(v == 1 for s in val for v in s["labels"])),
        "n_boxes": sum(len(s["boxes"]) for s in val),
    }


def _samples(ctx, method: str) -> list[float] | None:
    """Per-image labeling times from the logs behind a measured rate (for its CI); None when there are none."""
    lab = ctx.cfg.labeling
    logs = load_logs(ctx.cfg.resolve(lab.log_dir) if lab.log_dir else LABELING_LOGS, lab.dataset or ctx.cfg.name)
    out = per_image_seconds([lg for _, lg in logs], method)
    return out or None


def build_points(ctx) -> tuple[list[dict], dict]:
    ev = ctx.read_json("eval.json")
    cost = ctx.read_json("labeling.json") if (ctx.run_dir / "labeling.json").exists() else {}
    lab = ctx.cfg.labeling
    rates = LabelingRates(**lab.rates) if lab.rates else None
    usd_lab, usd_compute = ctx.cfg.cost.labeling_usd_per_hour, ctx.cfg.cost.compute_usd_per_hour
    points, failed, sample_cache = [], [], {}
    for job in jobs_on_disk(ctx):
        folder = job.folder(ctx.run_dir)
        e = (ev.get("points") or {}).get(job.key) or {}
        if e.get("status") != "done":
            failed.append({"key": job.key, "status": e.get("status"), "error": e.get("error")})
            continue
        spec = read_json(folder / "job.json")
        method = ctx.cfg.candidate(job.candidate).labeling_method
        measured = cost.get(method) if (cost.get(method) or {}).get("source") not in (None, "modeled") else None
        if measured is not None and method not in sample_cache:
            sample_cache[method] = _samples(ctx, method)
        training = read_json(job.artifact(ctx.run_dir) / "training.json", {})
        und = undertrained_check(job.artifact(ctx.run_dir), job.pipeline)
        points.append({
            "key": job.key, "candidate": job.candidate, "pipeline": job.pipeline, "method": method,
            "fraction": job.fraction, "seed": job.seed, "split": job.split, "headline": job.headline,
            "n_images": spec["n_images"], "n_labels": spec["n_labels"], "n_boxes": spec["n_boxes"],
            "recipe": spec.get("recipe"), "epochs_run": training.get("epochs_run"),
            "labeling": labeling_hours(method, spec["n_images"], spec["n_labels"], spec["n_boxes"],
                                       _val_counts(spec), rates, measured, sample_cache.get(method), usd_lab),
            "accuracy": {**{k: (e.get("accuracy") or {}).get(k) for k in ACC_KEYS},
                         "per_class_ap": [v.get("ap") for v in ((e.get("accuracy") or {}).get("per_class") or {})
                                          .values()]},
            "train_wall_s": training.get("train_wall_s"),
            "compute_usd": compute_usd(training.get("train_wall_s"), usd_compute),
            **und,
        })  # fmt: skip
    thresholds = {k: v.get("thresholds") for k, v in (ev.get("points") or {}).items()}
    return points, {"failed": failed, "thresholds": thresholds}


def paired_rows(ctx, points: list[dict], thresholds: dict) -> list[dict]:
    """The verdict's pair of methods, a - b (methods.pair: the detector's CVAT boxes minus the classifier's folder
    sorting), per (fraction, seed) and candidate pair, resampling the same test images."""
    a_method, b_method = methods.pair(p["method"] for p in points)
    truth = ctx.cfg.labels.truth
    ev = ctx.read_json("eval.json")
    targets = ctx.manifest.targets(truth, ev["test_ids"])
    by = {}
    for p in points:
        if not p.get("split"):  # the extra splits' jobs have other test images: they enter the verdict only
            by.setdefault((p["fraction"], p["seed"], p["method"]), []).append(p)
    rows = []
    for (fraction, seed, method), dets in sorted(by.items()):
        if method != a_method:
            continue
        for det in dets:
            for cls in by.get((fraction, seed, b_method), []):
                a = np.load(ctx.run_dir / JOBS_DIR / det["key"] / "test_scores.npy")
                b = np.load(ctx.run_dir / JOBS_DIR / cls["key"] / "test_scores.npy")
                res = paired_bootstrap_diff(
                    a, b, targets, np.asarray(thresholds[det["key"]]), np.asarray(thresholds[cls["key"]]),
                    n_boot=ctx.cfg.metrics.bootstrap, seed=ctx.cfg.metrics.seed,
                )  # fmt: skip
                for r in as_rows(res, fraction, seed):
                    rows.append({**r, "a": det["candidate"], "b": cls["candidate"]})
    return rows


def verdict_pair(ctx) -> dict[str, str]:
    """{pipeline: candidate}: the candidate of each pipeline the verdict speaks about, the first on the curve (the
    others' points are drawn and tabled, but a verdict compares one labeling method with the other, once)."""
    out: dict[str, str] = {}
    for c in curve_candidates(ctx.cfg):
        out.setdefault(c.pipeline, c.name)
    return out


def point_scores(ctx, points: list[dict]) -> tuple[dict[str, np.ndarray], np.ndarray, dict[int, np.ndarray]]:
    """({point key: test scores}, the run's test targets, {extra split: its test targets}): what every statistic of
    the verdict is computed from (each point's stored scored.npz)."""
    ev = ctx.read_json("eval.json")
    targets = ctx.manifest.targets(ctx.cfg.labels.truth, ev["test_ids"])
    scores, split_targets = {}, {}
    for p in points:
        folder = ctx.run_dir / JOBS_DIR / p["key"]
        if (folder / SCORED).is_file():
            d = load_scored(folder)
            scores[p["key"]] = d["scores"]
            if p.get("split"):
                split_targets[int(p["split"])] = d["truth"]
        elif (folder / "test_scores.npy").is_file() and not p.get("split"):  # a run scored before scored.npz
            scores[p["key"]] = np.load(folder / "test_scores.npy")
    return scores, targets, split_targets


def _results_so_far(ctx, v: dict) -> dict:
    """What after_training() reads from results.json, from the stage outputs so far (results.json is assembled
    after this stage; harness/assemble.py runs the same warnings on the finished record)."""
    evm = ctx.read_json("eval.json").get("models") or {}
    cands = config_candidates(ctx.cfg)
    models = {c["name"]: {**c, "accuracy": (evm.get(c["name"]) or {}).get("accuracy"),
                          "box": (evm.get(c["name"]) or {}).get("box")} for c in cands}  # fmt: skip
    return {
        "config": ctx.cfg.to_dict(),
        "models": models,
        "data": {"object_sizes": run_object_sizes(cands, ctx.manifest)},
        "split": {"counts": split_counts(ctx.split)},
        "curve": {"verdict": v},
        "plan": _read_plan(ctx),
    }


def _read_plan(ctx) -> dict | None:

    f = ctx.run_dir / PLAN_FILE
    try:
        return json.loads(f.read_text()) if f.is_file() else None
    except ValueError:
        return None


def stage_curve(ctx) -> None:
    points, extra = build_points(ctx)
    paired = paired_rows(ctx, points, extra["thresholds"])
    pair = set(verdict_pair(ctx).values())
    mine = [p for p in points if p["candidate"] in pair]
    scores, targets, split_targets = point_scores(ctx, mine)
    m = ctx.cfg.metrics
    stats = analyse(mine, scores, targets, n_boot=m.bootstrap, n_perm=m.permutations, seed=m.seed, sims=m.self_check,
                    split_targets=split_targets, targets_ap=ctx.cfg.curve.targets)  # fmt: skip
    v = verdict(mine, stats, ctx.cfg.cost.labeling_usd_per_hour)
    v["candidates"] = sorted(pair)
    v = with_warnings(v, after_training(_results_so_far(ctx, v)))
    doc = {
        "points": points,
        "paired": paired,
        "failed": extra["failed"],
        "verdict": v,
        "stats": {k: val for k, val in stats.items() if k != "self_check"},
        "rates": {
            "labeling_usd_per_hour": ctx.cfg.cost.labeling_usd_per_hour,
            "compute_usd_per_hour": ctx.cfg.cost.compute_usd_per_hour,
        },
        "fractions": ctx.cfg.curve.fractions,
        "seeds": ctx.cfg.curve.seeds,
        "includes_val": "every point's labeling hours include labeling the fixed val split, which each method needs",
    }
    ctx.write_json("curve.json", doc)
    ctx.echo(f"  {len(points)} budget point(s), {len(paired)} paired row(s), {len(extra['failed'])} failed")
    ctx.echo("  " + v["answer"])
    if stats.get("self_check"):
        ctx.echo(f"  how sure: measured in {stats['self_check'].get('wall_s', 0):.1f} s by simulation (see the report)")
