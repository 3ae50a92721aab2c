"""build_manifest across readers: content-hash identity, corrupt images, sources that disagree, nothing written."""

from __future__ import annotations

import hashlib
import os
import shutil

import numpy as np
import pytest

from benchmarks.data.build import build_manifest, disagreements
from benchmarks.data.manifest import Manifest
from benchmarks.data.problems import DataError
from benchmarks.data.sources import get_source, list_readers


def test_images_are_identified_by_content_hash(tmp_path, make_image, make_config, record):
    a = make_image(tmp_path / "sorted" / "cat" / "a.png")
    (tmp_path / "sorted" / "cat" / "sub").mkdir()
    shutil.copy(a, tmp_path / "sorted" / "cat" / "sub" / "renamed.png")  # same bytes, other name: one image
    make_image(tmp_path / "sorted" / "cat" / "b.png", color=(1, 2, 3))
    make_image(tmp_path / "sorted" / "cat" / "c.png", color=(1, 2, 4))  # one channel off: another image
    m = build_manifest(make_config(["cat"], {"f": {"reader": "folders", "path": "sorted"}}))

    assert len(m) == 3
    sha = hashlib.sha256(a.read_bytes()).hexdigest()
    rec = record(m, "a.png")
    assert (rec.sha256, rec.id) == (sha, sha[:16])
    assert record(m, "renamed.png") is rec and len(rec.paths["f"]) == 2
    assert (rec.width, rec.height) == (16, 12)
    assert m.get(rec.id) is rec


def test_corrupt_and_truncated_images_are_skipped_and_counted(tmp_path, make_image, make_config):
    make_image(tmp_path / "sorted" / "cat" / "good.png")
    big = make_image(tmp_path / "big.png", size=(64, 64))
    data = big.read_bytes()
    (tmp_path / "sorted" / "cat" / "truncated.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "sorted" / "cat" / "text.jpg").write_text("not a jpeg at all")
    m = build_manifest(make_config(["cat"], {"f": {"reader": "folders", "path": "sorted"}}))

    assert len(m) == 1
    bad = sorted(p.file.rsplit("/", 1)[-1] for p in m.problems.items if p.kind == "corrupt_image")
    assert bad == ["text.jpg", "truncated.png"]
    assert all(p.severity == "skip" for p in m.problems.items)


def test_two_sources_that_disagree_are_reported(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "sorted" / "cat" / "a.png")
    make_image(tmp_path / "sorted" / "dog" / "b.png")
    (tmp_path / "labels.txt").write_text("# image cat dog\ncat/a.png 1 0\ndog/b.png 1 NA\n")
    sources = {
        "f": {"reader": "folders", "path": "sorted"},
        "t": {"reader": "labels_txt", "path": "labels.txt", "images": "sorted"},
    }
    m = build_manifest(make_config(["cat", "dog"], sources))

    assert len(m) == 2
    (p,) = [p for p in m.problems.items if p.kind == "sources_disagree"]
    assert p.severity == "warning" and p.file.endswith("b.png")
    assert "cat: f=0 t=1" in p.message  # dog is NA in t: not a disagreement
    d = disagreements(m, "f", "t")
    assert (d["images_compared"], d["images_differ"]) == (2, 1)
    assert d["per_class"]["cat"] == {"compared": 2, "differ": 1}
    assert d["per_class"]["dog"] == {"compared": 1, "differ": 0}
    assert record(m, "b.png").labels == {"f": {"cat": 0, "dog": 1}, "t": {"cat": 1}}


def _all_readers_tree(tmp_path, make_image):
    """One tree every file reader reads from, so one snapshot covers all of them."""
    src = tmp_path / "src"
    a = make_image(src / "sorted" / "cat" / "a.png")
    make_image(src / "sorted" / "dog" / "b.png")
    (src / "images").mkdir()
    shutil.copy(a, src / "images" / "a.png")
    (src / "annotations").mkdir()
    (src / "annotations" / "cat.txt").write_text("a\n")
    (src / "labels.txt").write_text("# image cat dog\nimages/a.png 1 0\n")
    y = src / "yolo"
    make_image(y / "images" / "train" / "y.png", size=(40, 20))
    (y / "labels" / "train").mkdir(parents=True)
    (y / "labels" / "train" / "y.txt").write_text("1 0.5 0.5 1.2 0.5\n")  # clipped: a problem, still no write
    (y / "data.yaml").write_text("train: images/train\nnames: [cat, dog]\n")
    return src, {
        "f": {"reader": "folders", "path": "src/sorted", "images": "src/images"},
        "l": {"reader": "class_lists", "path": "src"},
        "t": {"reader": "labels_txt", "path": "src/labels.txt"},
        "y": {"reader": "yolo_dataset", "path": "src/yolo/data.yaml"},
    }


def test_nothing_is_written_into_the_source_folders(tmp_path, make_image, make_config, snapshot):
    src, sources = _all_readers_tree(tmp_path, make_image)
    cfg = make_config(["cat", "dog"], sources)
    before = snapshot(src)
    m = build_manifest(cfg, cache_dir=tmp_path / "cache")
    build_manifest(cfg, cache_dir=tmp_path / "cache")  # second run reads the cache
    assert snapshot(src) == before
    assert m.problems.fatal == [] and set(m.sources) == {"f", "l", "t", "y"}
    assert (tmp_path / "cache" / "image_info.json").is_file()


def test_cached_sizes_and_hashes_are_reused_and_invalidated(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "sorted" / "cat" / "a.png")
    cfg = make_config(["cat"], {"f": {"reader": "folders", "path": "sorted"}})
    first = build_manifest(cfg, cache_dir=tmp_path / "cache")
    a = make_image(tmp_path / "sorted" / "cat" / "a.png", size=(20, 10))  # edited in place
    st = a.stat()  # a real edit comes seconds later; the kernel's mtime clock can tick coarser than this test
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    second = build_manifest(cfg, cache_dir=tmp_path / "cache")
    assert record(second, "a.png").sha256 != record(first, "a.png").sha256
    assert (record(second, "a.png").width, record(second, "a.png").height) == (20, 10)


def test_a_class_a_source_cannot_speak_about_is_na(tmp_path, make_image, make_config):
    make_image(tmp_path / "sorted" / "cat" / "a.png")
    m = build_manifest(make_config(["cat", "bird"], {"f": {"reader": "folders", "path": "sorted"}}))
    t = m.targets("f")
    assert t[0, 0] == 1 and np.isnan(t[0, 1])
    table = m.class_table().set_index("class")
    assert (table.loc["cat", "positives"], table.loc["bird", "na"]) == (1, 1)


def test_manifest_round_trip(tmp_path, make_image, make_config):
    src, sources = _all_readers_tree(tmp_path, make_image)
    m = build_manifest(make_config(["cat", "dog"], sources))
    back = Manifest.load(m.save(tmp_path / "out" / "manifest.json"))
    assert back.ids == m.ids and back.classes == m.classes
    for s in m.sources:
        np.testing.assert_array_equal(back.targets(s), m.targets(s))
    assert back.problems.counts() == m.problems.counts() == {"box_clipped": 1}
    y_id = next(r.id for r in m.images if "y" in r.boxes)
    assert back.boxes("y", y_id) == m.boxes("y", y_id) == [(1, 0.0, 5.0, 40.0, 15.0)]


def test_missing_source_path_and_unknown_reader(tmp_path, make_config):
    m = build_manifest(make_config(["cat"], {"f": {"reader": "folders", "path": "nowhere"}}))
    assert [p.kind for p in m.problems.fatal] == ["source_missing"]
    with pytest.raises(DataError, match="folders.*labels_txt|labels_txt.*folders"):
        get_source("folder")
    assert {"folders", "labels_txt", "class_lists", "yolo_dataset"} <= set(list_readers())
