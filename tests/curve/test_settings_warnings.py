"""Warnings where the settings decide the answer (benchmarks/curve/warnings.py): on the committed reference records,
modified into the runs that prompted them, in the verdict, the report and the console."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from benchmarks.curve.verdict import with_warnings
from benchmarks.curve.warnings import after_training, before_training, warning_lines
from benchmarks.data.manifest import ImageRecord, Manifest, SourceInfo
from benchmarks.report.console import headline_text

# copies of results/reference/demo-quick-cpu2-intel-xeon and coco128-top4-cpu2-amd-epyc's results.json (training
# histories, latency and test ids left out), kept as fixtures so these tests do not change when a reference is re-run
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "settings"
DEMO = FIXTURES / "demo_quick_v2.json"  # a healthy run on the demo data
COCO = FIXTURES / "coco128_v1_verdict.json"  # an older record: the one-text verdict, no object sizes, no warnings


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _photos(results: dict) -> dict:
    """The demo record as if it came from real photos (the demo is recognised by its name and classes)."""
    r = copy.deepcopy(results)
    r["config"]["name"] = r["name"] = "photos"
    return r


def _learned_nothing_run() -> dict:
    """The run that prompted the check: the detector at box mAP50 0.009, no better than a random ranking, and the
    verdict's curve sentence saying the classifier is ahead."""
    r = _photos(_load(DEMO))
    r["models"]["detector"]["box"]["map50"] = 0.009
    vm = r["curve"]["verdict"]["models"]["detector"]
    vm.update({"beats_baseline": False, "macro_ap": 0.19, "random_ranking_ap": 0.17, "p_value": 0.41})
    return r


def _pretrained(results: dict) -> dict:
    r = copy.deepcopy(results)
    r["models"]["classifier"]["config"].update({"mode": "finetune", "weights": "imagenet"})
    r["models"]["detector"]["config"]["weights"] = "pretrained"
    return r


def _kinds(ws: list[dict]) -> list[tuple[str, str | None]]:
    return [(w["kind"], w["model"]) for w in ws]


def test_detector_that_learned_nothing_is_named_first_in_the_verdict():
    r = _learned_nothing_run()
    ws = after_training(r)
    assert _kinds(ws)[0] == ("learned_nothing", "detector")
    assert ("learned_nothing", "classifier") not in _kinds(ws)
    v = with_warnings(r["curve"]["verdict"], ws)
    lead = (
        "The detector (CVAT boxes) learned nothing here (box mAP50 0.009; macro AP 0.19 vs 0.17 for a random "
        "ranking, p = 0.41"
    )
    assert v["answer"].startswith(lead)
    assert "the comparison says nothing about CVAT boxes" in v["answer"]
    ahead = v["answer"].index("the classifier (folder sorting) is ahead")  # the claim is still there, after it
    assert v["answer"].index(lead) < ahead and v["text"].startswith(lead)
    assert "more epochs (now 14)" in ws[0]["fix"] and "pretrained weights" in ws[0]["fix"]
    assert v["warnings"] == ws
    again = with_warnings(v, ws)  # assemble runs it again on the curve stage's verdict: no second lead
    assert again["answer"].count("learned nothing") == 1 and again["text"] == v["text"]


def test_box_map_alone_below_the_floor_is_learned_nothing():
    r = _photos(_load(DEMO))
    r["models"]["detector"]["box"]["map50"] = 0.049  # beats the random ranking, but finds no boxes
    ws = [w for w in after_training(r) if w["kind"] == "learned_nothing"]
    assert _kinds(ws) == [("learned_nothing", "detector")] and "box mAP50 below 0.05" in ws[0]["text"]
    r["models"]["detector"]["box"]["map50"] = 0.051
    assert [w for w in after_training(r) if w["kind"] == "learned_nothing"] == []


def test_from_scratch_names_the_exact_weights_files():
    from classifier.backbones import imagenet_weights_file
    from detector.models import weights_cache_dirs

    ws = {w["model"]: w for w in after_training(_photos(_load(DEMO))) if w["kind"] == "from_scratch"}
    file_name, folder = imagenet_weights_file("resnet18")
    assert ws["classifier"]["level"] == "warning"
    assert str(folder / file_name) in ws["classifier"]["fix"] and file_name.startswith("resnet18-")
    assert "`mode: finetune` and `weights: imagenet`" in ws["classifier"]["fix"]
    assert str(weights_cache_dirs()[0] / "yolo11n.pt") in ws["detector"]["fix"]
    assert "`weights: pretrained`" in ws["detector"]["fix"]
    assert "fine-tuning pretrained weights" in ws["detector"]["text"]
    assert not [w for w in after_training(_pretrained(_photos(_load(DEMO)))) if w["kind"] == "from_scratch"]


def test_demo_data_gets_notes_not_warnings():
    ws = after_training(_load(DEMO))
    assert sorted(_kinds(ws)) == [("from_scratch", "classifier"), ("from_scratch", "detector"), ("small_test", None)]
    assert {w["level"] for w in ws} == {"info"}
    assert all(line.startswith("note: ") for line in warning_lines(ws))


def test_healthy_run_has_no_warnings():
    r = _pretrained(_photos(_load(DEMO)))
    r["curve"]["verdict"]["self_check"]["detectable_difference"] = 0.05
    assert after_training(r) == []
    v = with_warnings(r["curve"]["verdict"], [])
    assert v["answer"] == r["curve"]["verdict"]["answer"]
    assert "Settings that decide the answer" not in headline_text({**r, "warnings": []})


@pytest.mark.parametrize(("detectable", "expect"), [(None, "no difference up to 0.2"), (0.2, "is 0.2 macro AP"),
                                                    (0.1, None)])  # fmt: skip
def test_small_test_split(detectable, expect):
    r = _pretrained(_photos(_load(DEMO)))
    r["curve"]["verdict"]["self_check"]["detectable_difference"] = detectable
    ws = after_training(r)
    if expect is None:
        assert ws == []
        return
    assert _kinds(ws) == [("small_test", None)] and ws[0]["level"] == "warning"
    assert "with 60 test images" in ws[0]["text"] and expect in ws[0]["text"]
    assert "`split.test` (now 0.15)" in ws[0]["fix"] and "`curve.splits`" in ws[0]["fix"]


def _manifest() -> Manifest:
    # 2048 x 1536 photos: "car" boxes 50 x 50 px (6.2 px at 256 px), "person" boxes 400 x 600 px
    recs = [ImageRecord(f"id{i}", "x", f"/p/{i}.jpg", 2048, 1536,
                        boxes={"cvat": [[0, 0, 0, 50, 50], [1, 100, 100, 500, 700]]}) for i in range(3)]  # fmt: skip
    return Manifest(["car", "person"], {"cvat": SourceInfo("cvat_xml", "boxes", "x.zip", ["car", "person"])}, recs)


def test_small_objects_before_and_after_training(tmp_path):
    from benchmarks.config import load_config

    config = {
        "name": "street", "classes": ["car", "person"],
        "sources": {"cvat": {"reader": "cvat_xml", "path": "x.zip", "images": "img"}},
        "labels": {"classifier": "cvat", "detector": "cvat", "truth": "cvat"},
        "classifier": {"imgsz": 640}, "detector": {"imgsz": 256, "weights": "none"},
    }  # fmt: skip
    (tmp_path / "c.yaml").write_text(json.dumps(config))
    cfg = load_config(tmp_path / "c.yaml")
    ws = before_training(cfg, _manifest())
    small = [w for w in ws if w["kind"] == "small_objects"]
    assert _kinds(small) == [("small_objects", "detector")]  # at 640 px the classifier sees cars at 20 px
    assert small[0]["text"].startswith("The detector (CVAT boxes) at 256 px: median box of car 6.2 px, below 12 px")
    assert "person" not in small[0]["text"] and "now 256" in small[0]["fix"]
    assert ("from_scratch", "detector") in _kinds(ws) and ("from_scratch", "classifier") in _kinds(ws)

    from benchmarks.curve.warnings import config_candidates, run_object_sizes

    r = _pretrained(_photos(_load(DEMO)))
    r["curve"]["verdict"]["self_check"]["detectable_difference"] = 0.05
    r["data"]["object_sizes"] = run_object_sizes(config_candidates(cfg), _manifest())
    assert _kinds(after_training(r)) == [("small_objects", "detector")]


def test_older_record_renders_with_what_it_can_say(tmp_path):
    from benchmarks.report import render_reports

    r = _load(COCO)
    assert "object_sizes" not in r["data"] and "warnings" not in r
    ws = after_training(r)
    assert _kinds(ws)[0] == ("learned_nothing", "detector") and "small_objects" not in {w["kind"] for w in ws}
    shutil.copy(COCO, tmp_path / "results.json")
    render_reports(tmp_path, formats=("md",))
    report = (tmp_path / "report.md").read_text()
    verdict = report.split("## Verdict", 1)[1].strip().split("\n\n", 1)[0]
    assert verdict.startswith("The detector (CVAT boxes) learned nothing here (box mAP50 0.000")
    section = report.split("### Settings that decide the answer", 1)[1]
    assert "- Warning (learned_nothing): The detector (CVAT boxes) learned nothing" in section
    assert "- Warning (from_scratch): The classifier (folder sorting)" in section


def test_console_prints_the_warning_lines():
    r = _learned_nothing_run()
    text = headline_text(r)
    assert "verdict: The detector (CVAT boxes) learned nothing here" in text
    assert "Settings that decide the answer:\nWARNING: The detector (CVAT boxes) learned nothing" in text


def test_a_run_records_its_warnings_and_names_them_in_the_verdict(fake, tmp_path):
    """Through the harness on the fake pipeline: scores that know nothing -> both models learned nothing, named
    first in curve.json's verdict and results.json's, and listed in results.json and report.md."""
    import fake_pipeline as FP  # noqa: N812 - tests/ is on sys.path

    from benchmarks.harness import run_bench

    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(1.0,))
    run = run_bench(cfg, tmp_path / "runs", devices=["cpu"], echo=lambda s: None)
    curve = json.loads((run / "curve.json").read_text())
    results = json.loads((run / "results.json").read_text())
    assert {(w["kind"], w["model"]) for w in results["warnings"]} >= {("learned_nothing", "classifier"),
                                                                       ("learned_nothing", "detector")}  # fmt: skip
    for v in (curve["verdict"], results["curve"]["verdict"]):
        assert v["answer"].startswith("The classifier (folder sorting) learned nothing here")
        assert v["answer"].count("learned nothing here") == 2
    assert "object_sizes" in results["data"]
    assert "### Settings that decide the answer" in (run / "report.md").read_text()


def test_a_record_the_warnings_cannot_read_still_renders_with_a_note():
    from benchmarks.report.settings import settings_blocks

    bad = {"models": {"a": {"pipeline": "detector", "config": {}}},
           "data": {"object_sizes": {"imgsz": {"a": "big"}, "min_box_px": 12,
                                     "per_class": {"c": {"median_box_px_at": {"a": 1.0}}}}}}  # fmt: skip
    blocks = settings_blocks(bad)
    assert blocks[0] == ("h3", "Settings that decide the answer")
    assert "could not be computed" in blocks[-1][1][0] and "clsdet evaluate" in blocks[-1][1][0]
