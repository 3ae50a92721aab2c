"""`clsdet label import-cvat` + `summary` end to end on a generated events CSV and a small CVAT XML export."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.labeling import read_log

XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version>
 <meta><job><id>1</id><size>3</size>
  <created>2025-03-01 08:00:00.000000+00:00</created><updated>2025-03-01 09:30:00.000000+00:00</updated>
  <labels><label><name>cat</name><type>rectangle</type></label><label><name>dog</name><type>rectangle</type></label>
  </labels></job></meta>
 <image id="0" name="a.jpg" width="100" height="80">
  <box label="cat" occluded="0" xtl="1" ytl="2" xbr="30" ybr="40" z_order="0"></box>
  <box label="dog" occluded="0" xtl="5" ytl="5" xbr="50" ybr="60" rotation="10" z_order="0"></box>
 </image>
 <image id="1" name="b.jpg" width="100" height="80">
  <box label="cat" xtl="1" ytl="2" xbr="30" ybr="40"></box><box label="cat" xtl="40" ytl="2" xbr="60" ybr="40"></box>
  <polygon label="dog" points="1,1;10,1;10,10"></polygon>
 </image>
 <image id="2" name="c.jpg" width="100" height="80">
  <box label="dog" xtl="1" ytl="2" xbr="30" ybr="40"></box><tag label="cat"></tag>
 </image>
</annotations>
"""


@pytest.fixture
def export_zip(tmp_path) -> Path:
    path = tmp_path / "job_1_annotations.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("annotations.xml", XML)
    return path


def test_import_cvat_and_summary(tmp_path, export_zip, capsys, cvat):
    logs = tmp_path / "logs"
    events = cvat.write(tmp_path / "logs_2025.csv", cvat.stream())
    assert main(["label", "import-cvat", str(events), "--annotations", str(export_zip), "--log-dir", str(logs),
                 "--dataset", "pets"]) == 0  # fmt: skip
    (path,) = sorted(logs.glob("*.json"))
    log = read_log(path)
    total = cvat.expected_job_s["1"]  # the export is job 1's: jobs 2 and 3 (in the CSV) are left out, counted
    assert log.active_s == pytest.approx(total)
    assert log.counts["jobs_left_out"] == pytest.approx({"2": cvat.expected_job_s["2"], "3": cvat.expected_job_s["3"]})
    assert set(log.breakdown["jobs"]) == {"1"} and "left out (not in the annotation export): job(s) 2, 3" in (
        capsys.readouterr().out
    )
    # one counting rule with the harness: the polygon becomes a truth box in the reader, so it is a box here too
    assert (log.n_images, log.n_boxes, log.counts["other_shapes"]) == (3, 6, {"polygon": 1})
    assert log.source == "cvat_client_events"
    assert log.counts["problems"]["unknown_scope:foo:bar"] == 1
    assert main(["label", "summary", "--log-dir", str(logs), "--json"]) == 0
    rows = {r["method"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["cvat"]["s_per_box"] == pytest.approx(round(total / 6, 3))
    assert rows["cvat"]["s_per_image"] == pytest.approx(round(total / 3, 3))
    assert rows["folder_sort"]["source"].startswith("modeled")


def test_import_cvat_refuses_events_of_other_jobs(tmp_path, capsys, cvat):
    events = cvat.write(tmp_path / "logs.csv", cvat.stream())  # jobs 1, 2, 3
    other = tmp_path / "job_9.xml"
    other.write_text(XML.replace("<id>1</id>", "<id>9</id>"))
    assert main(["label", "import-cvat", str(events), "--annotations", str(other), "--log-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{events} holds jobs 1, 2, 3, none of which is in {other} (job(s) 9)" in err
    no_ids = tmp_path / "no_ids.xml"
    no_ids.write_text(XML.replace("<id>1</id>", ""))
    assert main(["label", "import-cvat", str(events), "--annotations", str(no_ids), "--log-dir", str(tmp_path)]) == 2
    assert "names no job or task id" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))


def test_task_export_keeps_the_jobs_in_its_segments(tmp_path, cvat):
    from benchmarks.labeling.cvat_import import import_cvat

    segments = "<segments><segment><id>5</id><url>http://cvat:8080/api/jobs/3</url></segment></segments>"
    task_xml = XML.replace("<job><id>1</id>", f"<task><id>2</id>{segments}").replace("</job>", "</task>")
    (tmp_path / "task.xml").write_text(task_xml)
    log = import_cvat(cvat.write(tmp_path / "logs.csv", cvat.stream()), tmp_path / "task.xml")
    assert set(log.breakdown["jobs"]) == {"3"} and log.active_s == pytest.approx(cvat.expected_job_s["3"])


def test_rough_figure_from_export_timestamps(tmp_path, export_zip, capsys):
    logs = tmp_path / "logs"
    assert main(["label", "import-cvat", "--annotations", str(export_zip), "--log-dir", str(logs)]) == 0
    assert "ROUGH" in capsys.readouterr().out
    (path,) = sorted(logs.glob("*.json"))
    log = read_log(path)
    assert log.rough and log.active_s == pytest.approx(90 * 60)
    assert load_ok(logs, rough=False) == [] and len(load_ok(logs, rough=True)) == 1


def load_ok(logs, rough):
    from benchmarks.labeling.cost import load_logs

    return load_logs(logs, include_rough=rough)


def test_missing_columns_cli_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("scope,timestamp\nload:job,2025-01-01T00:00:00Z\n")
    assert main(["label", "import-cvat", str(bad), "--log-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "missing column(s)" in err and "obj_name" in err


def test_summary_leaves_the_example_logs_out_unless_asked(tmp_path, capsys):
    repo_logs = Path(__file__).resolve().parents[2] / "labeling_logs"
    logs = tmp_path / "logs"
    logs.mkdir()
    example = json.loads((repo_logs / "example_folder_sort_watcher.json").read_text())
    assert example["example"] is True
    (logs / "example_folder_sort_watcher.json").write_text(json.dumps(example))
    mine = {**example, "example": False, "dataset": "mine", "n_images": 40, "n_labels": 50, "active_s": 200.0}
    (logs / "mine.json").write_text(json.dumps(mine))

    assert main(["label", "summary", "--log-dir", str(logs), "--json"]) == 0
    out = capsys.readouterr()
    row = next(r for r in json.loads(out.out) if r["method"] == "folder_sort")
    assert (row["images"], row["active_s"]) == (40, 200.0)  # the measured log only
    assert "EXAMPLE" not in row["source"]
    assert "1 example log(s) left out" in out.err and "--include-examples" in out.err

    assert main(["label", "summary", "--log-dir", str(logs), "--json", "--include-examples"]) == 0
    out = capsys.readouterr()
    row = next(r for r in json.loads(out.out) if r["method"] == "folder_sort")
    assert row["images"] == 40 + example["n_images"]
    assert "[includes EXAMPLE logs]" in row["source"] and out.err == ""
