"""The benchmark's stages. Each reads the run folder, does one job and writes its output file there.

Outputs (all in the run folder): manifest.json, split.json, classifier/ and detector/ (artifacts), eval.json,
size.json, latency.json, labeling.json, results.json, report.md/report.html/plots/, and the MLflow run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.config import BenchConfig
from benchmarks.data.manifest import Manifest
from benchmarks.measure.memory import track_peak_memory

MODELS = ("classifier", "detector")
REPO = Path(__file__).resolve().parents[1]
LATENCY_IMAGES = 32  # encoded test images cycled through by end-to-end latency


@dataclass
class Context:
    cfg: BenchConfig
    run_dir: Path
    log: object  # harness.StageLog
    echo: object = print
    _manifest: Manifest | None = None
    _split: dict | None = None
    mlflow_runs: dict = field(default_factory=dict)  # "parent"/"classifier"/"detector" -> run id
    _predictors: dict = field(default_factory=dict)  # model -> loaded predictor (see predictor())

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            self._manifest = Manifest.load(self.run_dir / "manifest.json")
        return self._manifest

    @property
    def split(self) -> dict:
        if self._split is None:
            from benchmarks.data.split import load_split

            self._split = load_split(self.run_dir / "split.json", self.manifest)
        return self._split

    def paths(self, ids: list[str]) -> list[str]:
        return [self.manifest.get(i).path for i in ids]

    def read_json(self, name: str):
        return json.loads((self.run_dir / name).read_text())

    def write_json(self, name: str, obj) -> Path:
        from benchmarks.record import write_json

        return write_json(self.run_dir / name, obj)

    def predictor(self, model: str):
        """The trained `model` loaded on the CPU once, shared by evaluate, size and latency."""
        if model not in self._predictors:
            self._predictors[model] = _load(model, self.run_dir / model)
        return self._predictors[model]


def _f3(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _covered(ctx: Context, source: str, ids: list[str]) -> list[str]:
    """The ids `source` says anything about (others would be all-NA targets or unknown boxes)."""
    have = set(ctx.manifest.covered_by(source))
    return [i for i in ids if i in have]


# --- tracking ----------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def tracking(ctx: Context):
    """The whole benchmark inside one MLflow parent run: FAILED on an error, KILLED on Ctrl-C."""
    from benchmarks import tracking as T  # noqa: N812

    with T.tracking_run(ctx.cfg, ctx.run_dir) as runs:
        ctx.mlflow_runs = runs
        yield runs


# --- stages ------------------------------------------------------------------------------------------------------
def stage_data(ctx: Context) -> None:
    from benchmarks import runtime
    from benchmarks.data.build import build_manifest

    manifest = build_manifest(ctx.cfg, cache_dir=Path(runtime.state()["cache_dir"]) / "data")
    for p in manifest.problems.items:
        if p.severity == "fatal":
            ctx.echo("  " + p.format())
    manifest.problems.raise_if_fatal()
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
    from benchmarks.data.split import make_split, save_split, split_counts

    by = ctx.cfg.split.stratify_by or ctx.cfg.labels.truth
    split = make_split(ctx.manifest, ctx.cfg.split, by)
    save_split(split, ctx.run_dir / "split.json", ctx.cfg.split, by)
    ctx._split = split
    ctx.echo(f"  {split_counts(split)} (seed {ctx.cfg.split.seed}, stratified by `{by}`)")


def stage_train_classifier(ctx: Context) -> None:
    import classifier

    source = ctx.cfg.labels.classifier
    ccfg = ctx.cfg.classifier_config()
    tr, va = (_covered(ctx, source, ctx.split[s]) for s in ("train", "val"))
    dropped = len(ctx.split["train"]) + len(ctx.split["val"]) - len(tr) - len(va)
    if dropped:
        ctx.echo(f"  {dropped} train/val images have no `{source}` labels: left out of classifier training")
    out = ctx.run_dir / "classifier"
    resume = (out / "checkpoints").exists()
    with track_peak_memory(out):  # measured here, the same way for both pipelines
        classifier.train(
            ctx.paths(tr),
            ctx.manifest.targets(source, tr),
            ctx.paths(va),
            ctx.manifest.targets(source, va),
            ctx.manifest.classes,
            ccfg,
            out,
            tracking_uri=ctx.mlflow_runs.get("tracking_uri"),
            mlflow_run_id=ctx.mlflow_runs.get("classifier"),
            resume=resume,
            progress=True,
        )


def stage_train_detector(ctx: Context) -> None:
    import detector
    from classifier.thresholds import tune_thresholds
    from detector.dataset import ViewImage

    source = ctx.cfg.labels.detector
    if not source:
        from benchmarks.config import ConfigError

        raise ConfigError(
            f"{ctx.cfg.config_file}: `labels.detector` names no source, and no source has boxes; "
            "add a box source (cvat_xml, cvat_coco, cvat_yolo, yolo_dataset) and name it there"
        )
    dcfg = ctx.cfg.detector_config()
    splits = {}
    for s in ("train", "val", "test"):
        ids = _covered(ctx, source, ctx.split[s])
        splits[s] = [
            ViewImage(id=i, path=Path(r.path), width=r.width, height=r.height, boxes=ctx.manifest.boxes(source, i))
            for i in ids
            for r in [ctx.manifest.get(i)]
        ]
    view = detector.build_dataset_view(ctx.run_dir / "detector_data", ctx.manifest.classes, splits)
    with track_peak_memory(ctx.run_dir / "detector"):
        artifact = detector.train(view, dcfg, ctx.run_dir / "detector", progress=True)
    # thresholds tuned on val with the detector's own labels, as the classifier's are with its own
    pred = detector.load(artifact, device="cpu")
    va = [v.id for v in splits["val"]]
    th = tune_thresholds(pred.predict_scores(ctx.paths(va)), ctx.manifest.targets(source, va))
    pred.save_thresholds(th)


def _load(model: str, artifact: Path, device: str = "cpu"):
    import importlib

    return importlib.import_module(model).load(artifact, device=device)


def stage_evaluate(ctx: Context) -> None:
    from benchmarks.evaluate import evaluate

    truth = ctx.cfg.labels.truth
    test = _covered(ctx, truth, ctx.split["test"])
    targets = ctx.manifest.targets(truth, test)
    out = {"truth": truth, "test_ids": test}
    for model in MODELS:
        pred = ctx.predictor(model)
        scores = pred.predict_scores(ctx.paths(test))
        acc = evaluate(
            scores,
            targets,
            np.asarray(pred.thresholds),
            ctx.manifest.classes,
            n_boot=ctx.cfg.metrics.bootstrap,
            seed=ctx.cfg.metrics.seed,
            ids=test,
        )
        entry = {"accuracy": acc, "box": None}
        if model == "detector":
            from detector import box_metrics

            try:
                entry["box"] = box_metrics(pred, ctx.run_dir / "detector_data", split="test")
            except Exception as exc:  # in the harness a failure is data (STYLE 9): the image-level scores stand
                entry["box"] = {"map50": None, "map50_95": None, "error": f"{type(exc).__name__}: {exc}"}
        out[model] = entry
        lo, hi = acc.get("macro_ap_ci95") or (None, None)
        box = (entry["box"] or {}).get("map50") if entry["box"] else None
        ctx.echo(
            f"  {model}: macro AP {_f3(acc.get('macro_ap'))} [95% CI {_f3(lo)}, {_f3(hi)}] "
            f"(baseline {_f3((acc.get('baseline') or {}).get('macro_ap'))})"
            + (f", box mAP50 {_f3(box)}" if model == "detector" else "")
        )
    ctx.write_json("eval.json", out)


def stage_size(ctx: Context) -> None:
    from benchmarks.measure.size import model_size

    out = {}
    for model in MODELS:
        pred = ctx.predictor(model)
        out[model] = model_size(pred.model, pred.example_input(1), ctx.run_dir / "size" / model)
    ctx.write_json("size.json", out)


def stage_latency(ctx: Context) -> None:
    from benchmarks.measure.latency import measure_predictor

    lc = ctx.cfg.latency
    test = ctx.split["test"] or ctx.split["val"]
    encoded = [Path(p).read_bytes() for p in ctx.paths(test[:LATENCY_IMAGES])]
    # kept in the run folder: `clsdet latency RUN_DIR` on another machine times the same encoded bytes
    img_dir = ctx.run_dir / "latency_images"
    img_dir.mkdir(exist_ok=True)
    for i, (image_id, data) in enumerate(zip(test, encoded)):
        (img_dir / f"{i:03d}_{image_id}{Path(ctx.manifest.get(image_id).path).suffix.lower()}").write_bytes(data)
    records = []
    for model in MODELS:
        artifact = ctx.run_dir / model
        recs = measure_predictor(
            ctx.predictor(model),
            model,
            lc.devices,
            lc.batch_sizes,
            lc.scopes,
            encoded,
            warmup=lc.warmup,
            iters=lc.iters,
            min_seconds=lc.min_seconds,
            threads=lc.threads,
            load_on=lambda d, m=model, a=artifact: _load(m, a, d),
        )
        records += recs
        for r in recs:
            if r["status"] == "ok":
                ctx.echo(f"  {model} {r['device']} b{r['batch_size']} {r['scope']}: p50 {r['latency_ms_p50']:.2f} ms")
            else:
                ctx.echo(
                    f"  {model} {r['device']} b{r['batch_size']} {r['scope']}: {r['status']} {r.get('error') or ''}"
                )
    ctx.write_json("latency.json", records)


def stage_labeling(ctx: Context) -> None:
    from benchmarks.labeling import LabelingRates, labeling_cost

    m = ctx.manifest
    cls_src, det_src = ctx.cfg.labels.classifier, ctx.cfg.labels.detector
    n_labels = int(np.nansum(m.targets(cls_src) == 1)) if cls_src else 0
    n_boxes = sum(len(r.boxes.get(det_src, [])) for r in m.images) if det_src else 0
    lab = ctx.cfg.labeling
    rates = LabelingRates(**lab.rates) if lab.rates else None
    cost = labeling_cost(
        len(m),
        n_labels,
        n_boxes,
        ctx.cfg.resolve(lab.log_dir) if lab.log_dir else REPO / "labeling_logs",
        rates,
        dataset=lab.dataset or ctx.cfg.name,
    )
    ctx.write_json("labeling.json", cost)
    for method, c in cost.items():
        ctx.echo(f"  {method}: {c['hours']:.2f} h ({c['source']})")


def stage_results(ctx: Context) -> None:
    from benchmarks.assemble import assemble_results
    from benchmarks.record import validate, write_results

    results = assemble_results(ctx)
    for problem in validate(results):  # a gap in the record is reported, never hidden
        ctx.echo(f"  results.json: {problem}")
    write_results(ctx.run_dir, results)


def stage_report(ctx: Context) -> None:
    from benchmarks.report import render_reports

    paths = render_reports(ctx.run_dir)
    for kind, p in paths.items():
        ctx.echo(f"  {kind}: {p}")


def stage_mlflow(ctx: Context) -> None:
    from benchmarks import tracking as T  # noqa: N812

    T.log_results(ctx.run_dir)
