"""CVAT for images 1.1 reader: shapes, tags, project exports and every kind of bad input, each counted or refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from benchmarks.config import BenchConfig, SourceConfig
from benchmarks.data.build import build_manifest
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceSpec, read_source

LABELS = ("car", "person")


def labels_xml(labels=LABELS) -> str:
    return "<labels>" + "".join(f"<label><name>{n}</name><attributes/></label>" for n in labels) + "</labels>"


def write_export(root: Path, images: str, labels=LABELS, head: str = "", meta: str | None = None) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)  # as CVAT writes it with "Save images" on
    meta = meta if meta is not None else f"<job><id>1</id>{labels_xml(labels)}</job>"
    (root / "annotations.xml").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n{head}<annotations><version>1.1</version>'
        f"<meta>{meta}</meta>\n{images}\n</annotations>"
    )
    return root


def image(name="a.jpg", body="", w=100, h=80, extra="") -> str:
    return f'<image id="0" name="{name}" width="{w}" height="{h}"{extra}>{body}</image>'


def box(label="car", xtl=10, ytl=10, xbr=30, ybr=40, extra="") -> str:
    return f'<box label="{label}" occluded="0" xtl="{xtl}" ytl="{ytl}" xbr="{xbr}" ybr="{ybr}" z_order="0"{extra}/>'


def read(path: Path, images: Path | None = None, **options):
    problems = Problems()
    result = read_source(SourceSpec("cvat", "cvat_xml", path, images, options), problems)
    return result, problems


def build(path: Path, tmp: Path, images: Path | None = None, classes=LABELS):
    src = SourceConfig("cvat_xml", str(path), str(images) if images else None)
    cfg = BenchConfig(name="t", classes=list(classes), sources={"cvat": src}, base_dir=str(tmp))
    return build_manifest(cfg, cache_dir=tmp / "cache")


def add_image(folder: Path, name="a.jpg", size=(100, 80)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 120, 150)).save(folder / name)


# --- refused or fatal -------------------------------------------------------------------------------------------
def test_malformed_xml_is_fatal_with_line_and_column(tmp_path):
    export = write_export(tmp_path / "e", image(body=box()).replace("</image>", "</imag>"))
    result, problems = read(export)
    (p,) = problems.fatal
    assert p.kind == "malformed_xml"
    assert p.file.endswith("annotations.xml")
    assert p.line == 3 and "column" in p.message
    assert result.rows == []


def test_undeclared_box_label_is_fatal_naming_image_and_label(tmp_path):
    export = write_export(tmp_path / "e", image(name="x.jpg", body=box("truck") + box("car")))
    result, problems = read(export)
    (p,) = problems.fatal
    assert p.kind == "undeclared_label"
    assert 'id="0"' in p.file and 'name="x.jpg"' in p.file
    assert "'truck'" in p.message and p.fix
    assert [b.label for b in result.rows[0].boxes] == ["car"]


def test_empty_export_is_fatal(tmp_path):
    _, problems = read(write_export(tmp_path / "e", ""))
    assert [(p.kind, p.message) for p in problems.fatal] == [("empty_export", "export has no images")]


@pytest.mark.parametrize(
    "head",
    [
        '<!DOCTYPE annotations [<!ENTITY lol "lol">]>\n',  # an entity declaration ("billion laughs" seed)
        '<!DOCTYPE annotations [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',  # external entity (XXE)
        '<!DOCTYPE annotations SYSTEM "http://example.com/x.dtd">\n',  # an external DTD
    ],
)
def test_xml_with_dtd_or_entities_is_refused(tmp_path, head):
    export = write_export(tmp_path / "e", image(body=box()), head=head)
    result, problems = read(export)
    assert [p.kind for p in problems.fatal] == ["xml_refused"]
    assert problems.fatal[0].file.endswith("annotations.xml")
    assert result.rows == []


def test_video_export_is_refused_with_the_fix(tmp_path):
    track = '<track id="0" label="car"><box frame="0" outside="0" xtl="1" ytl="1" xbr="5" ybr="5"/></track>'
    _, problems = read(write_export(tmp_path / "e", track))
    assert [p.kind for p in problems.fatal] == ["unsupported_format"]
    assert "CVAT for images 1.1" in problems.fatal[0].fix


def test_unknown_option_value_is_fatal(tmp_path):
    _, problems = read(write_export(tmp_path / "e", image(body=box())), shapes="polygon")
    assert [p.kind for p in problems.fatal] == ["bad_option"]
    assert "allowed values: box, skip" in problems.fatal[0].message


# --- counted by the builder ---------------------------------------------------------------------------------------
def test_box_outside_image_is_clipped_and_zero_area_dropped(tmp_path):
    body = box(xtl=-5, ytl=10, xbr=50, ybr=90) + box("person", 20, 20, 20, 30) + box("person", 1, 2, 3, 4)
    export = write_export(tmp_path / "e", image(body=body))
    add_image(export / "images")
    manifest = build(export, tmp_path)
    counts = manifest.problems.counts()
    assert counts == {"box_clipped": 1, "box_zero_area": 1}
    (rec,) = manifest.images
    assert rec.boxes["cvat"] == [[0, 0.0, 10.0, 50.0, 80.0], [1, 1.0, 2.0, 3.0, 4.0]]


def test_missing_image_file_is_counted_with_where_it_should_be(tmp_path):
    images = image(name="here.jpg", body=box()) + image(name="gone.jpg", body=box()).replace('id="0"', 'id="7"')
    export = write_export(tmp_path / "e", images)
    add_image(export / "images", "here.jpg")
    result, problems = read(export)
    gone = result.rows[1]
    assert gone.path == export / "images" / "gone.jpg"
    assert gone.where.endswith('annotations.xml <image id="7" name="gone.jpg">')
    assert (gone.width, gone.height) == (100, 80)
    manifest = build(export, tmp_path)
    assert manifest.problems.counts() == {"missing_image": 1}
    assert 'name="gone.jpg"' in manifest.problems.items[0].file
    assert len(manifest) == 1


# --- shapes, tags, rotation ---------------------------------------------------------------------------------------
SHAPES = {
    "polygon": ('<polygon label="car" points="10,20;40,5;30,60"/>', (10, 5, 40, 60)),
    "polyline": ('<polyline label="car" points="1,2;3,9"/>', (1, 2, 3, 9)),
    "points": ('<points label="car" points="5,5;8,1;2,7"/>', (2, 1, 8, 7)),
    "ellipse": ('<ellipse label="car" cx="50" cy="40" rx="10" ry="5"/>', (40, 35, 60, 45)),
    "ellipse90": ('<ellipse label="car" cx="50" cy="40" rx="10" ry="5" rotation="90"/>', (45, 30, 55, 50)),
    # CVAT: width = right - left + 1, so a 3x2 mask at (4, 6) covers pixels 4..6, 6..7: box (4, 6, 7, 8)
    "mask": ('<mask label="car" rle="1, 4, 1" left="4" top="6" width="3" height="2"/>', (4, 6, 7, 8)),
    "skeleton": (
        '<skeleton label="car"><points label="1" outside="0" points="3,4"/>'
        '<points label="2" outside="1" points="90,90"/><points label="3" outside="0" points="9,1"/></skeleton>',
        (3, 1, 9, 4),
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_becomes_its_enclosing_box_and_is_counted(tmp_path, shape):
    xml, expected = SHAPES[shape]
    result, problems = read(write_export(tmp_path / "e", image(body=xml)))
    (b,) = result.rows[0].boxes
    assert (b.label, b.x1, b.y1, b.x2, b.y2) == pytest.approx(("car", *expected), abs=1e-6)
    assert [(p.severity, p.kind) for p in problems.items] == [("fix", "shape_to_box")]


def test_shapes_skip_option_counts_and_keeps_boxes(tmp_path):
    body = "".join(xml for xml, _ in SHAPES.values()) + box("person")
    result, problems = read(write_export(tmp_path / "e", image(body=body)), shapes="skip")
    assert [b.label for b in result.rows[0].boxes] == ["person"]
    assert problems.counts() == {"shape_skipped": len(SHAPES)}
    assert {p.severity for p in problems.items} == {"skip"}


def test_rotated_box_becomes_its_enclosing_box(tmp_path):
    # a 10 x 20 box centred on (20, 20) turned 90 degrees is 20 x 10; at 45 degrees half-extents are 15/sqrt(2)
    body = box(xtl=15, ytl=10, xbr=25, ybr=30, extra=' rotation="90.00"') + box(
        xtl=15, ytl=10, xbr=25, ybr=30, extra=' rotation="45"'
    )
    result, problems = read(write_export(tmp_path / "e", image(body=body)))
    b90, b45 = result.rows[0].boxes
    assert (b90.x1, b90.y1, b90.x2, b90.y2) == pytest.approx((10, 15, 30, 25))
    half = 15 / 2**0.5
    assert (b45.x1, b45.y1, b45.x2, b45.y2) == pytest.approx((20 - half, 20 - half, 20 + half, 20 + half))
    assert problems.counts() == {"rotated_box_enclosed": 2}


def test_tag_is_an_image_level_label(tmp_path):
    images = image(name="a.jpg", body='<tag label="person" source="manual"/>') + image(name="b.jpg", body="").replace(
        'id="0"', 'id="1"'
    )
    export = write_export(tmp_path / "e", images)
    add_image(export / "images", "a.jpg")
    Image.new("RGB", (100, 80), (1, 2, 3)).save(export / "images" / "b.jpg")
    result, _ = read(export)
    assert result.rows[0].labels == {"person": 1} and result.rows[0].boxes == []
    manifest = build(export, tmp_path)
    assert not manifest.problems.items
    by_name = {Path(r.path).name: r for r in manifest.images}
    assert by_name["a.jpg"].labels["cvat"] == {"person": 1, "car": 0}
    assert by_name["b.jpg"].labels["cvat"] == {"person": 0, "car": 0}  # listed with no shapes: a negative


def test_project_export_with_two_tasks(tmp_path):
    meta = (
        f"<project><id>3</id><name>p</name>{labels_xml(('car', 'person', 'skel'))}"
        "<tasks><task><id>11</id><name>t1</name><size>1</size></task>"
        "<task><id>12</id><name>t2</name><size>1</size></task></tasks></project>"
    )
    # a skeleton's sub-labels carry <parent>: they are not classes of their own
    meta = meta.replace("</labels>", "<label><name>nose</name><parent>skel</parent></label></labels>")
    images = image("a.jpg", box("car"), extra=' subset="Train" task_id="11"') + image(
        "a.jpg", box("person"), extra=' subset="Validation" task_id="12"'
    ).replace('id="0"', 'id="1"')
    export = write_export(tmp_path / "e", images, meta=meta)
    add_image(export / "images" / "Train", "a.jpg")
    (export / "images" / "Validation").mkdir()
    Image.new("RGB", (100, 80), (7, 7, 7)).save(export / "images" / "Validation" / "a.jpg")  # a different photo
    result, problems = read(export)
    assert not problems.items
    assert result.vocabulary == ["car", "person", "skel"]
    assert [r.path for r in result.rows] == [export / "images/Train/a.jpg", export / "images/Validation/a.jpg"]
    assert [[b.label for b in r.boxes] for r in result.rows] == [["car"], ["person"]]
    manifest = build(export, tmp_path, classes=("car", "person", "skel"))
    assert len(manifest) == 2 and not manifest.problems.items
