"""`clsdet label import-cvat EVENTS.csv --csv OUT.csv`: hours per job and annotator with CVAT's idle rule, objects
from the save events' count column, objects per hour."""

from __future__ import annotations

import csv
from pathlib import Path

from benchmarks.cli import main
from benchmarks.labeling.cvat_jobs import COLUMNS

HEADER = ("scope", "obj_name", "obj_id", "obj_val", "source", "timestamp", "count", "duration", "project_id",
          "task_id", "job_id", "user_id", "user_name", "user_email", "org_id", "org_slug", "payload")  # fmt: skip


def _events(path: Path) -> Path:
    def row(scope, t_s, job, user, name, source="client", count=""):
        ts = f"2025-03-01T09:{int(t_s) // 60:02d}:{t_s % 60:06.3f}Z"
        return [scope, "", "", "", source, ts, count, 0, "", 5, job, user, name, "", "", "", "{}"]

    rows = [
        # alice, job 1: gaps 20 + 10 + 30 + 10 s, a 180 s pause (>= 100 s: idle), then 10 s -> 80 s
        *(row("draw:object" if i % 2 else "load:job", t, 1, 7, "alice") for i, t in enumerate((0, 20, 30, 60, 70))),
        row("create:shapes", 70.5, 1, 7, "alice", "server", 3),
        row("delete:shapes", 71, 1, 7, "alice", "server", 1),
        row("draw:object", 250, 1, 7, "alice"),
        row("save:job", 260, 1, 7, "alice"),
        # bob, job 2: 50 s, then a gap of exactly 100 s (CVAT: a pause), then 10 s -> 60 s
        *(row("draw:object", t, 2, 9, "bob") for t in (0, 50, 150, 160)),
        row("create:shapes", 161, 2, 9, "bob", "server", 4),
        row("create:tags", 161.5, 2, 9, "bob", "server", 2),
    ]
    rows.sort(key=lambda r: r[5])
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def test_hours_and_objects_per_job_and_annotator(tmp_path, capsys):
    events = _events(tmp_path / "logs_1.csv")
    out = tmp_path / "jobs.csv"
    assert main(["label", "import-cvat", str(events), "--csv", str(out), "--log-dir", str(tmp_path / "logs")]) == 0
    assert f"per job and annotator: {out} (2 row(s))" in capsys.readouterr().out
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == COLUMNS
        rows = {r["job_id"]: r for r in reader}
    alice, bob = rows["1"], rows["2"]
    assert (alice["user_id"], alice["user_name"], alice["task_id"]) == ("7", "alice", "5")
    assert float(alice["active_s"]) == 80.0 and float(alice["hours"]) == round(80 / 3600, 4)
    assert (alice["objects"], alice["objects_created"], alice["objects_deleted"]) == ("2", "3", "1")
    assert float(alice["objects_per_hour"]) == 90.0  # 2 objects in 80 s
    assert (bob["user_name"], float(bob["active_s"]), bob["objects"]) == ("bob", 60.0, "6")
    assert float(bob["objects_per_hour"]) == 360.0
    assert alice["method"] == bob["method"] == "client_events"


def test_csv_needs_the_events(tmp_path, capsys):
    argv = ["label", "import-cvat", "--annotations", str(tmp_path / "x.zip"), "--csv", str(tmp_path / "o.csv")]
    assert main(argv) == 2
    assert "--csv needs the events CSV" in capsys.readouterr().err
