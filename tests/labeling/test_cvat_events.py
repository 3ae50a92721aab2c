"""CVAT working time: streams generated here, expected seconds worked out by hand from CVAT's rule."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pytest

from benchmarks.labeling.cvat_events import EXPECTED_COLUMNS, CvatEventsError, read_working_time
from benchmarks.labeling.timing import active_time

T0 = datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone.utc)
USERS = {"A": ("7", "alice"), "B": ("8", "bob")}
JOB_TASK = {"1": "1", "2": "2", "3": "2"}


def row(t_s, scope, user, job, duration_ms=0, payload=None, source="client", zone=True):
    t = T0 + timedelta(seconds=t_s)
    text = t.isoformat(timespec="milliseconds") if zone else t.replace(tzinfo=None).isoformat(timespec="milliseconds")
    uid, uname = USERS[user]
    return {
        "scope": scope, "obj_name": "", "obj_id": "", "obj_val": "", "source": source, "timestamp": text, "count": 1,
        "duration": duration_ms, "project_id": "", "task_id": JOB_TASK.get(job, ""), "job_id": job or "",
        "user_id": uid, "user_name": uname, "user_email": f"{uname}@example.com", "org_id": "", "org_slug": "",
        "payload": json.dumps(payload or {}),
    }  # fmt: skip


def write(path, rows, columns=EXPECTED_COLUMNS):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def stream():
    """User A on job 1 then job 3; user B on job 2, interleaved in time; plus server rows and noise."""
    a = [
        row(0, "load:job", "A", "1"),
        row(10, "click:element", "A", "1"),  # +10
        row(109.999, "click:element", "A", "1"),  # gap 99.999 s: counted
        row(209.999, "click:element", "A", "1"),  # gap exactly 100 s: a pause (CVAT: t_diff < 100 s)
        row(310.0, "zoom:image", "A", "1"),  # gap 100.001 s: a pause
        row(315, "change:frame", "A", "1", 5000, {"from": 0, "to": 1, "step": 1}),  # gap 5 + span 5
        row(330, "draw:object", "A", "1"),  # gap 10 from the span's end (320)
        row(340, "load:job", "A", "3"),  # gap 10, credited to job 1 (CVAT credits the previous event's ids)
        row(345, "click:element", "A", "3"),  # 5 -> job 3
    ]
    b = [
        row(50, "load:job", "B", "2"),
        row(60, "click:element", "B", "2"),  # +10
        row(70, "change:frame", "B", "2", 2000, {"from": 3, "to": 4, "step": 1}),  # 10 + 2
        row(200, "click:element", "B", "2"),  # gap 128 s: pause
        row(230, "save:job", "B", "2"),  # +30
    ]
    noise = [
        row(100, "create:shapes", "A", "1", source="server"),  # server event: not part of the clock
        row(120, "foo:bar", "A", "1"),  # unknown scope: ignored, counted
    ]
    rows = sorted(a + b + noise, key=lambda r: r["timestamp"])
    rows[3]["timestamp"] = rows[3]["timestamp"].replace("+00:00", "")  # no zone: read as UTC, counted
    rows[5], rows[6] = rows[6], rows[5]  # one pair out of order: sorted, counted
    return rows


EXPECTED_JOB_S = {"1": 10 + 99.999 + 10 + 10 + 10, "2": 10 + 12 + 30, "3": 5}


def test_client_events_per_job_task_user(tmp_path):
    wt = read_working_time(write(tmp_path / "logs.csv", stream()))
    assert {j: v["active_s"] for j, v in wt.jobs.items()} == pytest.approx(EXPECTED_JOB_S)
    assert {v["method"] for v in wt.jobs.values()} == {"client_events"}
    assert wt.tasks == pytest.approx({"1": EXPECTED_JOB_S["1"], "2": EXPECTED_JOB_S["2"] + EXPECTED_JOB_S["3"]})
    assert wt.users == pytest.approx({"7": EXPECTED_JOB_S["1"] + 5, "8": 52})
    assert wt.paused_s == pytest.approx(100 + 100.001 + 128)
    assert wt.problems["unknown_scope:foo:bar"] == 1
    assert wt.problems["timestamp_without_zone_taken_as_utc"] == 1
    assert wt.problems["events_out_of_order_sorted"] >= 1


def test_per_frame_time(tmp_path):
    wt = read_working_time(write(tmp_path / "logs.csv", stream()))
    frames = {(f["job_id"], f["frame"]): f["active_s"] for f in wt.frames}
    # job 1: frame 0 until the change:frame (its own step included), frame 1 after it
    assert frames[("1", 0)] == pytest.approx(10 + 99.999 + 10)
    assert frames[("1", 1)] == pytest.approx(10 + 10)
    assert frames[("2", 3)] == pytest.approx(10 + 12)
    assert frames[("2", 4)] == pytest.approx(30)
    assert frames[("3", None)] == pytest.approx(5)
    assert sum(frames.values()) == pytest.approx(sum(EXPECTED_JOB_S.values()))


def test_working_time_events_take_precedence(tmp_path):
    rows = stream() + [
        row(400, "send:working_time", "A", "1", 50000, {"working_time": 50000}, source="server"),
        row(500, "send:working_time", "A", "1", 25000, {"working_time": 25000}, source="server"),
    ]
    wt = read_working_time(write(tmp_path / "logs.csv", rows))
    assert wt.jobs["1"]["method"] == "send:working_time"
    assert wt.jobs["1"]["active_s"] == pytest.approx(75.0)
    assert wt.jobs["1"]["client_events_s"] == pytest.approx(EXPECTED_JOB_S["1"])
    assert wt.jobs["2"]["method"] == "client_events"
    assert wt.active_s == pytest.approx(75 + 52 + 5)


def test_missing_columns_lists_expected(tmp_path):
    path = write(tmp_path / "bad.csv", stream(), columns=[c for c in EXPECTED_COLUMNS if c != "duration"])
    with pytest.raises(CvatEventsError, match=r"missing column\(s\) \['duration'\].*scope, obj_name"):
        read_working_time(path)


@pytest.mark.parametrize(
    ("starts", "durations", "expected_ms"),
    [  # CVAT's own cases (cvat/apps/events/tests/test_events.py), in ms
        ([0, 99_999], [0, 0], [0, 99_999]),  # instants, short gap
        ([0, 100_000], [0, 0], [0, 0]),  # instants, long gap
        ([0, 1000 + 99_999], [1000, 5000], [1000, 99_999 + 5000]),  # compressed, short gap
        ([0, 1000 + 100_000], [1000, 5000], [1000, 5000]),  # compressed, long gap
        ([0, 3000], [5000, 1000], [5000, 0]),  # compressed contained
        ([0, 3000], [5000, 6000], [5000, 4000]),  # compressed overlapping
        ([0, 3000, 6000], [5000, 0, 0], [5000, 0, 1000]),  # instant inside compressed
    ],
)
def test_rule_matches_cvat_unit_cases(starts, durations, expected_ms):
    assert [s.active_ms for s in active_time(starts, durations).steps] == expected_ms
