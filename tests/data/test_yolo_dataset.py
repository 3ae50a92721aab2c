"""The Ultralytics YOLO dataset reader: yaml forms, pixel boxes, splits, bad lines, clipped/zero boxes, coco128."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from benchmarks.data.build import build_manifest

NAMES = ["cat", "dog", "bird"]


def _yolo(tmp_path, make_image, labels: dict[str, str | None], yaml_extra: dict | None = None, split="train"):
    """tmp_path/yolo: images/<split>/<name> (100x50 px) with labels/<split>/<stem>.txt (None = no label file)."""
    root = tmp_path / "yolo"
    for name, text in labels.items():
        make_image(root / "images" / split / name, size=(100, 50))
        if text is not None:
            lf = root / "labels" / split / name.rsplit(".", 1)[0]
            lf = lf.with_suffix(".txt")
            lf.parent.mkdir(parents=True, exist_ok=True)
            lf.write_text(text)
    data = {"path": ".", "train": "images/train", "names": {i: n for i, n in enumerate(NAMES)}, **(yaml_extra or {})}
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    return root


def _build(make_config, path="yolo/data.yaml", classes=NAMES):
    return build_manifest(make_config(classes, {"y": {"reader": "yolo_dataset", "path": path}}))


def test_boxes_in_pixels_negatives_and_full_vocabulary(tmp_path, make_image, make_config, record):
    _yolo(tmp_path, make_image, {"a.png": "0 0.5 0.5 0.2 0.4\n1 0.25 0.75 0.1 0.1\n", "b.png": "", "c.png": None})
    m = _build(make_config)
    assert m.problems.items == []
    a = record(m, "a.png")
    assert m.boxes("y", a.id) == [(0, 40.0, 15.0, 60.0, 35.0), (1, 20.0, 35.0, 30.0, 40.0)]
    assert a.labels["y"] == {"cat": 1, "dog": 1, "bird": 0}  # bird has no box: 0, not NA
    assert a.split_hint == "train"
    for empty in ("b.png", "c.png"):  # empty label file, no label file: both negatives
        assert record(m, empty).labels["y"] == {"cat": 0, "dog": 0, "bird": 0}
    assert not np.isnan(m.targets("y")).any()
    assert m.sources["y"].kind == "boxes" and m.sources["y"].vocabulary == NAMES


def test_names_as_list_splits_from_txt_lists_and_folder_path(tmp_path, make_image, make_config, record):
    root = _yolo(tmp_path, make_image, {"a.png": "2 0.5 0.5 0.2 0.2\n", "b.png": "0 0.5 0.5 1 1\n"})
    (root / "val.txt").write_text("./images/train/b.png\n")
    (root / "train.txt").write_text("images/train/a.png\n")
    (root / "data.yaml").write_text(yaml.safe_dump({"train": "train.txt", "val": ["val.txt"], "names": NAMES}))
    m = _build(make_config, path="yolo")  # the folder holding the one yaml
    assert m.problems.items == []
    assert record(m, "a.png").split_hint == "train" and record(m, "b.png").split_hint == "val"
    assert record(m, "a.png").labels["y"] == {"cat": 0, "dog": 0, "bird": 1}
    assert m.boxes("y", record(m, "b.png").id) == [(0, 0.0, 0.0, 100.0, 50.0)]


def test_image_in_two_splits_is_kept_once_with_one_warning(tmp_path, make_image, make_config, record):
    _yolo(tmp_path, make_image, {"a.png": "0 0.5 0.5 0.2 0.2\n", "b.png": ""}, {"val": "images/train"})
    m = _build(make_config)
    assert len(m) == 2 and len(m.boxes("y", record(m, "a.png").id)) == 1
    (p,) = m.problems.items
    assert p.kind == "split_overlap" and "2 image(s)" in p.message
    assert record(m, "a.png").split_hint == "train"


def test_polygon_rows_become_their_bounding_box(tmp_path, make_image, make_config, record):
    _yolo(tmp_path, make_image, {"a.png": "1 0.1 0.2 0.5 0.2 0.3 0.8\n"})
    m = _build(make_config)
    assert m.boxes("y", record(m, "a.png").id) == [(1, 10.0, 10.0, 50.0, 40.0)]


def test_box_outside_the_image_is_clipped_and_counted(tmp_path, make_image, make_config, record):
    # 0: sticks out right by 10 px; 1: wholly outside; 2: sub-pixel overshoot (rounding) clipped silently
    text = "0 0.95 0.5 0.2 0.2\n1 1.5 0.5 0.2 0.2\n2 0.5 0.5 1.000001 0.2\n"
    _yolo(tmp_path, make_image, {"a.png": text})
    m = _build(make_config)
    a = record(m, "a.png")
    assert m.problems.counts() == {"box_clipped": 1, "box_outside_image": 1}
    clipped = next(p for p in m.problems.items if p.kind == "box_clipped")
    assert clipped.severity == "fix" and clipped.file.endswith("a.txt")
    assert m.boxes("y", a.id) == [(0, 85.0, 20.0, 100.0, 30.0), (2, 0.0, 20.0, 100.0, 30.0)]
    # the dropped box marked a dog we cannot place: NA (neither a silent 0 nor a 1), and the image is left out of
    # detector training, where it would teach that dog as background
    assert a.labels["y"] == {"cat": 1, "bird": 1}
    assert a.box_incomplete == {"y": ["dog"]} and m.box_complete("y", [a.id]) == []


def test_zero_area_box_is_dropped_and_counted(tmp_path, make_image, make_config, record):
    _yolo(tmp_path, make_image, {"a.png": "0 0.5 0.5 0 0.2\n1 0.5 0.5 0.2 0.2\n"})
    m = _build(make_config)
    (p,) = m.problems.items
    assert p.kind == "box_zero_area" and p.severity == "skip"
    assert [b[0] for b in m.boxes("y", record(m, "a.png").id)] == [1]
    assert "cat" not in record(m, "a.png").labels["y"]  # NA: a cat was marked, with no extent


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("0 0.5 0.5 0.2", "4 fields"),
        ("0 0.5 0.5 0.2 0.2 0.9", "6 fields"),
        ("3 0.5 0.5 0.2 0.2", "class id 3 not in names"),
        ("0.5 0.5 0.5 0.2 0.2", "class id 0.5"),
        ("cat 0.5 0.5 0.2 0.2", "non-numeric"),
        ("0 0.5 nan 0.2 0.2", "non-finite"),
        ("0 0.5 0.5 -0.2 0.2", "negative width"),
    ],
)
def test_bad_label_line_is_fatal_with_file_and_line(tmp_path, make_image, make_config, line, says):
    _yolo(tmp_path, make_image, {"a.png": f"1 0.5 0.5 0.2 0.2\n{line}\n"})
    m = _build(make_config)
    (p,) = m.problems.fatal
    assert p.kind == "bad_label_line" and says in p.message
    assert p.file.endswith("a.txt") and p.line == 2


def test_missing_split_folder_and_unreadable_image(tmp_path, make_image, make_config):
    root = _yolo(tmp_path, make_image, {"a.png": "0 0.5 0.5 0.2 0.2\n"}, {"val": "images/val"})
    (root / "images" / "train" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "labels" / "train" / "broken.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    m = _build(make_config)
    assert m.problems.counts() == {"split_missing": 1, "corrupt_image": 1}
    assert len(m) == 1


def test_coco128(coco128, make_config):
    names = yaml.safe_load((coco128 / "coco128.yaml").read_text())["names"]
    classes = [names[i] for i in sorted(names)]
    m = build_manifest(make_config(classes, {"y": {"reader": "yolo_dataset", "path": str(coco128 / "coco128.yaml")}}))
    assert len(m) == 128
    assert sum(len(r.boxes["y"]) for r in m.images) == 929
    assert len(m.sources["y"].vocabulary) == 80
    assert m.problems.fatal == []
    # train and val are the same folder: one warning; label rounding overshoot is not reported as clipping
    assert m.problems.counts() == {"split_overlap": 1}
    t = m.targets("y")
    assert not np.isnan(t).any()
    negatives = sorted(r.path.rsplit("/", 1)[-1] for r, row in zip(m.images, t) if row.sum() == 0)
    assert negatives == ["000000000250.jpg", "000000000508.jpg"]
    assert int(t[:, classes.index("person")].sum()) == 61  # PROVENANCE.md: person in 61 images


def test_root_from_another_machine_falls_back_to_the_yaml_folder(tmp_path, make_image, make_config):
    _yolo(tmp_path, make_image, {"a.png": "0 0.5 0.5 0.2 0.2\n"}, {"path": "/home/someone/datasets/yolo"})
    m = _build(make_config)
    assert len(m) == 1 and m.problems.counts() == {"dataset_root_moved": 1}


def test_nc_disagreeing_with_names_is_fatal(tmp_path, make_image, make_config):
    _yolo(tmp_path, make_image, {"a.png": ""}, {"nc": 4})
    assert [p.kind for p in _build(make_config).problems.fatal] == ["bad_names"]


def test_exif_rotated_image_is_flagged(tmp_path, make_image, make_config):
    from PIL import Image

    root = _yolo(tmp_path, make_image, {"a.png": "0 0.5 0.5 0.2 0.2\n"})
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display: the labeler saw a 50x100 image
    Image.new("RGB", (100, 50), "red").save(root / "images" / "train" / "r.jpg", exif=exif)
    (root / "labels" / "train" / "r.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    m = _build(make_config)
    (p,) = m.problems.items
    assert p.kind == "exif_rotated" and p.file.endswith("r.jpg")


def test_same_photo_in_train_and_val_files_is_a_leak_in_source_mode(tmp_path, make_image, make_config, record):
    import shutil

    from benchmarks.config import SplitConfig
    from benchmarks.data.problems import DataError
    from benchmarks.data.split import make_split

    root = _yolo(tmp_path, make_image, {"a.png": "0 0.5 0.5 0.2 0.2\n", "b.png": ""}, {"val": "images/val"})
    (root / "images" / "val").mkdir()
    shutil.copy(root / "images" / "train" / "a.png", root / "images" / "val" / "a_again.png")  # other name, same bytes
    m = _build(make_config)
    assert len(m) == 2 and record(m, "a_again.png").split_hint == "train,val"
    assert m.problems.counts() == {"split_conflict": 1, "duplicate_image": 1}
    with pytest.raises(DataError, match="more than one split"):
        make_split(m, SplitConfig(mode="source"), "y")
