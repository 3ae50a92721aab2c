"""`clsdet data inspect` on real exports (../shared) and on the demo data."""

from __future__ import annotations

import pytest

from benchmarks.cli import main
from benchmarks.data.inspect import detect_reader, run_inspect


def test_street_job_export_counts(cvat_fixtures, capsys):
    text, manifest = run_inspect(cvat_fixtures / "street_job_export")
    assert len(manifest) == 12
    assert sum(len(b) for r in manifest.images for b in r.boxes.values()) == 125
    assert len(manifest.classes) == 5
    assert "images: 12   boxes: 125   classes: 5" in text
    assert main(["data", "inspect", str(cvat_fixtures / "street_job_export")]) == 0
    assert "## per class" in capsys.readouterr().out


def test_coco128_counts(coco128):
    text, manifest = run_inspect(coco128 / "coco128.yaml")
    assert len(manifest) == 128
    assert sum(len(b) for r in manifest.images for b in r.boxes.values()) == 929
    assert "images: 128   boxes: 929" in text


def test_reader_detection(cvat_fixtures, coco128):
    assert detect_reader(cvat_fixtures / "street_job_export") == "cvat_xml"
    assert detect_reader(coco128 / "coco128.yaml") == "yolo_dataset"


def test_fatal_problem_exits_nonzero(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "folders" / "cat").mkdir(parents=True)
    (tmp_path / "folders" / "zebra").mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(tmp_path / "folders" / "cat" / "a.png")
    Image.new("RGB", (8, 8), "blue").save(tmp_path / "folders" / "zebra" / "b.png")
    (tmp_path / "c.yaml").write_text(
        "name: t\nclasses: [cat, dog]\nsources:\n  f: {reader: folders, path: folders}\n"
        "labels: {classifier: f, truth: f}\n"
    )
    assert main(["data", "inspect", str(tmp_path / "c.yaml")]) == 1
    out = capsys.readouterr().out
    assert "unknown_class" in out and "'zebra'" in out and "aliases" in out


@pytest.mark.parametrize("name", ["unknown.bin"])
def test_undetectable_dataset_names_the_readers(tmp_path, name):
    from benchmarks.data.problems import DataError

    (tmp_path / name).write_bytes(b"x")
    with pytest.raises(DataError, match="pass --reader"):
        detect_reader(tmp_path / name)


def _zip(path, names):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for n in names:
            z.writestr(n, "x")


DETECTION = [  # (files of the dataset, or a single file's name, the reader detected; None: nothing fits)
    ("export.zip:annotations.xml,images/a.jpg", "cvat_xml"),
    ("export.zip:obj.names,obj.data", "cvat_yolo"),
    ("export.zip:annotations/instances_default.json", "cvat_coco"),
    ("export.zip:obj.names,instances_a.json", "cvat_yolo"),
    ("export.zip:readme.txt", None),
    ("a.xml", "cvat_xml"),
    ("data.yaml", "yolo_dataset"),
    ("data.YML", "yolo_dataset"),
    ("instances.json", "cvat_coco"),
    ("labels.txt", "labels_txt"),
    ("labels.bin", None),
    ("d/annotations.xml,d/data.yaml", "cvat_xml"),
    ("d/obj.names,d/annotations/instances_a.json", "cvat_yolo"),
    ("d/annotations/instances_a.json,d/x.yaml", "cvat_coco"),
    ("d/instances_b.json", "cvat_coco"),
    ("d/data.yaml,d/images/a.jpg", "yolo_dataset"),
    ("d/coco.yaml", "yolo_dataset"),
    ("d/annotations/cat.txt,d/images/a.jpg", "class_lists"),
    ("d/cat/a.jpg,d/dog/b.png", "folders"),
    ("d/cat/sub/a.jpg", None),  # images two levels down are no label folders
    ("d/a.jpg", None),
    ("d/a.txt", None),
]


@pytest.mark.parametrize(("files", "expected"), DETECTION, ids=[d[0] for d in DETECTION])
def test_each_layout_is_detected_as_its_reader(tmp_path, files, expected):
    from benchmarks.data.problems import DataError

    if ":" in files:
        name, members = files.split(":")
        _zip(tmp_path / name, members.split(","))
        target = tmp_path / name
    else:
        for rel in files.split(","):
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text("x")
        target = tmp_path / files.split(",")[0].split("/")[0]
    if expected is None:
        with pytest.raises(DataError, match="cannot tell what kind of dataset"):
            detect_reader(target)
    else:
        assert detect_reader(target) == expected


def test_a_zip_that_cannot_be_opened_is_named(tmp_path):
    from benchmarks.data.problems import DataError

    (tmp_path / "export.zip").write_bytes(b"PK\x05\x06" + b"\0" * 10)  # an end record and nothing else: truncated
    with pytest.raises(DataError, match="export.zip is not a readable zip archive"):
        detect_reader(tmp_path / "export.zip")
