"""CVAT working time on streams generated in conftest.py, expected seconds worked out by hand from CVAT's rule."""

from __future__ import annotations

import pytest

from benchmarks.labeling.cvat_events import EXPECTED_COLUMNS, CvatEventsError, read_working_time
from benchmarks.labeling.timing import active_time


def test_client_events_per_job_task_user(tmp_path, cvat):
    expected = cvat.expected_job_s
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", cvat.stream()))
    assert {j: v["active_s"] for j, v in wt.jobs.items()} == pytest.approx(expected)
    assert {v["method"] for v in wt.jobs.values()} == {"client_events"}
    assert wt.tasks == pytest.approx({"1": expected["1"], "2": expected["2"] + expected["3"]})
    assert wt.users == pytest.approx({"7": expected["1"] + 5, "8": 52})
    assert wt.paused_s == pytest.approx(100.001 + 128)  # foo:bar splits the 100 s gap into two counted ones
    assert wt.problems["unknown_scope:foo:bar"] == 1
    assert wt.problems["timestamp_without_zone_taken_as_utc"] == 1
    assert wt.problems["events_out_of_order_sorted"] >= 1


def test_unknown_client_scope_counts_and_warns(tmp_path, cvat):
    """CVAT keeps only client events its server accepted, so a client row of a scope outside our list (a newer
    CVAT) was on CVAT's clock: counted (job 1 is 240 s, not 140 s), and listed as a warning."""
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", cvat.stream()))
    assert wt.jobs["1"]["active_s"] == pytest.approx(239.999)
    assert wt.problems["unknown_scope:foo:bar"] == 1
    server_only = [cvat.row(0, "load:job", "A", "1"), cvat.row(20, "frob:widget", "A", "1", source="server")]
    wt = read_working_time(cvat.write(tmp_path / "server.csv", server_only))
    assert wt.active_s == 0 and wt.problems["unknown_scope:frob:widget"] == 1  # server rows never on the clock


def test_per_frame_time(tmp_path, cvat):
    expected = cvat.expected_job_s
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", cvat.stream()))
    frames = {(f["job_id"], f["frame"]): f["active_s"] for f in wt.frames}
    # job 1: frame 0 until the change:frame (its own step included), frame 1 after it
    assert frames[("1", 0)] == pytest.approx(10 + 99.999 + 10.001 + 89.999 + 10)
    assert frames[("1", 1)] == pytest.approx(10 + 10)
    assert frames[("2", 3)] == pytest.approx(10 + 12)
    assert frames[("2", 4)] == pytest.approx(30)
    assert frames[("3", None)] == pytest.approx(5)
    assert sum(frames.values()) == pytest.approx(sum(expected.values()))


def test_working_time_events_take_precedence(tmp_path, cvat):
    expected, row = cvat.expected_job_s, cvat.row
    rows = cvat.stream() + [
        row(400, "send:working_time", "A", "1", 50000, {"working_time": 50000}, source="server"),
        row(500, "send:working_time", "A", "1", 25000, {"working_time": 25000}, source="server"),
    ]
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", rows))
    assert wt.jobs["1"]["method"] == "send:working_time"
    assert wt.jobs["1"]["active_s"] == pytest.approx(75.0)
    assert wt.jobs["1"]["client_events_s"] == pytest.approx(expected["1"])
    assert wt.jobs["2"]["method"] == "client_events"
    assert wt.active_s == pytest.approx(75 + 52 + 5)


def test_missing_columns_lists_expected(tmp_path, cvat):
    path = cvat.write(tmp_path / "bad.csv", cvat.stream(), columns=[c for c in EXPECTED_COLUMNS if c != "duration"])
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
