"""Object size vs imgsz: per-class median boxes, each model's resize rule, and the < 12 px warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.data.manifest import ImageRecord, Manifest, SourceInfo
from benchmarks.data.sizes import object_sizes, sizes_text


def _manifest():
    # 640 x 480 photos; "platelet" boxes 40 x 40 px, "cell" boxes 200 x 120 px
    recs = []
    for i in range(3):
        boxes = [[0, 10, 10, 50, 50], [1, 100, 100, 300, 220]]
        recs.append(ImageRecord(f"id{i}", "x", f"/p/{i}.jpg", 640, 480, boxes={"cvat": boxes}))
    src = {"cvat": SourceInfo("cvat_xml", "boxes", "x.zip", ["platelet", "cell"])}
    return Manifest(["platelet", "cell"], src, recs)


def test_sizes_and_warning():
    s = object_sizes(_manifest(), {"classifier": 160, "detector": 160})
    assert s["images"]["width"]["median"] == 640 and s["images"]["height"]["max"] == 480
    pl, cell = s["per_class"]["platelet"], s["per_class"]["cell"]
    assert pl["n_boxes"] == 3 and pl["median_box_px"] == pytest.approx(40)
    assert cell["median_box_px"] == pytest.approx((200 * 120) ** 0.5)
    assert pl["median_box_px_at"]["detector"] == pytest.approx(40 * 160 / 640)  # letterbox: 10 px
    assert pl["median_box_px_at"]["classifier"] == pytest.approx(40 * 160 / (0.875 * 480))  # short side + crop
    # 10 px for the detector warns; 15.2 px for the classifier (its crop enlarges) does not
    assert s["warnings"] == [
        "platelet: median box 40 px shrinks to 10.0 px at the detector's imgsz 160 (< 12 px): raise "
        "detector.imgsz or crop/tile the images"
    ]
    assert object_sizes(_manifest(), {"detector": 640})["warnings"] == []
    text = "\n".join(sizes_text(s))
    assert "| platelet | 3 | 40.0 | 15.2 | 10.0 |" in text and "WARNING: platelet" in text


def test_inspect_shows_sizes(cvat_fixtures: Path):
    from benchmarks.data.inspect import run_inspect

    text, _ = run_inspect(cvat_fixtures / "street_job_export")
    assert "## object size vs input size" in text and "at detector imgsz" in text
