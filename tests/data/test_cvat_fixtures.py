"""Real CVAT exports from ../shared/fixtures/cvat (skipped when absent): counts end to end through the builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.config import BenchConfig, SourceConfig
from benchmarks.data.build import build_manifest
from benchmarks.data.problems import Problems
from benchmarks.data.sources import SourceSpec, read_source

STREET_CLASSES = ["Car", "Person", "Road", "Roof", "Building"]


def build(folder: Path, reader: str, path: str, images: str | None, classes: list[str], tmp: Path):
    src = SourceConfig(reader, path, images)
    cfg = BenchConfig(name="t", classes=classes, sources={"cvat": src}, base_dir=str(folder))
    return build_manifest(cfg, cache_dir=tmp / "cache")


def n_boxes(manifest) -> int:
    return sum(len(b) for r in manifest.images for b in r.boxes.values())


def test_street_job_export_end_to_end(cvat_fixtures, tmp_path):
    folder = cvat_fixtures / "street_job_export"
    manifest = build(folder, "cvat_xml", ".", "images", STREET_CLASSES, tmp_path)
    # what `clsdet data inspect` reports: 12 images, 125 boxes, 5 classes, and nothing to complain about
    assert (len(manifest), n_boxes(manifest), len(manifest.classes)) == (12, 125, 5)
    assert manifest.problems.items == []
    assert manifest.sources["cvat"].vocabulary == STREET_CLASSES
    per_class = manifest.class_table().set_index("class")["boxes"].to_dict()
    assert sum(per_class.values()) == 125 and all(v > 0 for v in per_class.values())
    assert all((r.width, r.height) == (173, 173) for r in manifest.images)


def test_street_instances_json_via_coco(cvat_fixtures, tmp_path):
    folder = cvat_fixtures / "street_job_export"
    # the COCO file written beside the XML speaks about two of the five labels only: Car and Person
    coco = build(folder, "cvat_coco", "instances.json", None, ["Car", "Person"], tmp_path)
    xml = build(folder, "cvat_xml", ".", "images", ["Car", "Person"], tmp_path)
    assert (len(coco), n_boxes(coco)) == (12, 100)
    assert not coco.problems.items
    assert set(coco.ids) == set(xml.ids)  # same photos, same content-hash ids
    for image_id in coco.ids:
        a = sorted(coco.boxes("cvat", image_id))
        b = sorted(xml.boxes("cvat", image_id))
        assert len(a) == len(b) and all(x[0] == y[0] and x[1:] == pytest.approx(y[1:], abs=0.01) for x, y in zip(a, b))


def test_cats_job_export_rows_and_missing_images(cvat_fixtures, tmp_path):
    folder = cvat_fixtures / "cats_job_export"
    problems = Problems()
    result = read_source(SourceSpec("cvat", "cvat_xml", folder), problems)
    assert len(result.rows) == 14
    assert sum(len(r.boxes) for r in result.rows) == 24
    assert result.vocabulary == ["Cat", "Cats"]
    assert not problems.fatal
    first = result.rows[0]
    assert (first.width, first.height) == (2670, 4000)  # large photos: sizes as the XML states them
    assert first.path == folder / "images" / "pexels-arina-krasnikova-7726103.jpg"
    assert first.where.endswith('<image id="0" name="pexels-arina-krasnikova-7726103.jpg">')
    assert problems.counts() == {"images_not_found": 1}  # the export ships without its images
    manifest = build(folder, "cvat_xml", ".", None, ["Cat", "Cats"], tmp_path)
    assert len(manifest) == 0
    assert manifest.problems.counts() == {"images_not_found": 1, "missing_image": 14}
    assert not manifest.problems.fatal
