"""From the run's manifest and split to training jobs, and from finished jobs to test-set accuracy.

The plan: for every candidate, the headline job (all train images, the first seed); for the curve's candidates,
one job per (fraction, seed) on nested, stratified subsets of the train split (benchmarks/curve.py). Val and test
stay fixed. Each job gets its pipeline's own labels: image-level labels or boxes of the source `labels:` names.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from benchmarks.config import ConfigError
from benchmarks.config.candidates import curve_candidates
from benchmarks.curve import epochs_for, stratified_order
from benchmarks.curve.subsets import subset_size
from benchmarks.evaluate import evaluate
from benchmarks.harness.executors import get_executor
from benchmarks.harness.jobs import Job, status, write_job
from benchmarks.labeling import LabelingRates, labeling_cost
from benchmarks.paths import LABELING_LOGS
from benchmarks.record import write_json
from benchmarks.registry.pipelines import PIPELINES, load_predictor
from benchmarks.tracking.results import WEIGHT_SUFFIXES


def _source(ctx, pipeline: str) -> str:
    src = ctx.cfg.labels.role(pipeline)
    if not src:
        kind = "boxes" if PIPELINES[pipeline].uses_boxes else "image-level labels"
        raise ConfigError(
            f"{ctx.cfg.config_file}: `labels.{pipeline}` names no source, and no source has {kind}; add a source "
            f"with {kind} and name it there"
        )
    return src


def covered(ctx, source: str, ids: list[str], boxes: bool = False) -> list[str]:
    """The ids `source` says anything about (others would be all-NA targets or unknown boxes); with `boxes`, only
    those whose boxes are complete (a skipped mask or a refused box would teach a detector that object is
    background: such images are left out of box training and box metrics, and counted)."""
    have = set(ctx.manifest.covered_by(source))
    out = [i for i in ids if i in have]
    return ctx.manifest.box_complete(source, out) if boxes else out


def samples(ctx, pipeline: str, ids: list[str]) -> list[dict]:
    """Plain samples (benchmarks.registry.pipelines.Sample) of `ids` with the pipeline's own labels."""
    m, src = ctx.manifest, _source(ctx, pipeline)
    targets = m.targets(src, ids)
    boxes = PIPELINES[pipeline].uses_boxes
    out = []
    for i, row in zip(ids, targets):
        r = m.get(i)
        out.append({
            "id": i, "path": str(r.path), "width": r.width, "height": r.height,
            "labels": [None if math.isnan(v) else float(v) for v in row],
            "boxes": [list(b) for b in m.boxes(src, i)] if boxes else [],
        })  # fmt: skip
    return out


def headline_job(ctx, candidate: str) -> Job:
    c = ctx.cfg.candidate(candidate)
    return Job(c.name, c.pipeline, 1.0, ctx.cfg.curve.seeds[0], headline=True)


def _order(ctx, seed: int) -> list[str]:
    """One labeling order of the whole train split per seed (stratified on the truth's labels), shared by every
    pipeline: at a given fraction both methods label the same images as far as their sources cover them, so the
    paired difference compares labeling methods, not image draws."""
    train = ctx.split["train"]
    return stratified_order(train, ctx.manifest.targets(ctx.cfg.labels.truth, train), seed)


def _subsets(ctx, train: list[str], seed: int, order: list[str], fractions: list[float]) -> dict[float, list[str]]:
    """{fraction: the first ceil(f x N) of the pipeline's own train ids (`train`), in the seed's shared order}."""
    have = set(train)
    mine = [i for i in order if i in have]
    return {f: mine[: subset_size(f, len(mine))] for f in fractions}


MATCH_TOL = 0.1  # a matched point's hours are within 10% of the hours it matches (images come in whole numbers)
MIN_VAL = 10  # the smallest val subset a curve point tunes its thresholds and early stopping on (val_rule: share)


def _val_order(ctx, seed: int) -> list[str]:
    val = ctx.split["val"]
    return stratified_order(val, ctx.manifest.targets(ctx.cfg.labels.truth, val), seed)


def val_subset(ctx, val: list[str], order: list[str], share: float) -> list[str]:
    """The val images a point labels: with `curve.val_rule: share` the same share of the val split as of the train
    split (at least MIN_VAL images), nested like the train subsets; with `fixed` the whole val split."""
    if ctx.cfg.curve.val_rule == "fixed" or share >= 1:
        return val
    have = set(val)
    mine = [i for i in order if i in have]
    return mine[: max(min(MIN_VAL, len(mine)), math.ceil(share * len(mine) - 1e-9))]


def plan_rates(ctx) -> dict[str, tuple[str, float]]:
    """{labeling method: (unit 'image' | 'box', seconds)}: the central rates the budget points will be priced at
    (measured from the logs where there are some, else the cited ones), for matching subsets to labeling hours."""
    lab = ctx.cfg.labeling
    rates = LabelingRates(**lab.rates) if lab.rates else None
    log_dir = ctx.cfg.resolve(lab.log_dir) if lab.log_dir else LABELING_LOGS
    cost = labeling_cost(1, 1, 1, log_dir, rates, dataset=lab.dataset or ctx.cfg.name)
    out = {}
    for method, c in cost.items():
        out[method] = ("box", float(c["s_per_box"])) if c.get("s_per_box") else ("image", float(c["s_per_image"]))
    return out


def _counts(rate: tuple[str, float], smp: list[dict]) -> np.ndarray:
    """Per image, the count its labeling is priced by: its boxes (per-box rate) or 1 (per-image rate)."""
    return np.array([len(x["boxes"]) if rate[0] == "box" else 1 for x in smp], dtype=np.float64)


def matched_fractions(ctx, inputs: dict, seed: int) -> dict[str, list[float]]:
    """{candidate: extra fractions} so that every curve candidate has a point at the labeling hours of every other
    candidate's configured points, wherever its own train images allow (the common hour grid): the dear method's
    cheap points use few images. Priced at the central rates with the val rule; the first seed's order decides, and
    the same fractions are used for every seed (so seeds stay paired)."""
    rates = plan_rates(ctx)
    vorder = _val_order(ctx, seed)
    curves: dict[str, list[float]] = {}
    priced: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, (c, train, val, order) in inputs.items():
        have = set(train)
        mine = [i for i in order if i in have]
        rate = rates.get(PIPELINES[c.pipeline].labeling_method)
        if rate is None or not mine:
            continue
        cum = np.cumsum(_counts(rate, samples(ctx, c.pipeline, mine)))
        vhave = set(val)
        vmine = [i for i in vorder if i in vhave]
        vcum = np.r_[0.0, np.cumsum(_counts(rate, samples(ctx, c.pipeline, vmine)))]
        n = np.arange(1, len(mine) + 1)
        share = n / len(mine)
        if ctx.cfg.curve.val_rule == "fixed":
            nv = np.full(n.size, len(vmine))
        else:
            nv = np.maximum(min(MIN_VAL, len(vmine)), np.ceil(share * len(vmine) - 1e-9)).astype(int)
            nv[-1] = len(vmine)
        hours = (cum + vcum[np.minimum(nv, len(vmine))]) * rate[1] / 3600
        if hours[-1] <= 0:
            continue  # nothing to price (no boxes in this source): no hours to match
        priced[name] = (share, hours)
        conf = _configured(ctx, len(mine))
        curves[name] = [float(h) for f, h in zip(share, hours) if any(abs(f - g) < 1e-9 for g in conf)]
    grid: list[float] = []
    if len(priced) > 1 and ctx.cfg.curve.match_points > 0:  # a few common hours where every candidate can be priced
        lo = max(h[0] for _, h in priced.values())
        hi = min(h[-1] for _, h in priced.values())
        if hi >= lo:
            grid = list(np.geomspace(lo, hi, ctx.cfg.curve.match_points)) if hi > lo else [lo]
    out: dict[str, list[float]] = {}
    for name, (share, hours) in priced.items():
        targets = sorted({*grid, *(h for other, hs in curves.items() if other != name for h in hs)})
        extra = set()
        for h in targets:
            if any(abs(own - h) <= MATCH_TOL * h for own in curves[name]):
                continue  # a configured point is already at these hours
            i = int(np.searchsorted(hours, h * (1 - 1e-9)))
            # reached before every train image is labelled, and close: a cheaper budget than its smallest possible
            # point (the minimum val set alone) is not a match
            if i < len(hours) - 1 and hours[i] <= h * (1 + MATCH_TOL):
                extra.add(float(share[i]))  # exactly n / N: subset_size gives back n (no rounding up)
        out[name] = sorted(extra - set(ctx.cfg.curve.fractions))
    return out


def _configured(ctx, n: int) -> list[float]:
    """The configured fractions as the exact shares of n images their subsets have."""
    return [subset_size(f, n) / n for f in ctx.cfg.curve.fractions]


def plan_jobs(ctx) -> list[Job]:
    """Write every job's inputs (job.json) and return the jobs, headline jobs first (with `ctx.dry_run`, write nothing
    and put each job's size in `ctx.planned`)."""
    cfg = ctx.cfg
    on_curve = {c.name for c in curve_candidates(cfg)}
    jobs: list[Job] = []
    orders = {seed: _order(ctx, seed) for seed in cfg.curve.seeds}
    val_orders = {seed: _val_order(ctx, seed) for seed in cfg.curve.seeds}
    extra: dict[str, list[float]] = {}
    if cfg.curve.match_hours and len(on_curve) > 1:
        inputs = {}
        for c in cfg.candidates:
            if c.name in on_curve:
                src, boxes = _source(ctx, c.pipeline), PIPELINES[c.pipeline].uses_boxes
                train = covered(ctx, src, ctx.split["train"], boxes)
                inputs[c.name] = (c, train, covered(ctx, src, ctx.split["val"], boxes), orders[cfg.curve.seeds[0]])
        extra = matched_fractions(ctx, inputs, cfg.curve.seeds[0])
        for name, fr in extra.items():
            if fr:
                ctx.echo(f"  {name}: points at {', '.join(f'{f:.3g}' for f in fr)} of its train images, to match the "
                         "other method's labeling hours")  # fmt: skip
    subsets_cache: dict[tuple[str, int], dict[float, list[str]]] = {}
    for first in (True, False):  # headline jobs first: a curve that fails half-way still leaves a report
        for c in cfg.candidates:
            src, boxes = _source(ctx, c.pipeline), PIPELINES[c.pipeline].uses_boxes
            train = covered(ctx, src, ctx.split["train"], boxes)
            val = covered(ctx, src, ctx.split["val"], boxes)
            no_labels = (
                len(ctx.split["train"])
                + len(ctx.split["val"])
                - sum(len(covered(ctx, src, ctx.split[s])) for s in ("train", "val"))
            )
            incomplete = len(ctx.split["train"]) + len(ctx.split["val"]) - len(train) - len(val) - no_labels
            if no_labels and first:
                ctx.echo(f"  {no_labels} train/val images have no `{src}` labels: left out of {c.name}'s training")
            if incomplete and first:
                ctx.echo(
                    f"  {incomplete} train/val images have incomplete `{src}` boxes (skipped shapes, refused boxes): "
                    f"left out of {c.name}'s training"
                )
            seeds = cfg.curve.seeds if c.name in on_curve else cfg.curve.seeds[:1]
            fractions = sorted({*cfg.curve.fractions, *extra.get(c.name, [])}) if c.name in on_curve else [1.0]
            for seed in seeds:
                key = (c.name, seed)
                if key not in subsets_cache:
                    subsets_cache[key] = _subsets(ctx, train, seed, orders[seed], fractions)
                for f in fractions:
                    job = Job(c.name, c.pipeline, f, seed, headline=(f == 1.0 and seed == cfg.curve.seeds[0]))
                    if job.headline != first:
                        continue
                    ids = subsets_cache[key][f]
                    jobs.append(job)
                    share = len(ids) / max(1, len(train))
                    _write(ctx, job, c, ids, val_subset(ctx, val, val_orders[seed], share), train)
    for r in cfg.curve.splits:  # extra splits: every train image of the redrawn split, every seed, curve candidates
        split = ctx.split_for(r)
        for c in cfg.candidates:
            if c.name not in on_curve:
                continue
            src, boxes = _source(ctx, c.pipeline), PIPELINES[c.pipeline].uses_boxes
            train, val = covered(ctx, src, split["train"], boxes), covered(ctx, src, split["val"], boxes)
            for seed in cfg.curve.seeds:
                job = Job(c.name, c.pipeline, 1.0, seed, headline=False, split=r)
                jobs.append(job)
                _write(ctx, job, c, train, val, train)
    return jobs


def _write(ctx, job: Job, c, ids: list[str], val: list[str], train: list[str]) -> None:
    base = c.config
    cap = math.floor(base.epochs * ctx.cfg.curve.max_epoch_factor)
    rec = epochs_for(len(ids), len(train), base.epochs, base.batch, cap=cap)
    # the curve seed offsets the candidate's own training seed: with the default seeds [0], the headline trains with
    # exactly the configured seed; every other seed is a different initialisation and data order
    rec["train_seed"] = base.seed + job.seed
    if getattr(ctx, "dry_run", False):  # the run plan (harness/plan.py): what the job would be, nothing written
        ctx.planned[job.key] = {"n_images": len(ids), "n_val": len(val), "epochs": rec["epochs"],
                                "imgsz": int(base.imgsz), "batch": int(base.batch)}  # fmt: skip
        return
    config = c.with_config(epochs=rec["epochs"], seed=rec["train_seed"]).config.to_dict()
    train_samples = samples(ctx, c.pipeline, ids)
    tracking = {}  # where to log, not an input: write_job leaves it out when it compares specs
    if job.headline and not get_executor(ctx.executor).in_process and ctx.mlflow_runs.get(c.name):
        # jobs that run at the same time elsewhere get their nested run now; the local executor attaches it when
        # the job starts (attach_tracking), so the nested run's duration is its own training's
        tracking = {"uri": ctx.mlflow_runs.get("tracking_uri"), "run_id": ctx.mlflow_runs.get(c.name)}
    write_job(ctx.run_dir, job, {
        "candidate": c.name, "pipeline": c.pipeline, "fraction": job.fraction, "seed": job.seed, "split": job.split,
        "headline": job.headline, "config": config, "classes": ctx.manifest.classes, "recipe": rec,
        "n_images": len(ids), "n_labels": int(sum(v == 1 for s in train_samples for v in s["labels"])),
        "n_boxes": sum(len(s["boxes"]) for s in train_samples),
        "train": train_samples, "val": samples(ctx, c.pipeline, val), "tracking": tracking,
    })  # fmt: skip


def attach_tracking(ctx, job: Job) -> None:
    """Just before a headline job runs here: its candidate's nested MLflow run (created now, so it starts with the
    training) written into job.json's `tracking` (not an input of the job: a finished job stays finished)."""

    if not job.headline or not ctx.mlflow_runs:
        return
    run_id = ctx.mlflow_runs.get(job.candidate)
    if not run_id:
        return
    f = job.folder(ctx.run_dir) / "job.json"
    spec = json.loads(f.read_text())
    spec["tracking"] = {"uri": ctx.mlflow_runs.get("tracking_uri"), "run_id": run_id}
    write_json(f, spec)


PLAN = "plan.json"  # in <run>/jobs/: the job keys the train stage planned for the current config


def write_plan(ctx, jobs: list[Job]) -> None:
    write_json(Path(ctx.run_dir) / "jobs" / PLAN, [j.key for j in jobs])


def jobs_on_disk(ctx) -> list[Job]:
    """The planned jobs (plan.json), read back from their job.json: a job folder left from an earlier config of a
    resumed run (another fraction, seed or candidate) is not part of this run's results."""
    root = Path(ctx.run_dir) / "jobs"
    planned = set(json.loads((root / PLAN).read_text())) if (root / PLAN).exists() else None
    out = []
    for f in sorted(root.glob("*/*/job.json")):
        d = json.loads(f.read_text())
        if planned is not None and d["key"] not in planned:
            continue
        job = Job(d["candidate"], d["pipeline"], float(d["fraction"]), int(d["seed"]), bool(d["headline"]),
                  int(d.get("split", 0)))  # fmt: skip
        out.append(job)
    return out


def evaluate_jobs(ctx) -> dict:
    """Score every finished job on its split's test images (the run's split for all but the extra splits' jobs)
    with one metrics function; box metrics for the headline models whose predictor has them. A failed curve point
    is recorded, not fatal."""
    truth = ctx.cfg.labels.truth
    test = covered(ctx, truth, ctx.split["test"])
    out: dict = {"truth": truth, "test_ids": test, "models": {}, "points": {}, "split_test_ids": {}}
    tests = {0: test}
    for job in jobs_on_disk(ctx):
        if job.split not in tests:  # an extra split's job is scored on that split's own test images
            tests[job.split] = covered(ctx, truth, ctx.split_for(job.split)["test"])
            out["split_test_ids"][str(job.split)] = tests[job.split]
    for job in jobs_on_disk(ctx):
        test = tests[job.split]
        targets = ctx.manifest.targets(truth, test)
        paths = ctx.paths(test)
        st = status(ctx.run_dir, job)
        if st.get("status") != "done":
            out["points"][job.key] = {"status": st.get("status"), "error": st.get("error")}
            continue
        try:
            kept = None if job.headline else _pruned_scores(ctx, job, test)
        except (RuntimeError, OSError, KeyError, ValueError) as exc:  # one broken point, not the whole stage
            out["points"][job.key] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            continue
        if kept is not None:  # a curve point scored earlier whose weights were deleted (curve.keep_weights: false)
            scores, thresholds = kept
        else:
            art = job.artifact(ctx.run_dir)
            pred = ctx.predictor(job.candidate) if job.headline else load_predictor(job.pipeline, art)
            scores, thresholds = pred.predict_scores(paths), np.asarray(pred.thresholds)
            np.save(job.folder(ctx.run_dir) / "test_scores.npy", scores)
            if not job.headline and not ctx.cfg.curve.keep_weights:
                _prune_weights(ctx, job, test)
        save_scored(job.folder(ctx.run_dir), scores, targets, test, ctx.manifest.classes, thresholds)
        acc = evaluate(
            scores, targets, thresholds, ctx.manifest.classes,
            n_boot=ctx.cfg.metrics.bootstrap, seed=ctx.cfg.metrics.seed, ids=test, n_perm=ctx.cfg.metrics.permutations,
        )  # fmt: skip
        out["points"][job.key] = {"status": "done", "accuracy": acc, "thresholds": thresholds, "split": job.split}
        if job.headline:
            out["models"][job.candidate] = {"accuracy": acc, "box": _box(ctx, job, pred, test)}
    return out


SCORED = "scored.npz"  # in a job folder: everything its statistics are computed from (README "Stored test scores")


def save_scored(folder, scores, targets, ids, classes, thresholds) -> None:
    """One file per scored point: test scores (N, C), truth (N, C; 1/0/NaN), image ids, class names, thresholds."""
    np.savez_compressed(
        folder / SCORED, scores=np.asarray(scores, dtype=np.float32), truth=np.asarray(targets, dtype=np.float32),
        ids=np.asarray(ids, dtype=str), classes=np.asarray(classes, dtype=str),
        thresholds=np.asarray(thresholds, dtype=np.float32),
    )  # fmt: skip


def load_scored(folder) -> dict:
    """The stored point as {scores, truth, ids, classes, thresholds}; a missing or unreadable file says which."""
    f = folder / SCORED
    try:
        with np.load(f, allow_pickle=False) as z:
            out = {k: z[k] for k in ("scores", "truth", "ids", "classes", "thresholds")}
    except (OSError, KeyError, ValueError) as exc:
        msg = f"{f}: cannot read the stored test scores ({exc}); `clsdet bench --resume` scores again"
        raise RuntimeError(msg) from None
    out["ids"], out["classes"] = [str(i) for i in out["ids"]], [str(c) for c in out["classes"]]
    return out


PRUNED = "pruned.json"  # in a curve point's artifact: which weight files were deleted after scoring, on which test ids


def _ids_sha(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def _prune_weights(ctx, job: Job, test: list[str]) -> None:
    """Delete a scored curve point's weight files (its test scores, thresholds, history and training record stay:
    the curve, the paired differences and the report need nothing else). Recorded in artifact/pruned.json."""
    art = job.artifact(ctx.run_dir)
    files = sorted(p for p in art.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    removed = {str(p.relative_to(art)): p.stat().st_size for p in files}
    write_json(art / PRUNED, {  # first: a process stopped half-way leaves a point scored from its kept scores
        "removed": removed, "bytes": sum(removed.values()), "test_ids_sha": _ids_sha(test),
        "why": "curve.keep_weights is false: a curve point's weights are deleted once it is scored on test",
    })  # fmt: skip
    for p in files:
        p.unlink()


def _pruned_scores(ctx, job: Job, test: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(test scores, thresholds) of a pruned point scored on these same test ids, else None (score it anew)."""
    art = job.artifact(ctx.run_dir)
    f, scores = art / PRUNED, job.folder(ctx.run_dir) / "test_scores.npy"
    if not f.is_file():
        return None
    doc = json.loads(f.read_text())
    if doc.get("test_ids_sha") != _ids_sha(test) or not scores.is_file():
        raise RuntimeError(
            f"{job.key}: its weights were deleted after it was scored on another test set ({f}); delete "
            f"{job.folder(ctx.run_dir)} and resume to train it again, or set curve.keep_weights: true to keep weights"
        )
    th = json.loads((art / "thresholds.json").read_text())["thresholds"]  # {class: value} (or a list, in order)
    th = [th[c] for c in ctx.manifest.classes] if isinstance(th, dict) else th
    return np.load(scores), np.asarray(th, dtype=np.float32)


def _box(ctx, job: Job, pred, test: list[str]) -> dict | None:
    """Box mAP on the test images the pipeline's own box source covers (None for image-level pipelines)."""
    fn = getattr(pred, "box_metrics", None)
    if fn is None:
        return None
    try:
        ids = covered(ctx, _source(ctx, job.pipeline), test, boxes=True)
        res = fn(samples(ctx, job.pipeline, ids), job.folder(ctx.run_dir) / "box_eval")
        return {
            **res,
            "n_images": len(ids),
            "left_out_incomplete": len(covered(ctx, _source(ctx, job.pipeline), test)) - len(ids),
        }
    except Exception as exc:  # in the harness a failure is data: the image-level scores stand
        return {"map50": None, "map50_95": None, "error": f"{type(exc).__name__}: {exc}"}
