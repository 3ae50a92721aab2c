"""A finished run's trained candidates (per pipeline), their predictors, and the test images with their truth:
what the report's predictions figure, the app and `clsdet predict` read from a run folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.data.manifest import Manifest
from benchmarks.predictions import PredictionError
from benchmarks.record import model_pipeline
from benchmarks.registry import pipelines as registry


def candidates(results: dict) -> dict[str, list[str]]:
    """pipeline -> candidate names in record order, for candidates with a trained artifact."""
    out: dict[str, list[str]] = {}
    for name, entry in (results.get("models") or {}).items():
        if isinstance(entry, dict) and entry.get("artifact"):
            out.setdefault(model_pipeline(name, entry), []).append(name)
    return out


def load_predictor(run_dir: str | Path, results: dict, name: str, device: str = "cpu"):
    entry = (results.get("models") or {}).get(name)
    if not isinstance(entry, dict) or not entry.get("artifact"):
        raise PredictionError(
            f"{Path(run_dir) / 'results.json'}: no trained candidate {name!r} (models.{name}.artifact)"
        )
    artifact = Path(run_dir) / entry["artifact"]
    if not artifact.is_dir():
        raise PredictionError(
            f"{artifact} is missing: the run folder is incomplete; re-run `clsdet bench ... --resume`"
        )
    return registry.load_predictor(model_pipeline(name, entry), artifact, device)


@dataclass
class TestSet:
    ids: list[str]
    paths: list[str]
    truth: np.ndarray  # (N, C) 1 / 0 / NaN (the truth source cannot speak about that class)
    classes: list[str]
    truth_source: str
    skipped: list[str] = field(default_factory=list)  # "id: reason" for test images that cannot be shown


def test_set(run_dir: str | Path, results: dict) -> TestSet:
    """The run's test images (results.split.test_ids) with their truth labels, from the run's manifest.json."""
    run_dir = Path(run_dir)
    classes = list((results.get("data") or {}).get("classes") or [])
    truth_source = (results.get("data") or {}).get("truth") or ""
    ids = list((results.get("split") or {}).get("test_ids") or [])
    mfile = run_dir / "manifest.json"
    if not mfile.is_file() or not ids:
        why = f"{mfile} is missing" if not mfile.is_file() else "results.json lists no split.test_ids"
        return TestSet([], [], np.zeros((0, len(classes)), np.float32), classes, truth_source, [why])
    manifest = Manifest.load(mfile)
    keep, paths, skipped = [], [], []
    for i in ids:
        try:
            path = manifest.get(i).path
        except KeyError:
            skipped.append(f"{i}: not in {mfile.name}")
            continue
        if not Path(path).is_file():
            skipped.append(f"{i}: {path} no longer exists")
            continue
        keep.append(i)
        paths.append(path)
    truth = (
        manifest.targets(truth_source, keep)
        if truth_source in manifest.sources
        else np.full((len(keep), len(manifest.classes)), np.nan, np.float32)
    )
    return TestSet(keep, paths, truth, list(manifest.classes), truth_source, skipped)
