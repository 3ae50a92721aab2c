"""The run's manifest as an `mlflow.data` dataset input of the parent run: the MLflow UI lists it under the run's
Datasets, with the manifest file as its source and a digest of the file, so two runs on the same images show the same
digest. One row per image: id, sha256, path, size, its split, its box count and its truth labels (1/0/NA)."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

MANIFEST, SPLIT = "manifest.json", "split.json"
CONTEXT = "benchmark"  # the dataset input's `mlflow.data.context` tag: all splits, each row carrying its own
SPLITS = ("train", "val", "test")


def manifest_digest(path: Path) -> str:
    """16 hex digits of the manifest file's sha256 (MLflow stores at most 36 characters)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def manifest_frame(manifest: dict, split: dict, truth: str | None):
    """One row per image of a manifest document (data/manifest.py's to_dict), with its split and truth labels."""
    # deferred: pandas is heavy
    import pandas as pd

    where = {i: name for name in SPLITS for i in (split.get(name) or [])}
    classes = list(manifest.get("classes") or [])
    rows = []
    for img in manifest.get("images") or []:
        labels = ((img.get("labels") or {}).get(truth) or {}) if truth else {}
        boxes = (img.get("boxes") or {}).get(truth) if truth else None
        row = {k: img.get(k) for k in ("id", "sha256", "path", "width", "height")}
        row["split"] = where.get(img.get("id"), "unused")
        row["n_boxes"] = len(boxes) if isinstance(boxes, list) else None
        row.update({f"truth/{c}": labels.get(c) for c in classes})  # None: the truth source cannot speak about it
        rows.append(row)
    return pd.DataFrame(rows)


def log_manifest(client, run_id: str, run_dir: Path, results: dict) -> bool:
    """Log the run folder's manifest as a dataset input of `run_id`; False when the folder has none."""
    f = Path(run_dir) / MANIFEST
    if not f.is_file():
        return False
    # deferred: mlflow is heavy
    import mlflow.data

    # deferred: mlflow is heavy
    from mlflow.entities import DatasetInput, InputTag

    # deferred: mlflow is heavy
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    split_file = Path(run_dir) / SPLIT
    split = json.loads(split_file.read_text()) if split_file.is_file() else {}
    truth = (results.get("data") or {}).get("truth")
    df = manifest_frame(json.loads(f.read_text()), split, truth)
    name = f"{results.get('name') or 'clsdet'}-manifest"
    with warnings.catch_warnings():
        # MLflow warns that a local path fits two registered sources (both local-artifact ones) and that integer
        # columns cannot hold NA in a model signature: neither applies to a dataset record
        warnings.simplefilter("ignore", UserWarning)
        ds = mlflow.data.from_pandas(df, source=str(f.resolve()), name=name, digest=manifest_digest(f))
        entity = ds._to_mlflow_entity()  # the schema is inferred here
    client.log_inputs(run_id, datasets=[DatasetInput(entity, [InputTag(MLFLOW_DATASET_CONTEXT, CONTEXT)])])
    return True
