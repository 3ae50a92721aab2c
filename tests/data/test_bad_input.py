"""Bad input that used to give silently wrong labels. Each case is counted or refused now."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.config import BenchConfig, SourceConfig
from benchmarks.data.build import build_manifest
from benchmarks.data.manifest import Manifest
from benchmarks.data.problems import Problems
from benchmarks.data.sources.yolo_dataset import parse_label_file

CLASSES = ["car", "person"]


def _img(path: Path, size=(100, 80), color=(90, 120, 150), exif=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "JPEG" if path.suffix == ".jpg" else "PNG"  # DVC store files have no suffix
    Image.new("RGB", size, color).save(path, format=fmt, **({"exif": exif} if exif is not None else {}))
    return path


def _counts(m: Manifest) -> dict:
    """Problem counts without class_unlabeled (these small exports leave one class without a positive)."""
    return {k: v for k, v in m.problems.counts().items() if k != "class_unlabeled"}


def _build(tmp: Path, reader: str, path: Path, images: Path | None = None, classes=CLASSES, **options) -> Manifest:
    src = SourceConfig(reader, str(path), str(images) if images else None, options)
    cfg = BenchConfig(name="t", classes=list(classes), sources={"s": src}, base_dir=str(tmp))
    return build_manifest(cfg, cache_dir=tmp / "cache")


def _xml(root: Path, images: str, labels=CLASSES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    decl = "".join(f"<label><name>{n}</name></label>" for n in labels)
    (root / "annotations.xml").write_text(
        f"<annotations><version>1.1</version><meta><job><labels>{decl}</labels></job></meta>{images}</annotations>"
    )
    return root


def _coco(root: Path, anns: list[dict], name="instances_default.json", images=None) -> Path:
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    data = {
        "categories": [{"id": i + 1, "name": c} for i, c in enumerate(CLASSES)],
        "images": images or [{"id": 1, "width": 100, "height": 80, "file_name": "a.jpg"}],
        "annotations": [{"id": i + 1, "image_id": 1, "iscrowd": 0, **a} for i, a in enumerate(anns)],
    }
    (root / "annotations" / name).write_text(json.dumps(data))
    return root


def _yolo(root: Path, labels: str) -> Path:
    root.mkdir(parents=True)
    (root / "obj.names").write_text("\n".join(CLASSES) + "\n")
    (root / "train.txt").write_text("data/obj_train_data/a.jpg\n")
    _img(root / "obj_train_data" / "a.jpg")
    (root / "obj_train_data" / "a.txt").write_text(labels)
    return root


# --- non-finite and inverted coordinates ------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN"])
def test_cvat_xml_non_finite_box_is_refused_not_a_full_image_box(tmp_path, bad):
    body = (
        f'<box label="car" xtl="{bad}" ytl="10" xbr="20" ybr="30"/>'
        + '<box label="person" xtl="1" ytl="2" xbr="9" ybr="9"/>'
    )
    export = _xml(tmp_path / "e", f'<image id="0" name="a.jpg" width="100" height="80">{body}</image>')
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_xml", export)
    (rec,) = m.images
    assert rec.boxes["s"] == [[1, 1.0, 2.0, 9.0, 9.0]]  # only the good person box
    assert "car" not in rec.labels["s"]  # NA: the source drew a car we cannot place; neither 1 nor a silent 0
    assert rec.labels["s"]["person"] == 1
    assert m.problems.counts().get("bad_shape") == 1
    assert m.box_complete("s", [rec.id]) == []  # left out of detector training


def test_cvat_coco_non_finite_bbox_is_refused(tmp_path):
    # json.dumps writes NaN/Infinity, which Python's json (and CVAT's hand-edited files) read back as floats
    export = _coco(
        tmp_path / "e",
        [{"category_id": 1, "bbox": [float("nan"), 1, 5, 5]}, {"category_id": 2, "bbox": [1, 1, float("inf"), 5]}],
    )
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_coco", export)
    (rec,) = m.images
    assert rec.boxes["s"] == [] and rec.labels["s"] == {}
    assert m.problems.counts().get("bad_shape") == 2
    assert m.box_complete("s", [rec.id]) == []


def test_cvat_yolo_non_finite_line_is_refused(tmp_path):
    m = _build(tmp_path, "cvat_yolo", _yolo(tmp_path / "e", "0 nan 0.5 0.2 0.2\n1 0.5 0.5 inf 0.2\n"))
    (rec,) = m.images
    assert rec.boxes["s"] == [] and rec.labels["s"] == {}
    assert m.problems.counts().get("bad_line") == 2
    assert m.box_complete("s", [rec.id]) == []


def test_inverted_box_is_swapped_and_counted(tmp_path):
    body = '<box label="car" xtl="30" ytl="40" xbr="10" ybr="10"/>'
    export = _xml(tmp_path / "e", f'<image id="0" name="a.jpg" width="100" height="80">{body}</image>')
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_xml", export)
    assert m.images[0].boxes["s"] == [[0, 10.0, 10.0, 30.0, 40.0]]
    assert _counts(m) == {"box_inverted": 1}
    assert m.problems.items[0].severity == "fix"


# --- shapes: skip --------------------------------------------------------------------------------------------------
def test_skipped_shape_keeps_its_class_present_and_leaves_the_image_out_of_detector_training(tmp_path):
    poly = '<polygon label="car" points="10,10;40,10;40,30"/>'
    body_a = f'{poly}<box label="person" xtl="1" ytl="2" xbr="9" ybr="9"/>'
    body_b = '<box label="car" xtl="1" ytl="2" xbr="9" ybr="9"/>'
    export = _xml(
        tmp_path / "e",
        f'<image id="0" name="a.jpg" width="100" height="80">{body_a}</image>'
        f'<image id="1" name="b.jpg" width="100" height="80">{body_b}</image>',
    )
    _img(tmp_path / "e" / "images" / "a.jpg")
    _img(tmp_path / "e" / "images" / "b.jpg", color=(1, 2, 3))
    m = _build(tmp_path, "cvat_xml", export, shapes="skip")
    a = next(r for r in m.images if r.path.endswith("a.jpg"))
    b = next(r for r in m.images if r.path.endswith("b.jpg"))
    assert a.labels["s"] == {"car": 1, "person": 1}  # the skipped polygon still says a car is there
    assert a.box_incomplete == {"s": ["car"]}
    assert m.box_complete("s", [a.id, b.id]) == [b.id]
    assert m.box_complete("s") == [b.id]
    # round trip keeps the marker
    assert Manifest.from_dict(json.loads(json.dumps(m.to_dict()))).box_complete("s", [a.id, b.id]) == [b.id]


def test_coco_skipped_mask_keeps_its_class(tmp_path):
    mask = {
        "category_id": 1,
        "iscrowd": 1,
        "attributes": {"occluded": False},  # as CVAT writes every annotation (a crowd region has none)
        "bbox": [0, 0, 0, 0],
        "segmentation": {"size": [80, 100], "counts": [5, 2, 7993]},
    }
    export = _coco(tmp_path / "e", [mask])
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_coco", export, shapes="skip")
    (rec,) = m.images
    assert rec.labels["s"] == {"car": 1, "person": 0} and rec.boxes["s"] == []
    assert m.box_complete("s", [rec.id]) == []


# --- folders: symlinked sub-folder ---------------------------------------------------------------------------------
def test_symlinked_sub_folder_inside_a_class_folder_is_read(tmp_path):
    _img(tmp_path / "elsewhere" / "x.png")
    _img(tmp_path / "sorted" / "car" / "a.png", color=(5, 5, 5))
    _img(tmp_path / "sorted" / "person" / "p.png", color=(6, 6, 6))
    (tmp_path / "sorted" / "car" / "batch2").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "sorted" / "car" / "loop").symlink_to(tmp_path / "sorted" / "car")  # a loop: must end
    m = _build(tmp_path, "folders", tmp_path / "sorted")
    x = next(r for r in m.images if r.path.endswith("x.png"))
    assert x.labels["s"] == {"car": 1, "person": 0}  # not silently a negative
    assert len(m) == 3
    assert _counts(m) == {"symlink_loop": 1}


# --- COCO with several subsets -------------------------------------------------------------------------------------
def test_coco_reads_every_subset_beside_instances_default(tmp_path):
    export = _coco(tmp_path / "e", [{"category_id": 1, "bbox": [1, 1, 5, 5]}])
    _coco(
        tmp_path / "e",
        [{"category_id": 2, "bbox": [2, 2, 5, 5]}],
        name="instances_train.json",
        images=[{"id": 1, "width": 100, "height": 80, "file_name": "t.jpg"}],
    )
    _img(tmp_path / "e" / "images" / "default" / "a.jpg")
    _img(tmp_path / "e" / "images" / "train" / "t.jpg", color=(3, 3, 3))
    m = _build(tmp_path, "cvat_coco", export)
    assert sorted(Path(r.path).name for r in m.images) == ["a.jpg", "t.jpg"]
    assert not m.problems.fatal


# --- duplicate images ------------------------------------------------------------------------------------------------
def test_duplicate_images_do_not_double_their_boxes(tmp_path):
    box = '<box label="car" xtl="10" ytl="10" xbr="30" ybr="40"/>'
    near = '<box label="car" xtl="10.2" ytl="10" xbr="30" ybr="40"/>'
    other = '<box label="person" xtl="10" ytl="10" xbr="30" ybr="40"/>'
    export = _xml(
        tmp_path / "e",
        f'<image id="0" name="a.jpg" width="100" height="80">{box}</image>'
        f'<image id="1" name="a_copy.jpg" width="100" height="80">{near}{other}</image>',
    )
    _img(tmp_path / "e" / "images" / "a.jpg")
    _img(tmp_path / "e" / "images" / "a_copy.jpg")  # byte-identical
    m = _build(tmp_path, "cvat_xml", export)
    (rec,) = m.images
    assert sorted(b[0] for b in rec.boxes["s"]) == [0, 1]  # one car (merged), one person
    counts = m.problems.counts()
    assert counts["duplicate_box_merged"] == 1 and counts["duplicate_image"] == 1


# --- EXIF orientation ------------------------------------------------------------------------------------------------
def test_exif_rotated_photo_with_boxes_in_display_coordinates(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 100x50, shown (by CVAT, viewers, torchvision, OpenCV) as 50x100
    _img(tmp_path / "e" / "images" / "r.jpg", size=(100, 50), exif=exif)
    body = '<box label="car" xtl="10" ytl="60" xbr="40" ybr="90"/>'  # below y=50: only fits the displayed image
    export = _xml(tmp_path / "e", f'<image id="0" name="r.jpg" width="50" height="100">{body}</image>')
    m = _build(tmp_path, "cvat_xml", export)
    (rec,) = m.images
    assert (rec.width, rec.height) == (50, 100)
    assert rec.boxes["s"] == [[0, 10.0, 60.0, 40.0, 90.0]] and rec.labels["s"]["car"] == 1
    (p,) = [p for p in m.problems.items if p.kind != "class_unlabeled"]
    assert p.kind == "exif_rotated" and "as displayed" in p.message


# --- cvat_xml names with a folder, symlinked images -------------------------------------------------------------------
def test_cvat_xml_name_with_folder_falls_back_to_the_basename(tmp_path):
    flat = tmp_path / "flat"
    _img(flat / "img1.jpg")
    body = '<box label="car" xtl="10" ytl="10" xbr="30" ybr="40"/>'
    export = _xml(tmp_path / "e", f'<image id="0" name="frames/img1.jpg" width="100" height="80">{body}</image>')
    m = _build(tmp_path, "cvat_xml", export, images=flat)
    (rec,) = m.images
    assert rec.path == str(flat / "img1.jpg") and not _counts(m)


def test_cvat_xml_basename_fallback_that_is_ambiguous_is_counted(tmp_path):
    flat = tmp_path / "flat"
    _img(flat / "img1.jpg")
    export = _xml(
        tmp_path / "e",
        '<image id="0" name="day/img1.jpg" width="100" height="80"/>'
        '<image id="1" name="night/img1.jpg" width="100" height="80"/>',
    )
    m = _build(tmp_path, "cvat_xml", export, images=flat)
    assert m.problems.counts().get("ambiguous_image_name") == 2


def test_symlinked_images_are_read_not_refused(tmp_path):
    store = tmp_path / "store"  # a DVC / git-annex cache: the tree holds links into it
    _img(store / "blob1")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.jpg").symlink_to(store / "blob1")
    body = '<box label="car" xtl="10" ytl="10" xbr="30" ybr="40"/>'
    export = _xml(tmp_path / "e", f'<image id="0" name="a.jpg" width="100" height="80">{body}</image>')
    m = _build(tmp_path, "cvat_xml", export, images=tmp_path / "flat")
    assert not m.problems.fatal and len(m) == 1


def test_logical_escape_is_still_refused(tmp_path):
    _img(tmp_path / "flat" / "a.jpg")
    export = _xml(tmp_path / "e", '<image id="0" name="../secret.jpg" width="100" height="80"/>')
    m = _build(tmp_path, "cvat_xml", export, images=tmp_path / "flat")
    assert [p.kind for p in m.problems.fatal] == ["unsafe_path"]


# --- a class nobody labels -----------------------------------------------------------------------------------------
def test_inspect_flags_a_class_nobody_labels(tmp_path):
    from benchmarks.data.inspect import run_inspect

    _img(tmp_path / "sorted" / "car" / "a.png")
    _img(tmp_path / "sorted" / "person" / "b.png", color=(1, 1, 1))
    cfg = tmp_path / "clsdet.yaml"
    cfg.write_text("name: t\nclasses: [car, person, bus]\nsources:\n  s: {reader: folders, path: sorted}\n")
    report, m = run_inspect(cfg, cache_dir=tmp_path / "cache")
    probs = [p for p in m.problems.items if p.kind == "class_unlabeled"]
    assert len(probs) == 1 and "'bus'" in probs[0].message and probs[0].severity == "warning"
    assert "class_unlabeled: 1" in report
    assert np.isnan(m.targets("s")[:, 2]).all()


# --- found by the property tests (test_reader_properties.py) --------------------------------------------------------
@pytest.mark.parametrize(
    "shape",
    [
        '<polygon label="car" points="20,30;1,nan;5,5"/>',  # min/max skipped the nan: a wrong but finite box
        '<mask label="car" rle="1" left="0" top="0" width="inf" height="3"/>',  # OverflowError traceback
        '<box label="car" xtl="5" ytl="5" xbr="5" ybr="9"/>',  # zero area: dropped, and car became a silent 0
    ],
)
def test_unusable_shape_is_counted_and_leaves_its_class_na(tmp_path, shape):
    export = _xml(tmp_path / "e", f'<image id="0" name="a.jpg" width="100" height="80">{shape}</image>')
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_xml", export)
    (rec,) = m.images
    assert rec.boxes["s"] == [] and "car" not in rec.labels["s"] and rec.labels["s"]["person"] == 0
    assert m.box_complete("s", [rec.id]) == []
    assert sum(_counts(m).get(k, 0) for k in ("bad_shape", "box_zero_area")) == 1


def test_coco_polygon_with_an_odd_number_of_coordinates_is_counted(tmp_path):
    export = _coco(tmp_path / "e", [{"category_id": 1, "bbox": [], "segmentation": [[1, 1, 20, 20, 5]]}])
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_coco", export)
    assert m.images[0].boxes["s"] == [] and _counts(m) == {"bad_shape": 1}


# --- the same class of bug elsewhere in the readers ----------------------------------------------------------------
def test_yolo_list_file_entries_that_are_not_images_are_counted(tmp_path):
    root = tmp_path / "d"
    _img(root / "images" / "a.png")
    _img(root / "images" / "b.heic", color=(1, 1, 1))  # Ultralytics reads HEIC with a plugin; the others do not
    (root / "train.txt").write_text("images/a.png\nimages/b.heic\n")
    (root / "data.yaml").write_text("path: .\ntrain: train.txt\nnames: [car, person]\n")
    m = _build(tmp_path, "yolo_dataset", root / "data.yaml")
    assert len(m) == 1
    (p,) = [p for p in m.problems.items if p.kind == "not_an_image"]
    assert p.file.endswith("train.txt") and p.line == 2


def test_coco_duplicate_image_or_category_ids_are_fatal(tmp_path):
    images = [
        {"id": 1, "width": 100, "height": 80, "file_name": "a.jpg"},
        {"id": 1, "width": 100, "height": 80, "file_name": "b.jpg"},  # silently replaced a.jpg
    ]
    export = _coco(tmp_path / "e", [{"category_id": 1, "bbox": [1, 1, 5, 5]}], images=images)
    data = json.loads((export / "annotations" / "instances_default.json").read_text())
    data["categories"].append({"id": 1, "name": "bus"})  # silently renamed car
    (export / "annotations" / "instances_default.json").write_text(json.dumps(data))
    m = _build(tmp_path, "cvat_coco", export)
    assert sorted(p.kind for p in m.problems.fatal) == ["duplicate_id", "duplicate_id"]


def test_inspect_reports_images_left_out_of_detector_training(tmp_path):
    from benchmarks.data.inspect import inspect_report

    poly = '<polygon label="car" points="10,10;40,10;40,30"/>'
    export = _xml(tmp_path / "e", f'<image id="0" name="a.jpg" width="100" height="80">{poly}</image>')
    _img(tmp_path / "e" / "images" / "a.jpg")
    src = SourceConfig("cvat_xml", str(export), None, {"shapes": "skip"})
    cfg = BenchConfig(name="t", classes=CLASSES, sources={"s": src}, base_dir=str(tmp_path))
    report = inspect_report(build_manifest(cfg), cfg)
    assert "boxes incomplete in `s`: 1 image(s)" in report


# --- values no tool should write: a size that is no size, corrupt coordinates, crowds, float class ids ------------
@pytest.mark.parametrize(("width", "height"), [("0", "-5"), ("abc", "80"), ("100", "0")])
def test_cvat_image_size_that_is_no_size_is_counted(tmp_path, width, height):
    body = '<box label="car" xtl="1" ytl="2" xbr="9" ybr="9"/>'
    export = _xml(tmp_path / "e", f'<image id="0" name="a.jpg" width="{width}" height="{height}">{body}</image>')
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_xml", export)
    assert m.problems.counts().get("bad_declared_size") == 1
    (item,) = [p for p in m.problems.items if p.kind == "bad_declared_size"]
    shown = width if width.lstrip("-").isdigit() else repr(width)  # a number as read, text quoted
    assert f"width={shown} " in item.message
    assert "the file as displayed is 100x80" in item.message
    assert m.images[0].boxes["s"] == [[0, 1.0, 2.0, 9.0, 9.0]]  # boxes read against the real size


def test_coco_size_written_as_float_is_a_size(tmp_path):
    export = _coco(tmp_path / "e", [], images=[{"id": 1, "width": 100.0, "height": 80.0, "file_name": "a.jpg"}])
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_coco", export)
    assert "bad_declared_size" not in m.problems.counts() and "size_mismatch" not in m.problems.counts()


@pytest.mark.parametrize("bad", ["1e308", "-1e308", "100000"])
def test_far_away_coordinate_is_corrupt_like_inf(tmp_path, bad):
    body = (
        f'<box label="car" xtl="10" ytl="10" xbr="{bad}" ybr="30"/>'
        + '<box label="person" xtl="1" ytl="2" xbr="9" ybr="9"/>'
        + '<box label="person" xtl="50" ytl="50" xbr="120" ybr="90"/>'  # just past the edge: a real box, clipped
    )
    export = _xml(tmp_path / "e", f'<image id="0" name="a.jpg" width="100" height="80">{body}</image>')
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_xml", export)
    (rec,) = m.images
    assert rec.boxes["s"] == [[1, 1.0, 2.0, 9.0, 9.0], [1, 50.0, 50.0, 100.0, 80.0]]
    assert "car" not in rec.labels["s"]  # NA, as for inf: a car was drawn we cannot place
    assert m.problems.counts().get("bad_shape") == 1
    assert m.box_complete("s", [rec.id]) == []


def test_coco_crowd_region_is_left_out_of_training_and_counted(tmp_path):
    crowd = {
        "category_id": 2,
        "iscrowd": 1,
        "bbox": [10, 10, 50, 40],
        "segmentation": {"size": [80, 100], "counts": [810, 40, 7150]},
    }
    export = _coco(tmp_path / "e", [crowd, {"category_id": 1, "bbox": [1, 1, 5, 5]}])
    _img(tmp_path / "e" / "images" / "a.jpg")
    m = _build(tmp_path, "cvat_coco", export)
    (rec,) = m.images
    assert rec.boxes["s"] == [[0, 1.0, 1.0, 6.0, 6.0]]  # the crowd gave no box
    assert rec.labels["s"] == {"car": 1, "person": 1}  # but people are on the image
    assert m.problems.counts().get("crowd_region_skipped") == 1
    assert "crowd region (iscrowd: 1)" in next(p.message for p in m.problems.items if p.kind == "crowd_region_skipped")
    assert m.box_complete("s", [rec.id]) == []  # no box for the crowd: not detector background either


def test_yolo_class_ids_written_as_floats(tmp_path):
    m = _build(
        tmp_path, "cvat_yolo", _yolo(tmp_path / "e", "1.0 0.5 0.5 0.2 0.2\n0 0.2 0.2 0.1 0.1\n1.5 0.5 0.5 0.1 0.1\n")
    )
    (rec,) = m.images
    assert [b[0] for b in rec.boxes["s"]] == [1, 0]
    assert m.problems.counts().get("bad_line") == 1
    assert "class id '1.5' is not a whole number" in next(p.message for p in m.problems.items if p.kind == "bad_line")


def test_yolo_dataset_non_whole_class_id_says_so(tmp_path):
    label = tmp_path / "a.txt"
    label.write_text("1.0 0.5 0.5 0.2 0.2\n2.5 0.5 0.5 0.2 0.2\n")
    problems = Problems()
    boxes = parse_label_file(label, (100, 80), {0: "car", 1: "person", 2: "dog"}, problems)
    assert [b.label for b in boxes] == ["person"]
    assert "class id 2.5 is not a whole number" in problems.items[0].message
