"""The labels.txt reader: header forms, 1/0/NA cells, fatal rows with file and line, duplicate rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.data.build import build_manifest
from benchmarks.data.problems import DataError

CLASSES = ["circle", "square", "triangle"]


def _setup(tmp_path, make_image, make_config, text: str, names=("a.png", "b.png"), **source):
    for n in names:
        make_image(tmp_path / "imgs" / n)
    (tmp_path / "imgs" / "labels.txt").write_text(text)
    return make_config(CLASSES, {"t": {"reader": "labels_txt", "path": "imgs/labels.txt", **source}})


def test_hash_header_whitespace_rows_and_na(tmp_path, make_image, make_config, record):
    cfg = _setup(tmp_path, make_image, make_config, "# image circle square triangle\na.png 1 NA 0\nb.png 0 1 na\n")
    m = build_manifest(cfg)
    assert m.problems.items == []
    assert record(m, "a.png").labels["t"] == {"circle": 1, "triangle": 0}  # NA stays NA, not 0
    t = m.targets("t", [record(m, "a.png").id, record(m, "b.png").id])
    np.testing.assert_array_equal(np.isnan(t), [[False, True, False], [False, False, True]])
    assert t[0, 0] == 1 and t[1, 1] == 1


def test_plain_header_row_comma_separated_with_spaces_and_subfolders(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "imgs" / "sub" / "my photo.png")
    text = "file, square, circle, triangle\nsub/my photo.png, 1, 0, 0\na.png,NA,NA,1\n"
    m = build_manifest(_setup(tmp_path, make_image, make_config, text, names=("a.png",)))
    assert m.problems.items == []
    assert record(m, "my photo.png").labels["t"] == {"square": 1, "circle": 0, "triangle": 0}
    assert record(m, "a.png").labels["t"] == {"triangle": 1}


def test_classes_from_config_and_images_folder(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "photos" / "a.png")
    (tmp_path / "labels.txt").write_text("# exported by hand\na.png 1 0 NA\n")
    src = {"reader": "labels_txt", "path": "labels.txt", "images": "photos", "options": {"classes": CLASSES}}
    m = build_manifest(make_config(CLASSES, {"t": src}))
    assert m.problems.items == []
    assert record(m, "a.png").labels["t"] == {"circle": 1, "square": 0}


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("b.png 1 0", "bad_row"),
        ("b.png 1 0 1 1", "bad_row"),
        ("b.png 1 2 0", "bad_value"),
        ("b.png yes 0 0", "bad_value"),
    ],
)
def test_bad_row_is_fatal_with_file_and_line(tmp_path, make_image, make_config, line, kind):
    text = f"# image circle square triangle\na.png 1 0 0\n\n{line}\n"
    m = build_manifest(_setup(tmp_path, make_image, make_config, text))
    (p,) = m.problems.fatal
    assert p.kind == kind
    assert p.file.endswith("labels.txt") and p.line == 4
    assert p.fix  # says what a row must look like
    assert "labels.txt:4: " in p.format()
    with pytest.raises(DataError, match=r"labels\.txt:4"):
        m.problems.raise_if_fatal()


def test_headerless_typo_in_first_row_is_a_bad_row_not_a_header(tmp_path, make_image, make_config):
    src = {"options": {"classes": CLASSES}}
    m = build_manifest(_setup(tmp_path, make_image, make_config, "a.png 1 2 0\nb.png 0 0 0\n", **src))
    assert [(p.kind, p.line) for p in m.problems.fatal] == [("bad_value", 1)]


def test_header_disagreeing_with_config_is_fatal(tmp_path, make_image, make_config):
    src = {"options": {"classes": ["square", "circle", "triangle"]}}
    m = build_manifest(
        _setup(tmp_path, make_image, make_config, "# image circle square triangle\na.png 1 0 0\n", **src)
    )
    assert [p.kind for p in m.problems.fatal] == ["header_mismatch"]


def test_no_class_names_is_fatal_with_the_fix(tmp_path, make_image, make_config):
    m = build_manifest(_setup(tmp_path, make_image, make_config, "a.png 1 0 0\n"))
    (p,) = m.problems.fatal
    assert p.kind == "no_class_names" and "options.classes" in p.fix


def test_duplicate_rows_with_conflicting_values_are_reported(tmp_path, make_image, make_config, record):
    text = "# image circle square triangle\na.png 1 0 NA\nb.png 0 0 0\na.png 0 0 1\n"
    m = build_manifest(_setup(tmp_path, make_image, make_config, text))
    (p,) = [p for p in m.problems.items if p.kind == "conflicting_labels"]
    assert p.severity == "warning" and "circle" in p.message and p.file.endswith("labels.txt:4")
    assert record(m, "a.png").labels["t"] == {"circle": 1, "square": 0, "triangle": 1}


def test_missing_image_is_skipped_with_file_and_line(tmp_path, make_image, make_config):
    text = "# image circle square triangle\na.png 1 0 0\nghost.png 0 1 0\n"
    m = build_manifest(_setup(tmp_path, make_image, make_config, text, names=("a.png",)))
    assert len(m) == 1
    (p,) = m.problems.items
    assert p.kind == "missing_image" and p.file.endswith("labels.txt:3")


def test_folder_path_finds_labels_txt(tmp_path, make_image, make_config):
    make_image(tmp_path / "imgs" / "a.png")
    (tmp_path / "imgs" / "labels.txt").write_text("image circle square triangle\na.png 1 1 1\n")
    m = build_manifest(make_config(CLASSES, {"t": {"reader": "labels_txt", "path": "imgs"}}))
    assert m.problems.items == [] and len(m) == 1
    assert not any(math.isnan(v) for v in m.targets("t")[0])


def test_windows_separators_and_missing_images_folder(tmp_path, make_image, make_config, record):
    make_image(tmp_path / "imgs" / "sub" / "a.png")
    (tmp_path / "imgs" / "labels.txt").write_text("# image circle square triangle\nsub\\a.png 1 0 0\n")
    m = build_manifest(make_config(CLASSES, {"t": {"reader": "labels_txt", "path": "imgs/labels.txt"}}))
    assert m.problems.items == [] and record(m, "a.png").labels["t"]["circle"] == 1
    src = {"reader": "labels_txt", "path": "imgs/labels.txt", "images": "photos"}
    m = build_manifest(make_config(CLASSES, {"t": src}))
    assert [p.kind for p in m.problems.fatal] == ["source_missing"]
