"""The label-folders reader, through build_manifest: merging by content, combination folders, negatives, skips."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from benchmarks.data.build import build_manifest
from benchmarks.data.problems import DataError


def test_same_image_in_two_folders_is_one_row_with_two_labels(tmp_path, make_image, make_config, record):
    a = make_image(tmp_path / "sorted" / "cat" / "a.png")
    (tmp_path / "sorted" / "dog").mkdir()
    shutil.copy(a, tmp_path / "sorted" / "dog" / "a_copy.png")  # the same photo sorted into two folders
    make_image(tmp_path / "sorted" / "cat" / "b.png")
    make_image(tmp_path / "sorted" / "dog" / "c.png")
    m = build_manifest(make_config(["cat", "dog"], {"f": {"reader": "folders", "path": "sorted"}}))

    assert len(m) == 3
    rec = record(m, "a.png")
    assert rec.labels["f"] == {"cat": 1, "dog": 1}
    assert sorted(rec.paths["f"]) == sorted([str(a), str(tmp_path / "sorted" / "dog" / "a_copy.png")])
    assert record(m, "b.png").labels["f"] == {"cat": 1, "dog": 0}  # exhaustive: not in dog/ means dog = 0
    assert record(m, "c.png").labels["f"] == {"cat": 0, "dog": 1}
    assert not np.isnan(m.targets("f")).any()
    assert m.problems.fatal == []


def test_nested_files_count_for_the_top_folder(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "sorted" / "cat" / "batch1" / "deep" / "a.png")
    m = build_manifest(make_config(["cat", "batch1"], {"f": {"reader": "folders", "path": "sorted"}}))
    assert record(m, "a.png").labels["f"] == {"cat": 1}
    assert m.sources["f"].vocabulary == ["cat"]  # sub-folders are not labels


def test_combination_folder_uses_the_separator(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "sorted" / "red+creature" / "a.png")
    make_image(tmp_path / "sorted" / "red" / "b.png")
    classes = ["red", "creature", "blue"]
    m = build_manifest(make_config(classes, {"f": {"reader": "folders", "path": "sorted"}}))
    assert record(m, "a.png").labels["f"] == {"red": 1, "creature": 1}
    assert record(m, "b.png").labels["f"] == {"red": 1, "creature": 0}
    # blue has no folder: the source cannot speak about it, so it is NA (not 0)
    assert np.isnan(m.targets("f")[:, classes.index("blue")]).all()


def test_separator_option_and_disabling_it(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "sorted" / "red__creature" / "a.png")
    m = build_manifest(
        make_config(["red", "creature"], {"f": {"reader": "folders", "path": "sorted", "options": {"separator": "__"}}})
    )
    assert record(m, "a.png").labels["f"] == {"red": 1, "creature": 1}

    make_image(tmp_path / "sorted2" / "red+creature" / "a.png")
    m = build_manifest(
        make_config(["red", "creature"], {"f": {"reader": "folders", "path": "sorted2", "options": {"separator": ""}}})
    )
    assert [p.kind for p in m.problems.fatal] == ["unknown_class"]
    assert "'red+creature'" in m.problems.fatal[0].message


def test_unsorted_images_are_negatives_matched_by_content(tmp_path, make_image, make_config, record):
    a = make_image(tmp_path / "sorted" / "cat" / "a.png")
    (tmp_path / "unsorted").mkdir()
    shutil.copy(a, tmp_path / "unsorted" / "IMG_0001.png")  # the same photo, under its camera name
    make_image(tmp_path / "unsorted" / "IMG_0002.png")
    m = build_manifest(
        make_config(["cat", "dog"], {"f": {"reader": "folders", "path": "sorted", "images": "unsorted"}})
    )
    assert len(m) == 2
    assert record(m, "IMG_0001.png") is record(m, "a.png")
    assert record(m, "a.png").labels["f"] == {"cat": 1}
    assert record(m, "IMG_0002.png").labels["f"] == {"cat": 0}


def test_images_folder_inside_the_tree_is_not_a_label(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "data" / "cat" / "a.png")
    make_image(tmp_path / "data" / "unsorted" / "n.png")
    m = build_manifest(make_config(["cat"], {"f": {"reader": "folders", "path": "data", "images": "data/unsorted"}}))
    assert m.problems.fatal == []
    assert record(m, "n.png").labels["f"] == {"cat": 0}


def test_negative_folder(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "sorted" / "cat" / "a.png")
    make_image(tmp_path / "sorted" / "_none" / "n.png")
    src = {"reader": "folders", "path": "sorted", "options": {"negative_folder": "_none"}}
    m = build_manifest(make_config(["cat", "dog"], {"f": src}))
    assert m.problems.fatal == []
    assert record(m, "n.png").labels["f"] == {"cat": 0}
    # without the option, `_none` is just an unknown label
    m = build_manifest(make_config(["cat", "dog"], {"f": {"reader": "folders", "path": "sorted"}}))
    assert "'_none'" in m.problems.fatal[0].message


def test_non_image_and_hidden_files_are_skipped_and_counted(tmp_path, make_image, make_config):
    make_image(tmp_path / "sorted" / "cat" / "a.png")
    (tmp_path / "sorted" / "cat" / "notes.txt").write_text("x")
    (tmp_path / "sorted" / "cat" / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "sorted" / "cat" / "Thumbs.db").write_bytes(b"\0")
    (tmp_path / "sorted" / ".git").mkdir()
    make_image(tmp_path / "sorted" / "stray.png")  # in no label folder
    m = build_manifest(make_config(["cat"], {"f": {"reader": "folders", "path": "sorted"}}))

    assert len(m) == 1
    counts = m.problems.counts()
    assert counts == {"not_an_image": 1, "hidden_file": 3, "not_in_label_folder": 1}
    (skip,) = [p for p in m.problems.items if p.kind == "not_an_image"]
    assert skip.file.endswith("notes.txt") and skip.severity == "skip"
    assert m.sources["f"].vocabulary == ["cat"]  # .git is not a class


def test_unknown_label_folder_is_fatal_and_names_folder_classes_and_fix(tmp_path, make_image, make_config):
    make_image(tmp_path / "sorted" / "cat" / "a.png")
    make_image(tmp_path / "sorted" / "zebra" / "z.png")
    m = build_manifest(make_config(["cat", "dog"], {"f": {"reader": "folders", "path": "sorted"}}))
    (p,) = m.problems.fatal
    assert p.kind == "unknown_class"
    assert "'zebra'" in p.message and "cat, dog" in p.message
    assert "aliases" in p.fix and "zebra" in p.fix
    with pytest.raises(DataError, match="zebra"):
        m.problems.raise_if_fatal()


def test_alias_maps_a_folder_name_onto_a_class(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "sorted" / "kitty" / "a.png")
    make_image(tmp_path / "sorted" / "dog" / "b.png")
    cfg = make_config(["cat", "dog"], {"f": {"reader": "folders", "path": "sorted"}}, aliases={"kitty": "cat"})
    m = build_manifest(cfg)
    assert m.problems.fatal == []
    assert record(m, "a.png").labels["f"] == {"cat": 1, "dog": 0}
    assert m.sources["f"].vocabulary == ["dog", "cat"]


def test_ignored_folder_is_a_warning_not_a_label(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "sorted" / "cat" / "a.png")
    make_image(tmp_path / "sorted" / "junk" / "j.png")
    m = build_manifest(make_config(["cat"], {"f": {"reader": "folders", "path": "sorted"}}, ignore=["junk"]))
    assert m.problems.fatal == []
    assert m.problems.counts()["class_ignored"] == 1
    assert record(m, "j.png").labels["f"] == {"cat": 0}


def test_misspelled_option_is_fatal(tmp_path, make_image, make_config):
    make_image(tmp_path / "sorted" / "cat" / "a.png")
    m = build_manifest(
        make_config(["cat"], {"f": {"reader": "folders", "path": "sorted", "options": {"seperator": "-"}}})
    )
    (p,) = m.problems.fatal
    assert p.kind == "bad_option" and "'seperator'" in p.message and "separator" in p.message
