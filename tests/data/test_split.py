from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from benchmarks.config import SplitConfig
from benchmarks.data.manifest import ImageRecord, Manifest, SourceInfo
from benchmarks.data.problems import DataError
from benchmarks.data.split import check_split, load_split, make_split, save_split

CLASSES = ["a", "b", "c", "rare"]


def _manifest(n: int = 200, seed: int = 0, split_hints: list[str] | None = None) -> Manifest:
    rng = np.random.default_rng(seed)
    prevalence = np.array([0.5, 0.3, 0.2, 0.06])
    y = rng.random((n, len(CLASSES))) < prevalence
    images = []
    for i in range(n):
        sha = hashlib.sha256(str(i).encode()).hexdigest()
        images.append(
            ImageRecord(
                id=sha[:16],
                sha256=sha,
                path=f"/data/img_{i}.jpg",
                width=10,
                height=10,
                paths={"src": [f"/data/img_{i}.jpg"]},
                labels={"src": {c: int(y[i, j]) for j, c in enumerate(CLASSES)}},
                split_hint=split_hints[i] if split_hints else None,
            )
        )
    return Manifest(CLASSES, {"src": SourceInfo("folders", "labels", "/data", CLASSES, n)}, images)


def test_split_is_deterministic_disjoint_and_complete():
    m = _manifest()
    cfg = SplitConfig(train=0.7, val=0.15, test=0.15, seed=3)
    a, b = make_split(m, cfg, "src"), make_split(m, cfg, "src")
    assert a == b
    ids = a["train"] + a["val"] + a["test"]
    assert sorted(ids) == sorted(m.ids) and len(set(ids)) == len(ids)
    assert [len(a[s]) for s in ("train", "val", "test")] == [140, 30, 30]
    other = make_split(m, SplitConfig(seed=4), "src")
    assert other["test"] != a["test"]


def test_split_is_stratified_for_a_rare_class():
    m = _manifest(n=400, seed=1)
    split = make_split(m, SplitConfig(seed=0), "src")
    y = m.targets("src")
    overall = y.mean(axis=0)
    for s in ("train", "val", "test"):
        idx = [m.ids.index(i) for i in split[s]]
        part = y[idx].mean(axis=0)
        # iterative stratification keeps each class's share within a couple of points of the whole set's
        assert np.all(np.abs(part - overall) < 0.03), (s, part, overall)
        assert y[idx, 3].sum() >= 1  # the rare class reaches every split


def test_duplicate_across_splits_stops_with_file_names(tmp_path):
    m = _manifest(n=20)
    split = make_split(m, SplitConfig(seed=0), "src")
    leaked = dict(split)
    leaked["test"] = split["test"] + [split["train"][0]]
    with pytest.raises(DataError, match=r"img_\d+\.jpg in train and test"):
        check_split(leaked, m)
    path = tmp_path / "split.json"
    save_split(leaked, path, SplitConfig(), "src")
    with pytest.raises(DataError, match="more than one split"):
        load_split(path, m)


def test_saved_split_round_trips_and_records_its_method(tmp_path):
    m = _manifest(n=50)
    split = make_split(m, SplitConfig(seed=0), "src")
    path = save_split(split, tmp_path / "split.json", SplitConfig(seed=0), "src")
    doc = json.loads(path.read_text())
    assert doc["seed"] == 0 and doc["stratify_by"] == "src" and doc["counts"]["test"] == len(split["test"])
    assert load_split(path, m) == split


def test_source_mode_uses_the_sources_split_and_refuses_a_leak():
    hints = ["train"] * 10 + ["val"] * 5 + ["test"] * 5
    m = _manifest(n=20, split_hints=hints)
    split = make_split(m, SplitConfig(mode="source"), "src")
    assert [len(split[s]) for s in ("train", "val", "test")] == [10, 5, 5]
    hints[0] = "train,val"  # the same bytes sat in the source's train and val folders
    with pytest.raises(DataError, match="more than one split"):
        make_split(_manifest(n=20, split_hints=hints), SplitConfig(mode="source"), "src")
