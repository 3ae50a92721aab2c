"""Generated CVAT event streams shared by the labeling tests (the `cvat` fixture)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from benchmarks.labeling.cvat_events import EXPECTED_COLUMNS

T0 = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)
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
        row(120, "foo:bar", "A", "1"),  # unknown scope, source=client: on CVAT's clock (splits the 100 s gap), warned
    ]
    rows = sorted(a + b + noise, key=lambda r: r["timestamp"])
    rows[3]["timestamp"] = rows[3]["timestamp"].replace("+00:00", "")  # no zone: read as UTC, counted
    rows[5], rows[6] = rows[6], rows[5]  # one pair out of order: sorted, counted
    return rows


# job 1: 10 + 99.999, then foo:bar at 120 (+10.001) and the click at 209.999 (+89.999), then 5 + 5 span, 10, 10
EXPECTED_JOB_S = {"1": 10 + 99.999 + 10.001 + 89.999 + 10 + 10 + 10, "2": 10 + 12 + 30, "3": 5}


@pytest.fixture
def cvat():
    return SimpleNamespace(row=row, write=write, stream=stream, expected_job_s=dict(EXPECTED_JOB_S))
