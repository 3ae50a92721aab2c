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
