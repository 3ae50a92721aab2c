"""CVAT event logs with impossible times: clipped or dropped with a counted problem that names the rule, and a
measured rate that rests on clipped events says so in the cost record and the summary."""

from __future__ import annotations

import pytest

from benchmarks.labeling import labeling_cost, write_log
from benchmarks.labeling.cost import load_logs, totals
from benchmarks.labeling.cvat_events import (
    PROBLEM_FUTURE,
    PROBLEM_NEGATIVE,
    PROBLEM_SPAN,
    PROBLEM_TOO_EARLY,
    PROBLEM_WORKING_TIME,
    read_working_time,
)
from benchmarks.labeling.cvat_import import import_cvat
from benchmarks.labeling.rates import LabelingRates
from benchmarks.labeling.summary import session_text, summary_rows, summary_text


def _huge_span(cvat):
    row = cvat.row
    return [
        row(0, "load:job", "A", "1"),
        row(10, "change:frame", "A", "1", 10**15, {"from": 0, "to": 1, "step": 1}),  # 31,700 years "of work"
        row(20, "click:element", "A", "1"),
        row(30, "draw:object", "A", "1"),
    ]


def test_huge_change_frame_span_is_clipped_at_the_idle_cutoff(tmp_path, cvat):
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", _huge_span(cvat)))
    # the span ends 100 s (CVAT's idle cut-off) after the next event at 20 s: 10 s gap + 110 s span
    assert wt.jobs["1"]["active_s"] == pytest.approx(120.0)
    assert wt.problems[PROBLEM_SPAN] == 1
    assert wt.clipped_s == pytest.approx(10**12 - 110, rel=1e-9)
    assert wt.jobs["1"]["clipped_s"] == pytest.approx(wt.clipped_s)


def test_last_event_span_clipped_and_normal_spans_kept(tmp_path, cvat):
    row = cvat.row
    rows = [
        row(0, "load:job", "A", "1"),
        row(10, "change:frame", "A", "1", 5000, {"from": 0, "to": 1, "step": 1}),  # ordinary: kept
        row(20, "change:frame", "A", "1", 500_000, {"from": 1, "to": 2, "step": 1}),  # nothing after it: 100 s
    ]
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", rows))
    assert wt.jobs["1"]["active_s"] == pytest.approx(10 + 5 + 5 + 100)
    assert wt.problems[PROBLEM_SPAN] == 1
    assert wt.clipped_s == pytest.approx(400)


def test_negative_durations_do_not_lower_active_time(tmp_path, cvat):
    row = cvat.row
    rows = cvat.stream() + [
        row(400, "send:working_time", "A", "1", 50000, {"working_time": 50000}, source="server"),
        row(500, "send:working_time", "A", "1", 0, {"working_time": -30000}, source="server"),
        row(349, "change:frame", "A", "3", -5000, {"from": 0, "to": 1, "step": 1}),
    ]
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", rows))
    assert wt.jobs["1"]["active_s"] == pytest.approx(50.0)  # not 20 s
    assert wt.problems[PROBLEM_NEGATIVE] == 2
    assert wt.jobs["3"]["active_s"] == pytest.approx(5 + 4)  # the change:frame counts as an instant


def test_working_time_longer_than_the_export_is_ignored(tmp_path, cvat):
    row = cvat.row
    rows = cvat.stream() + [row(400, "send:working_time", "A", "1", 0, {"working_time": 10**15}, source="server")]
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", rows))
    assert wt.jobs["1"]["method"] == "client_events"
    assert wt.jobs["1"]["active_s"] == pytest.approx(cvat.expected_job_s["1"])
    assert wt.problems[PROBLEM_WORKING_TIME] == 1


def test_timestamps_before_2000_or_in_the_future_are_dropped(tmp_path, cvat):
    rows = cvat.stream()
    early, late, endless = dict(rows[1]), dict(rows[2]), dict(rows[4])
    early["timestamp"] = "1970-01-01T00:00:00.000+00:00"
    late["timestamp"] = "9999-12-31T23:59:59.000+00:00"
    endless["duration"] = "inf"
    wt = read_working_time(cvat.write(tmp_path / "logs.csv", [early, late, endless, *rows]))
    assert wt.problems[PROBLEM_TOO_EARLY] == 1 and wt.problems[PROBLEM_FUTURE] == 1
    assert wt.problems["bad_duration"] == 1
    assert wt.jobs["1"]["active_s"] == pytest.approx(cvat.expected_job_s["1"])
    assert wt.paused_s < 1000  # no 55-year pause
    log = import_cvat(tmp_path / "logs.csv")
    assert log.started_utc.startswith("2025-03-01") and log.ended_utc.startswith("2025-03-01")


def test_rate_resting_on_clipped_events_says_so(tmp_path, cvat):
    log = import_cvat(cvat.write(tmp_path / "logs.csv", _huge_span(cvat)), dataset="shapes")
    assert log.active_s == pytest.approx(120.0)
    assert log.counts["clipped_s"] == pytest.approx(10**12 - 110, rel=1e-9)
    assert "clipped" in session_text(log)
    path = write_log(log, tmp_path / "logs")
    cost = labeling_cost(10, 10, 0, tmp_path / "logs", dataset="shapes")["cvat"]
    assert cost["source"] == "measured"
    assert cost["clipped_s"] == {path.name: pytest.approx(10**12 - 110, rel=1e-9)}
    assert "rests on clipped events" in cost["clipped"] and "rests on clipped events" in cost["basis"]
    rows = summary_rows(totals(load_logs(tmp_path / "logs", "shapes")), LabelingRates())
    assert "rests on clipped events" in summary_text(rows)
    assert labeling_cost(10, 10, 0, tmp_path / "logs", dataset="shapes")["folder_sort"]["clipped"] is None
