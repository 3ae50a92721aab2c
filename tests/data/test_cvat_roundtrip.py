"""The same boxes written as CVAT XML, COCO 1.0 and YOLO 1.1 (folder and zip) read back into the same manifest."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from PIL import Image

from benchmarks.config import BenchConfig, SourceConfig
from benchmarks.data.build import build_manifest

CLASSES = ["cat", "dog", "bird"]
# name, width, height, colour, boxes (label, x1, y1, x2, y2); c.jpg has no boxes: a negative
ITEMS = [
    ("a.jpg", 64, 48, (200, 30, 30), [("cat", 5.0, 6.0, 30.0, 40.0), ("dog", 10.5, 2.25, 60.0, 20.0)]),
    ("b.png", 40, 40, (30, 200, 30), [("dog", 1.0, 1.0, 20.0, 20.0), ("bird", 20.0, 5.0, 39.0, 35.5)]),
    ("c.jpg", 50, 30, (30, 30, 200), []),
]


def write_images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, w, h, colour, _ in ITEMS:
        Image.new("RGB", (w, h), colour).save(folder / name)


def write_xml(root: Path, images: bool = True) -> Path:
    labels = "".join(f"<label><name>{c}</name><type>any</type><attributes/></label>" for c in CLASSES)
    body = []
    for i, (name, w, h, _, boxes) in enumerate(ITEMS):
        shapes = "".join(
            f'<box label="{lb}" source="manual" occluded="0" xtl="{x1:.2f}" ytl="{y1:.2f}" xbr="{x2:.2f}" '
            f'ybr="{y2:.2f}" z_order="0"></box>'
            for lb, x1, y1, x2, y2 in boxes
        )
        body.append(f'<image id="{i}" name={quoteattr(name)} width="{w}" height="{h}">{shapes}</image>')
    root.mkdir(parents=True, exist_ok=True)
    (root / "annotations.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>'
        f"<meta><job><id>1</id><labels>{labels}</labels></job></meta>{''.join(body)}</annotations>"
    )
    if images:
        write_images(root / "images")
    return root


def write_coco(root: Path, images: bool = True) -> Path:
    data = {"licenses": [], "info": {}, "categories": [], "images": [], "annotations": []}
    data["categories"] = [{"id": i + 1, "name": c, "supercategory": ""} for i, c in enumerate(CLASSES)]
    for i, (name, w, h, _, boxes) in enumerate(ITEMS, 1):
        data["images"].append({"id": i, "width": w, "height": h, "file_name": name, "license": 0})
        for lb, x1, y1, x2, y2 in boxes:
            data["annotations"].append(
                {
                    "id": len(data["annotations"]) + 1,
                    "image_id": i,
                    "category_id": CLASSES.index(lb) + 1,
                    "segmentation": [],
                    "area": (x2 - x1) * (y2 - y1),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "iscrowd": 0,
                    "attributes": {"occluded": False, "rotation": 0.0},
                }
            )
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "instances_default.json").write_text(json.dumps(data))
    if images:
        write_images(root / "images")
    return root


def write_yolo(root: Path, images: bool = True) -> Path:
    data_dir = root / "obj_train_data"
    data_dir.mkdir(parents=True, exist_ok=True)
    (root / "obj.names").write_text("".join(f"{c}\n" for c in CLASSES))
    (root / "obj.data").write_text(
        f"classes = {len(CLASSES)}\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    )
    (root / "train.txt").write_text("".join(f"data/obj_train_data/{name}\n" for name, *_ in ITEMS))
    for name, w, h, _, boxes in ITEMS:
        # CVAT writes 6 decimals: cls cx cy w h, normalised by the image size
        lines = [
            f"{CLASSES.index(lb)} "
            + " ".join(f"{v:.6f}" for v in ((x1 + x2) / 2 / w, (y1 + y2) / 2 / h))
            + " "
            + " ".join(f"{v:.6f}" for v in ((x2 - x1) / w, (y2 - y1) / h))
            for lb, x1, y1, x2, y2 in boxes
        ]
        (data_dir / Path(name).with_suffix(".txt")).write_text("\n".join(lines))
    if images:
        write_images(data_dir)
    return root


WRITERS = {"cvat_xml": write_xml, "cvat_coco": write_coco, "cvat_yolo": write_yolo}


def zip_folder(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return dest


def manifest_of(reader: str, path: Path, tmp: Path, images: Path | None = None):
    src = SourceConfig(reader, str(path), str(images) if images else None, {"cache_dir": str(tmp / "cache")})
    cfg = BenchConfig(name="t", classes=CLASSES, sources={"cvat": src}, base_dir=str(tmp))
    return build_manifest(cfg, cache_dir=tmp / "cache")


def summary(manifest) -> dict:
    """{image id: (labels, boxes as (class, x1, y1, x2, y2))}, the comparable content of a manifest."""
    return {r.id: (r.labels["cvat"], sorted(tuple(b) for b in r.boxes["cvat"])) for r in manifest.images}


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict:
    """The reference: CVAT XML in a folder with its images (ids are content hashes, identical everywhere)."""
    tmp = tmp_path_factory.mktemp("ref")
    manifest = manifest_of("cvat_xml", write_xml(tmp / "export"), tmp)
    assert not manifest.problems.items, manifest.problems.to_list()
    return summary(manifest)


def test_reference_has_every_box_and_the_negative(expected):
    assert len(expected) == 3
    assert sum(len(boxes) for _, boxes in expected.values()) == 4
    negatives = [labels for labels, boxes in expected.values() if not boxes]
    assert negatives == [{"cat": 0, "dog": 0, "bird": 0}]


def assert_same(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for image_id, (labels, boxes) in expected.items():
        assert got[image_id][0] == labels
        assert len(got[image_id][1]) == len(boxes)
        for a, b in zip(got[image_id][1], boxes):
            assert a[0] == b[0]
            assert a[1:] == pytest.approx(b[1:], abs=1.0)  # YOLO normalisation rounds


@pytest.mark.parametrize("packaging", ["folder", "zip"])
@pytest.mark.parametrize("reader", sorted(WRITERS))
def test_same_manifest_from_every_format(reader, packaging, expected, tmp_path):
    export = WRITERS[reader](tmp_path / "export")
    if packaging == "zip":
        export = zip_folder(export, tmp_path / "export.zip")
    before = sorted(p.name for p in tmp_path.iterdir())
    manifest = manifest_of(reader, export, tmp_path)
    assert not manifest.problems.items, manifest.problems.to_list()
    assert_same(summary(manifest), expected)
    # a zip's images are extracted into the cache only, never beside the user's file
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == [b for b in before if b != "cache"]
    if packaging == "zip":
        assert all(Path(r.path).is_relative_to(tmp_path / "cache") for r in manifest.images)


@pytest.mark.parametrize("reader", sorted(WRITERS))
def test_annotations_only_export_with_images_folder(reader, expected, tmp_path):
    export = zip_folder(WRITERS[reader](tmp_path / "export", images=False), tmp_path / "export.zip")
    write_images(tmp_path / "photos")
    manifest = manifest_of(reader, export, tmp_path, images=tmp_path / "photos")
    assert not manifest.problems.items, manifest.problems.to_list()
    assert_same(summary(manifest), expected)
    assert {Path(r.path).parent for r in manifest.images} == {(tmp_path / "photos").resolve()}
