"""Seeded, multi-label stratified train/val/test split, computed once and written into the run (`split.json`).

Stratification uses iterative stratification (Sechidis et al., ECML-PKDD 2011; Szymanski & Kajdanowicz, 2017) from
the `iterative-stratification` package, in two steps: test off the whole set, then val off the rest. NA counts as
0 for stratification only. Both pipelines read the same file; a content hash in two splits stops the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.config import SplitConfig
from benchmarks.data.manifest import Manifest
from benchmarks.data.problems import DataError

SPLITS = ("train", "val", "test")


def _stratified(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, part) with `part` ~ fraction of rows, label proportions kept."""
    n = len(y)
    n_part = int(round(fraction * n))
    if n_part == 0:
        return np.arange(n), np.array([], dtype=int)
    if n_part >= n:
        return np.array([], dtype=int), np.arange(n)
    # deferred: iterstrat is heavy
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_part, random_state=seed)
    rest, part = next(splitter.split(np.zeros(n), y))
    return np.sort(rest), np.sort(part)


def make_split(manifest: Manifest, cfg: SplitConfig, stratify_by: str) -> dict[str, list[str]]:
    """{'train': [ids], 'val': [ids], 'test': [ids]}, deterministic for a seed and a manifest."""
    if cfg.mode == "source":
        return _source_split(manifest)
    ids = manifest.ids
    if len(ids) < 3:
        raise DataError(f"only {len(ids)} usable image(s): a train/val/test split needs at least 3")
    y = np.nan_to_num(manifest.targets(stratify_by), nan=0.0).astype(int)
    rest, test = _stratified(y, cfg.test, cfg.seed)
    val_fraction = cfg.val / (cfg.train + cfg.val) if (cfg.train + cfg.val) > 0 else 0.0
    train_local, val_local = _stratified(y[rest], val_fraction, cfg.seed + 1)
    out = {
        "train": [ids[i] for i in rest[train_local]],
        "val": [ids[i] for i in rest[val_local]],
        "test": [ids[i] for i in test],
    }
    check_split(out, manifest)
    return out


def _source_split(manifest: Manifest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    leaks = []
    for rec in manifest.images:
        hints = (rec.split_hint or "").split(",")
        if len(hints) > 1:
            leaks.append(f"{rec.sha256[:12]}: {', '.join(sum(rec.paths.values(), []))} (splits {rec.split_hint})")
            continue
        hint = {"valid": "val", "validation": "val"}.get(hints[0], hints[0])
        if hint not in SPLITS:
            raise DataError(
                f"split.mode is 'source' but {rec.path} has no train/val/test assignment from any source "
                f"(got {rec.split_hint!r}); fix: use split.mode: stratified, or a source that assigns splits"
            )
        out[hint].append(rec.id)
    if leaks:
        raise DataError("the same image (by content hash) is in more than one split:\n  " + "\n  ".join(leaks))
    if not out["val"] or not out["test"]:
        raise DataError(
            f"split.mode 'source' gave train/val/test = {[len(out[s]) for s in SPLITS]}; both pipelines need val "
            "(thresholds) and test images: add them to the source, or use split.mode: stratified"
        )
    return out


def check_split(split: dict[str, list[str]], manifest: Manifest) -> None:
    """Every split id is in the manifest, and no content hash sits in two splits (names the files if one does)."""
    where: dict[str, str] = {}
    leaks = []
    known = set(manifest.ids)
    for name in SPLITS:
        for image_id in split.get(name, []):
            if image_id not in known:
                raise DataError(
                    f"split lists image {image_id}, which is not in the manifest: the data changed; "
                    "fix: re-run without --resume (or delete the run folder)"
                )
            if image_id in where and where[image_id] != name:
                paths = ", ".join(sum(manifest.get(image_id).paths.values(), []))
                leaks.append(f"{paths} in {where[image_id]} and {name}")
            where[image_id] = name
    if leaks:
        raise DataError("the same image (by content hash) is in more than one split:\n  " + "\n  ".join(leaks))


def split_counts(split: dict[str, list[str]]) -> dict[str, int]:
    return {s: len(split.get(s, [])) for s in SPLITS}


def save_split(split: dict[str, list[str]], path: Path, cfg: SplitConfig, stratify_by: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "seed": cfg.seed,
        "mode": cfg.mode,
        "stratify_by": stratify_by,
        "ratios": {"train": cfg.train, "val": cfg.val, "test": cfg.test},
        "counts": split_counts(split),
        **split,
    }
    path.write_text(json.dumps(doc, indent=1))
    return path


def load_split(path: Path, manifest: Manifest) -> dict[str, list[str]]:
    doc = json.loads(Path(path).read_text())
    split = {s: list(doc.get(s, [])) for s in SPLITS}
    check_split(split, manifest)
    return split
