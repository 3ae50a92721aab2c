"""Dataset view: links and labels in a folder of our own; the source folder is never written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from detector_shapes import CLASSES, render

from detector.dataset import DatasetViewError, ViewImage, build_dataset_view, yolo_lines


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture
def dup_source(tmp_path) -> tuple[Path, dict[str, list[ViewImage]]]:
    """Two folders each holding `img.jpg` (same base name, different pictures) plus one negative."""
    src = tmp_path / "src"
    a = ViewImage("a", src / "x" / "img.jpg", 96, 96, render(src / "x" / "img.jpg", [(0, 10, 10, 30)]))
    b = ViewImage("b", src / "y" / "img.jpg", 96, 96, render(src / "y" / "img.jpg", [(1, 40, 20, 24)]))
    neg = ViewImage("neg", src / "y" / "empty.JPG", 96, 96, render(src / "y" / "empty.JPG", []))
    return src, {"train": [a, neg], "val": [b], "test": []}


def test_view_layout_duplicates_and_negatives(tmp_path, dup_source):
    src, splits = dup_source
    before = _snapshot(src)
    view = build_dataset_view(tmp_path / "view", CLASSES, splits)
    assert _snapshot(src) == before
    a_link, b_link = view / "images/train/a.jpg", view / "images/val/b.jpg"
    assert a_link.resolve() == (src / "x/img.jpg").resolve()
    assert b_link.resolve() == (src / "y/img.jpg").resolve()
    assert (view / "images/train/neg.jpg").exists()  # suffix lower-cased: Ultralytics matches it either way
    assert (view / "labels/train/neg.txt").read_text() == ""  # a negative is an empty label file
    # box (0, 10, 10, 40, 40) in a 96 px image -> centre 25/96, size 30/96
    assert (view / "labels/train/a.txt").read_text().split() == ["0", "0.260417", "0.260417", "0.312500", "0.312500"]
    assert (view / "labels/val/b.txt").read_text().startswith("1 ")
    data = (view / "data.yaml").read_text()
    assert "test:" not in data  # an empty split is left out, not pointed at an empty folder
    assert "red_square" in data and str(view) in data


def test_rebuild_removes_stale_links(tmp_path, dup_source):
    _, splits = dup_source
    view = build_dataset_view(tmp_path / "view", CLASSES, splits)
    splits["train"] = splits["train"][:1]
    build_dataset_view(view, CLASSES, splits)
    assert sorted(p.name for p in (view / "images/train").iterdir()) == ["a.jpg"]


def test_link_fallbacks(tmp_path, dup_source, monkeypatch):
    _, splits = dup_source

    def refuse(*_a, **_k):
        raise OSError("not permitted")

    monkeypatch.setattr(os, "symlink", refuse)
    view = build_dataset_view(tmp_path / "hard", CLASSES, splits)
    assert not (view / "images/train/a.jpg").is_symlink()
    assert (view / "images/train/a.jpg").stat().st_nlink == 2
    monkeypatch.setattr(os, "link", refuse)
    view = build_dataset_view(tmp_path / "copy", CLASSES, splits)
    assert (view / "images/train/a.jpg").stat().st_nlink == 1
    assert (view / "images/train/a.jpg").read_bytes() == splits["train"][0].path.read_bytes()
    assert '"copy": 3' in (view / "view.json").read_text()


def test_refuses_out_dir_holding_sources_and_bad_inputs(tmp_path, dup_source):
    src, splits = dup_source
    with pytest.raises(DatasetViewError, match="contains the source image"):
        build_dataset_view(src, CLASSES, splits)
    assert sorted(p.name for p in src.iterdir()) == ["x", "y"]  # nothing created, nothing removed
    bad = {**splits, "val": [ViewImage("a", splits["val"][0].path, 96, 96, [])]}
    with pytest.raises(DatasetViewError, match="collides"):
        build_dataset_view(tmp_path / "v", CLASSES, bad)
    with pytest.raises(DatasetViewError, match="empty"):
        build_dataset_view(tmp_path / "v", CLASSES, {**splits, "val": []})
    with pytest.raises(DatasetViewError, match="unknown split"):
        build_dataset_view(tmp_path / "v", CLASSES, {**splits, "holdout": []})


def test_yolo_lines_clip_drop_and_class_check():
    lines, dropped = yolo_lines([(1, -10, 50, 50, 150), (0, 120, 0, 130, 10)], 100, 100, 2, "x")
    assert lines == ["1 0.250000 0.750000 0.500000 0.500000"]  # clipped to (0, 50, 50, 100)
    assert dropped == 1  # wholly outside the image
    with pytest.raises(DatasetViewError, match="class index 2"):
        yolo_lines([(2, 0, 0, 5, 5)], 100, 100, 2, "img.jpg")
