"""COCO 1.0 and YOLO 1.1 readers: CVAT's extras (rotation, masks, polygons) and bad input, each counted or refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceSpec, read_source
from benchmarks.data.sources.cvat_coco import rle_box


def read(reader: str, path: Path, **options):
    problems = Problems()
    return read_source(SourceSpec("cvat", reader, path, None, options), problems), problems


# --- COCO -------------------------------------------------------------------------------------------------------
def coco_export(root: Path, annotations: list[dict], categories=("car", "person")) -> Path:
    data = {
        "licenses": [],
        "info": {},
        "categories": [{"id": i + 1, "name": c, "supercategory": ""} for i, c in enumerate(categories)],
        "images": [
            {"id": 1, "width": 50, "height": 40, "file_name": "a.jpg"},
            {"id": 2, "width": 50, "height": 40, "file_name": "b.jpg"},
        ],
        "annotations": [{"id": i + 1, "image_id": 1, "iscrowd": 0, **a} for i, a in enumerate(annotations)],
    }
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "annotations" / "instances_default.json").write_text(json.dumps(data))
    return root


def test_coco_rotation_polygon_and_mask_become_boxes_and_are_counted(tmp_path):
    anns = [
        {"category_id": 1, "bbox": [15, 10, 10, 20], "segmentation": [], "attributes": {"rotation": 90.0}},
        {"category_id": 2, "bbox": [], "segmentation": [[10, 20, 40, 5, 30, 35]]},  # polygon, no bbox
        # CVAT masks: iscrowd 1, uncompressed RLE (column-major); here column 1, rows 1..2 of a 4 x 5 image
        {
            "category_id": 1,
            "iscrowd": 1,
            "attributes": {"occluded": False},
            "bbox": [0, 0, 0, 0],
            "segmentation": {"size": [4, 5], "counts": [5, 2, 13]},
        },
    ]
    result, problems = read("cvat_coco", coco_export(tmp_path / "e", anns))
    a, b = result.rows
    boxes = [(x.label, x.x1, x.y1, x.x2, x.y2) for x in a.boxes]
    assert boxes == [("car", 10, 15, 30, 25), ("person", 10, 5, 40, 35), ("car", 1, 1, 2, 3)]
    assert b.boxes == [] and b.where.endswith('<image id=2 file_name="b.jpg">')  # a negative
    assert problems.counts() == {"rotated_box_enclosed": 1, "shape_to_box": 2}
    assert result.vocabulary == ["car", "person"]


def test_coco_shapes_skip(tmp_path):
    anns = [{"category_id": 2, "bbox": [1, 1, 5, 5], "segmentation": [[1, 1, 6, 1, 6, 6]]}]
    result, problems = read("cvat_coco", coco_export(tmp_path / "e", anns), shapes="skip")
    assert result.rows[0].boxes == [] and problems.counts() == {"shape_skipped": 1}


def test_coco_unknown_category_is_fatal_and_bad_json_names_the_line(tmp_path):
    _, problems = read("cvat_coco", coco_export(tmp_path / "e", [{"category_id": 9, "bbox": [1, 1, 2, 2]}]))
    assert [p.kind for p in problems.fatal] == ["undeclared_label"]
    assert "category_id 9" in problems.fatal[0].message
    bad = tmp_path / "bad" / "annotations"
    bad.mkdir(parents=True)
    (bad / "instances_default.json").write_text('{\n "images": [\n  oops\n ]}')
    _, problems = read("cvat_coco", tmp_path / "bad")
    assert [(p.kind, p.line) for p in problems.fatal] == [("malformed_json", 3)]


def test_compressed_rle_matches_uncompressed():
    # pycocotools encodes counts [5, 2, 13] (4 x 5 mask) as "52=" (rleToString, maskApi.c)
    assert rle_box({"size": [4, 5], "counts": "52="}) == rle_box({"size": [4, 5], "counts": [5, 2, 13]}) == (1, 1, 2, 3)


# --- YOLO 1.1 -----------------------------------------------------------------------------------------------------
def yolo_export(root: Path, labels: str, names=("car", "person")) -> Path:
    data = root / "obj_train_data"
    data.mkdir(parents=True)
    (root / "obj.names").write_text("\n".join(names) + "\n")
    (root / "obj.data").write_text("classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n")
    (root / "train.txt").write_text("data/obj_train_data/a.jpg\ndata/obj_train_data/b.jpg\n")
    Image.new("RGB", (200, 100)).save(data / "a.jpg")
    (data / "a.txt").write_text(labels)
    (data / "b.txt").write_text("")  # empty file: no objects
    return root


def test_yolo_bad_lines_name_file_and_line(tmp_path):
    labels = "0 0.5 0.5 0.2 0.4\nnot a line\n1 0.1 0.1 0.1\n\n1 0.25 0.5 0.1 0.2\n"
    result, problems = read("cvat_yolo", yolo_export(tmp_path / "e", labels))
    a, b = result.rows
    assert [(x.label, x.x1, x.y1, x.x2, x.y2) for x in a.boxes] == [
        ("car", pytest.approx(80), pytest.approx(30), pytest.approx(120), pytest.approx(70)),
        ("person", pytest.approx(40), pytest.approx(40), pytest.approx(60), pytest.approx(60)),
    ]
    assert (a.width, a.height) == (200, 100)
    assert [(p.kind, p.line, p.file.endswith("obj_train_data/a.txt")) for p in problems.items] == [
        ("bad_line", 2, True),
        ("bad_line", 3, True),
    ]
    # b.jpg is listed but absent: the row points where it should be, so the builder counts it missing
    assert b.path == tmp_path / "e" / "obj_train_data" / "b.jpg" and b.boxes == []


def test_yolo_class_id_out_of_range_is_fatal(tmp_path):
    _, problems = read("cvat_yolo", yolo_export(tmp_path / "e", "5 0.5 0.5 0.2 0.2\n"))
    (p,) = problems.fatal
    assert (p.kind, p.line) == ("undeclared_label", 1) and "2 classes" in p.message
