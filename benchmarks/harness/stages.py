"""The benchmark's stages. Each reads the run folder, does one job and writes its output file there.

Outputs (all in the run folder): manifest.json, split.json, classifier/ and detector/ (artifacts), eval.json,
size.json, latency.json, labeling.json, results.json, report.md/report.html/plots/, and the MLflow run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from benchmarks import runtime
from benchmarks import tracking as T
from benchmarks.config import BenchConfig, ConfigError
from benchmarks.data.build import build_manifest
from benchmarks.data.inspect import flag_unlabeled_classes
from benchmarks.data.manifest import Manifest
from benchmarks.data.roles import counted_sources
from benchmarks.data.split import load_split, make_split, save_split, split_counts
from benchmarks.harness.assemble import assemble_results
from benchmarks.harness.executors import get_executor, run_jobs
from benchmarks.harness.jobs import is_done
from benchmarks.harness.plan import stage_plan as run
from benchmarks.harness.space import check_free_space
from benchmarks.harness.training import attach_tracking, evaluate_jobs, headline_job, plan_jobs, write_plan
from benchmarks.labeling import LabelingRates, labeling_cost
from benchmarks.measure.gate import gate_test_set
from benchmarks.measure.run_latency import measure_models
from benchmarks.measure.size import model_size
from benchmarks.paths import LABELING_LOGS
from benchmarks.record import validate, write_json, write_results
from benchmarks.registry.pipelines import load_predictor
from benchmarks.report import render_reports

LATENCY_IMAGES = 32  # encoded test images cycled through by end-to-end latency


@dataclass
class Context:
    cfg: BenchConfig
    run_dir: Path
    log: object  # harness.run.StageLog
    echo: object = print
    executor: str = "local"
    executor_options: dict = field(default_factory=dict)
    only_candidates: list = field(default_factory=list)  # train only these; reuse the others' finished jobs
    _manifest: Manifest | None = None
    _split: dict | None = None
    mlflow_runs: dict = field(default_factory=dict)  # "parent" and one per candidate / curve point -> run id
    _predictors: dict = field(default_factory=dict)  # candidate -> loaded headline predictor (see predictor())
    time_budget: float | None = None  # seconds (--time-budget): the plan stage fits the config into it
    dry_run: bool = False  # plan_jobs describes the jobs without writing them (the plan's estimates)
    planned: dict = field(default_factory=dict)  # job key -> its size, filled by a dry run

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            self._manifest = Manifest.load(self.run_dir / "manifest.json")
        return self._manifest

    @property
    def split(self) -> dict:
        if self._split is None:
            self._split = load_split(self.run_dir / "split.json", self.manifest)
        return self._split

    def split_for(self, n: int) -> dict:
        """Split 0 is the run's split; extra split n (curve.splits) is redrawn with split seed split.seed + n, written
        to split_r<n>.json the first time and read back after (so a resumed run trains on the same images)."""
        if n == 0:
            return self.split

        cache = self.__dict__.setdefault("_extra_splits", {})
        if n not in cache:
            f = self.run_dir / f"split_r{n}.json"
            if f.is_file():
                cache[n] = load_split(f, self.manifest)
            else:
                by = self.cfg.split.stratify_by or self.cfg.labels.truth
                scfg = replace(self.cfg.split, seed=self.cfg.split.seed + n)
                cache[n] = make_split(self.manifest, scfg, by)
                save_split(cache[n], f, scfg, by)
        return cache[n]

    def paths(self, ids: list[str]) -> list[str]:
        return [self.manifest.get(i).path for i in ids]

    def read_json(self, name: str):
        return json.loads((self.run_dir / name).read_text())

    def write_json(self, name: str, obj) -> Path:
        return write_json(self.run_dir / name, obj)

    def headline_artifact(self, candidate: str) -> Path:
        return headline_job(self, candidate).artifact(self.run_dir)

    def predictor(self, candidate: str):
        """The candidate's headline model loaded on the CPU once, shared by evaluate, size and latency."""
        if candidate not in self._predictors:
            c = self.cfg.candidate(candidate)
            self._predictors[candidate] = load_predictor(c.pipeline, self.headline_artifact(candidate), "cpu")
        return self._predictors[candidate]


def _f3(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


# --- tracking ----------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def tracking(ctx: Context):
    """The whole benchmark inside one MLflow parent run: FAILED on an error, KILLED on Ctrl-C."""
    with T.tracking_run(ctx.cfg, ctx.run_dir) as runs:
        ctx.mlflow_runs = runs
        yield runs


# --- stages ------------------------------------------------------------------------------------------------------
def stage_data(ctx: Context) -> None:
    manifest = build_manifest(ctx.cfg, cache_dir=Path(runtime.state()["cache_dir"]) / "data")
    for p in manifest.problems.items:
        if p.severity == "fatal":
            ctx.echo("  " + p.format())
    manifest.problems.raise_if_fatal()

    flag_unlabeled_classes(manifest)
    counts = manifest.problems.counts()
    if counts:
        ctx.echo(f"  data problems counted: {', '.join(f'{k}={v}' for k, v in sorted(counts.items()))}")
    digest = hashlib.sha256(json.dumps(manifest.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
    if ctx.log.data.get("manifest_hash") not in (None, digest):
        ctx.echo("  the data changed since the earlier run: every later stage runs again")
        ctx.log.reset_from("split")
    ctx.log.data["manifest_hash"] = digest
    manifest.save(ctx.run_dir / "manifest.json")
    ctx._manifest = manifest
    ctx.echo(f"  {len(manifest)} images, {len(manifest.classes)} classes, sources: {', '.join(manifest.sources)}")


def stage_split(ctx: Context) -> None:
    by = ctx.cfg.split.stratify_by or ctx.cfg.labels.truth
    split = make_split(ctx.manifest, ctx.cfg.split, by)
    save_split(split, ctx.run_dir / "split.json", ctx.cfg.split, by)
    ctx._split = split
    ctx.echo(f"  {split_counts(split)} (seed {ctx.cfg.split.seed}, stratified by `{by}`)")


def stage_plan(ctx: Context) -> None:
    run(ctx)


def stage_train(ctx: Context) -> None:
    """Every training job (candidates x curve fractions x seeds), each an independent job with files in and out."""
    jobs = plan_jobs(ctx)

    write_plan(ctx, jobs)
    if ctx.only_candidates:
        missing = [j.key for j in jobs if j.candidate not in ctx.only_candidates and not is_done(ctx.run_dir, j)]
        if missing:
            raise ConfigError(
                f"--only-candidate {' '.join(ctx.only_candidates)}: the run {ctx.run_dir} has no finished job(s) "
                f"{', '.join(missing)} to reuse; run `clsdet bench CONFIG --resume` once without --only-candidate"
            )
        jobs = [j for j in jobs if j.candidate in ctx.only_candidates]
    todo = [j for j in jobs if not is_done(ctx.run_dir, j)]
    ctx.echo(f"  {len(jobs)} training job(s), {len(jobs) - len(todo)} already finished")

    check_free_space(ctx, todo)  # a warning, before the first job writes: not a full disk half-way

    before = (lambda job: attach_tracking(ctx, job)) if get_executor(ctx.executor).in_process else None
    run_jobs(ctx.run_dir, jobs, executor=ctx.executor, echo=ctx.echo, before=before, **ctx.executor_options)


def stage_evaluate(ctx: Context) -> None:
    out = evaluate_jobs(ctx)
    for name, entry in out["models"].items():
        acc = entry["accuracy"] or {}
        lo, hi = acc.get("macro_ap_ci95") or (None, None)
        box = (entry.get("box") or {}).get("map50")
        ctx.echo(
            f"  {name}: macro AP {_f3(acc.get('macro_ap'))} [95% CI {_f3(lo)}, {_f3(hi)}] "
            f"(baseline {_f3((acc.get('baseline') or {}).get('macro_ap'))})"
            + (f", box mAP50 {_f3(box)}" if entry.get("box") is not None else "")
        )
    ctx.write_json("eval.json", out)


def stage_size(ctx: Context) -> None:
    out = {}
    for c in ctx.cfg.candidates:
        pred = ctx.predictor(c.name)
        out[c.name] = model_size(pred)  # the fp32/fp16 files are measured in a temporary folder, not kept
    ctx.write_json("size.json", out)


def stage_latency(ctx: Context) -> str | None:
    test = ctx.split["test"] or ctx.split["val"]
    encoded = [Path(p).read_bytes() for p in ctx.paths(test[:LATENCY_IMAGES])]
    # kept in the run folder: `clsdet latency RUN_DIR` on another machine times the same encoded bytes
    img_dir = ctx.run_dir / "latency_images"
    img_dir.mkdir(exist_ok=True)
    for i, (image_id, data) in enumerate(zip(test, encoded)):
        (img_dir / f"{i:03d}_{image_id}{Path(ctx.manifest.get(image_id).path).suffix.lower()}").write_bytes(data)

    gate_test = gate_test_set(ctx.run_dir)  # the images evaluate scored, as `clsdet latency RUN_DIR` reads them
    models = {c.name: (c.pipeline, ctx.headline_artifact(c.name)) for c in ctx.cfg.candidates}
    records = measure_models(
        ctx.run_dir,
        models,
        dataclasses.asdict(ctx.cfg.latency),
        test=gate_test,
        echo=ctx.echo,
        predictors={c.name: ctx.predictor(c.name) for c in ctx.cfg.candidates},
    )
    ctx.write_json("latency.json", records)
    failed = [r for r in records if r.get("status") not in ("ok", None)]
    if failed:
        which = sorted({f"{r.get('model')} {r.get('device')} {r.get('backend') or ''}".strip() for r in failed})
        return f"done, {len(failed)} of {len(records)} latency record(s) failed ({'; '.join(which[:4])}; see report)"
    return None


def stage_labeling(ctx: Context) -> None:
    m = ctx.manifest
    cls_src, det_src = counted_sources(ctx.cfg)
    n_labels = int(np.nansum(m.targets(cls_src) == 1)) if cls_src else 0
    n_boxes = sum(len(r.boxes.get(det_src, [])) for r in m.images) if det_src else 0
    lab = ctx.cfg.labeling
    rates = LabelingRates(**lab.rates) if lab.rates else None
    cost = labeling_cost(
        len(m),
        n_labels,
        n_boxes,
        ctx.cfg.resolve(lab.log_dir) if lab.log_dir else LABELING_LOGS,
        rates,
        dataset=lab.dataset or ctx.cfg.name,
    )
    ctx.write_json("labeling.json", cost)
    for method, c in cost.items():
        ctx.echo(
            f"  {method}: {c['hours']:.2f} h ({c['source']}"
            + (", rests on clipped events)" if c.get("clipped") else ")")
        )


def stage_curve(ctx: Context) -> None:
    # deferred: benchmarks.harness.curve_stage imports pandas
    from benchmarks.harness.curve_stage import stage_curve as run

    run(ctx)


def stage_results(ctx: Context) -> None:
    results = assemble_results(ctx)
    for problem in validate(results):  # a gap in the record is reported, never hidden
        ctx.echo(f"  results.json: {problem}")
    write_results(ctx.run_dir, results)


def stage_report(ctx: Context) -> None:
    paths = render_reports(ctx.run_dir)
    for kind, p in paths.items():
        ctx.echo(f"  {kind}: {p}")


def stage_mlflow(ctx: Context) -> str | None:
    """Log results.json, reports and plots; "not logged" (the stage stays unfinished, so `--resume` tries again) when
    the tracking server stopped answering: the run is complete without it, `clsdet log RUN_DIR` logs it later."""
    T.log_results(ctx.run_dir)
    lost = ctx.mlflow_runs.not_logged() if hasattr(ctx.mlflow_runs, "not_logged") else {}
    if lost:
        ctx.echo(f"  the tracking server does not answer: not logged for {', '.join(lost)} (details at the end)")
        return "not logged"
    return None
