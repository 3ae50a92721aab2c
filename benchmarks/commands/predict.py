"""`clsdet predict RUN_DIR IMAGE_OR_FOLDER...`: each candidate's labels and scores per image, the command-line twin
of the app's Predict page (benchmarks/predictions/ scores for both; benchmarks/app/core.py finds the run and the
images)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.commands.args import device
from benchmarks.measure.devices import check_present
from benchmarks.predictions import PredictionError


def register(sub) -> None:
    p = sub.add_parser("predict", help="label images with a finished run's models (every candidate by default)")
    p.add_argument("run_dir", help="a run folder (results/runs/<run-id>)")
    p.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files, or folders searched recursively")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    p.add_argument(
        "--model",
        action="append",
        metavar="NAME_OR_PIPELINE",
        help="a candidate name or a pipeline (e.g. classifier, detector); repeatable (default: every candidate)",
    )
    p.add_argument(
        "--threshold", type=float, help="one decision threshold for every class (default: the tuned per-class ones)"
    )
    p.add_argument("--device", default="cpu", type=device, help="auto, cpu, cuda, cuda:N or mps (default: cpu)")
    p.set_defaults(func=predict_cmd)


def predict(run_dir: Path, images: list[str], models: list[str] | None, threshold: float | None, device: str) -> dict:
    """The JSON document `--json` prints: per image and candidate the labels, all scores, and the detector's boxes
    at or above its thresholds; unreadable inputs are listed under `skipped` with the reason."""
    # deferred: numpy is heavy, and app.core and predictions import it; the CLI loads this module at start-up
    import numpy as np

    from benchmarks.app import core
    from benchmarks.predictions.run import candidates, load_predictor
    from benchmarks.predictions.scoring import predict_encoded
    from benchmarks.record import model_pipeline

    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise core.AppError(f"--threshold {threshold}: scores are in [0, 1]; give a value between 0 and 1")
    results = core.load_run(run_dir)
    names = [n for ns in candidates(results).values() for n in ns]
    if models:
        names = list(dict.fromkeys(n for m in models for n in core.resolve_candidate(results, m)))
    if not names:
        raise core.AppError(f"{run_dir / 'results.json'}: no trained model in this run (models.*.artifact)")
    files, skipped = core.image_files(images)
    if device == "auto":
        device = core.pick_device()
    else:
        check_present(device)  # before any model loads: the error lists the devices present
    preds = {n: load_predictor(run_dir, results, n, device) for n in names}
    doc = {"run_dir": str(run_dir), "device": device, "models": {}, "images": [], "skipped": skipped}
    for n, pred in preds.items():
        th = pred.thresholds if threshold is None else np.full(len(pred.classes), threshold, np.float32)
        source = "tuned on val" if threshold is None else "--threshold"
        pipeline = model_pipeline(n, results["models"][n])
        doc["models"][n] = {
            "pipeline": pipeline,
            "thresholds": {c: float(t) for c, t in zip(pred.classes, th)},  # unrounded: labels follow from them
            "thresholds_source": source,
        }
    for f in files:
        try:
            data = f.read_bytes()
            core.decode_upload(data, str(f))  # one clear reason for a file that is not an image
        except (OSError, PredictionError) as exc:
            skipped.append(str(exc) if isinstance(exc, PredictionError) else f"{f}: {exc}")
            continue
        entry = {"image": str(f), "models": {}}
        for n, pred in preds.items():
            meta = doc["models"][n]
            p = predict_encoded(pred, meta["pipeline"], str(f), data)
            th = np.array([meta["thresholds"][c] for c in p.classes], np.float32)
            out = {
                "labels": p.labels(th),
                "scores": {c: float(s) for c, s in zip(p.classes, p.scores)},
            }
            if p.boxes is not None:
                keep = [b for b in p.boxes if b[4] >= th[int(b[5])]]
                out["boxes"] = [
                    {
                        "class": p.classes[int(b[5])],
                        "conf": float(b[4]),
                        "xyxy": [round(float(v), 1) for v in b[:4]],
                    }
                    for b in keep
                ]
            entry["models"][n] = out
        doc["images"].append(entry)
    return doc


def table(doc: dict):
    """pandas DataFrame: one row per image and model: labels, then every class's score."""
    # deferred: pandas is heavy
    import pandas as pd

    rows = []
    for entry in doc["images"]:
        for n, out in entry["models"].items():
            row = {"image": entry["image"], "model": n, "labels": ", ".join(out["labels"]) or "-"}
            row.update({c: f"{s:.3f}" for c, s in out["scores"].items()})
            rows.append(row)
    return pd.DataFrame(rows)


def predict_cmd(args) -> int:
    run_dir = Path(args.run_dir)
    doc = predict(run_dir, args.images, args.model, args.threshold, args.device)
    if args.json:
        print(json.dumps(doc, indent=1))
    else:
        # deferred: pandas is heavy
        import pandas as pd

        with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 60):
            print(table(doc).to_string(index=False) if doc["images"] else "(no images predicted)")
        for n, meta in doc["models"].items():
            pairs = ", ".join(f"{c} {t:.3f}" for c, t in meta["thresholds"].items())
            print(f"{n} thresholds ({meta['thresholds_source']}): {pairs}")
    for reason in doc["skipped"]:
        print(f"skipped: {reason}", file=sys.stderr)
    if doc["skipped"]:
        print(f"{len(doc['skipped'])} input(s) skipped, {len(doc['images'])} predicted", file=sys.stderr)
    if not doc["images"]:
        from benchmarks.app.core import AppError  # deferred: benchmarks.app.core imports numpy

        raise AppError(f"no image could be read from {args.images}; give image files (JPEG, PNG, ...) or folders")
    return 0
