"""Assemble `results.json` (schema: benchmarks/record.py) from the stage outputs in a run folder."""

from __future__ import annotations

from pathlib import Path

from benchmarks.data.roles import counted_sources
from benchmarks.harness.plan import plan_record
from benchmarks.measure.machine import commit_info, machine_info
from benchmarks.paths import REPO
from benchmarks.record import SCHEMA_VERSION, read_json, respell_methods, utc_now


def _history(artifact: Path) -> list[dict]:
    # deferred: pandas is heavy
    import pandas as pd

    f = artifact / "history.csv"
    if not f.exists():
        return []
    df = pd.read_csv(f)
    df = df.astype(object).where(df.notna(), None)
    return df.to_dict(orient="records")


def assemble_results(ctx) -> dict:
    # deferred: benchmarks.curve.verdict imports numpy
    from benchmarks.curve.verdict import with_warnings

    # deferred: benchmarks.curve.warnings imports numpy
    from benchmarks.curve.warnings import after_training, config_candidates, run_object_sizes

    # deferred: benchmarks.data.build imports numpy
    from benchmarks.data.build import disagreements

    # deferred: benchmarks.data.split imports numpy
    from benchmarks.data.split import split_counts

    cfg, run_dir, m = ctx.cfg, ctx.run_dir, ctx.manifest
    ev = read_json(run_dir / "eval.json", {})
    size = read_json(run_dir / "size.json", {})
    latency = read_json(run_dir / "latency.json", [])
    cls_src, det_src = counted_sources(cfg)
    disagreement = None
    if cls_src and det_src and cls_src != det_src:
        disagreement = disagreements(m, cls_src, det_src)
    models = {}
    evm = ev.get("models") or {}
    for c in cfg.candidates:
        artifact = ctx.headline_artifact(c.name)
        training = read_json(artifact / "training.json", {})
        training["history"] = _history(artifact)
        training["recipe"] = read_json(artifact / "recipe.json")
        mcfg = read_json(artifact / "config.json", {}) or c.config.to_dict()
        models[c.name] = {
            "name": c.name,
            "pipeline": c.pipeline,
            "labeling_method": c.labeling_method,
            "architecture": mcfg.get("backbone") or mcfg.get("model"),
            "artifact": artifact.relative_to(run_dir).as_posix(),
            "config": mcfg,
            "accuracy": (evm.get(c.name) or {}).get("accuracy"),
            "box": (evm.get(c.name) or {}).get("box"),
            "training": training,
            "size": size.get(c.name),
            "latency": [r for r in latency if r.get("model") == c.name],
        }
    split = ctx.split
    cands = config_candidates(cfg)
    results = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "created_utc": utc_now(),
        "name": cfg.name,
        "profile": cfg.profile,
        "machine": machine_info(),
        "commit": commit_info(REPO),
        "config": cfg.to_dict(),
        "data": {
            "n_images": len(m),
            "classes": m.classes,
            "sources": {
                k: {"reader": v.reader, "kind": v.kind, "n_rows": v.n_rows, "vocabulary": v.vocabulary}
                for k, v in m.sources.items()
            },
            "problems": m.problems.counts(),
            "disagreement": disagreement,
            "truth": cfg.labels.truth,
            # each box's median size at each candidate's input size (data/sizes.py): the small_objects warning
            "object_sizes": run_object_sizes(cands, m),
        },
        "split": {
            "seed": cfg.split.seed,
            "ratios": {"train": cfg.split.train, "val": cfg.split.val, "test": cfg.split.test},
            "counts": split_counts(split),
            "file": "split.json",
            "test_ids": ev.get("test_ids", split["test"]),
        },
        "models": models,
        "labeling": read_json(run_dir / "labeling.json", {}),
        "curve": respell_methods(read_json(run_dir / "curve.json")),  # a run folder from before one spelling
        "stages": ctx.log.stages,
        "plan": plan_record(run_dir, ctx.log.stages),  # the run plan with estimate against actual per job
        "executor": read_json(run_dir / "executor.json"),  # which executor and worker processes ran the training jobs
        "errors": [r for r in latency if r.get("status") not in ("ok", None)],
    }
    # settings that decide the answer (curve/warnings.py), in the record and in the verdict that opens the report
    results["warnings"] = after_training(results)
    if isinstance(results["curve"], dict) and results["curve"].get("verdict"):
        results["curve"]["verdict"] = with_warnings(results["curve"]["verdict"], results["warnings"])
    return results
