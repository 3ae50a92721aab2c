"""The per-epoch progress line: numbering, ETA, and the flag on a slow epoch (classifier.progress)."""

from __future__ import annotations

from classifier.progress import EpochLog, fmt_duration


def test_epoch_line_has_loss_metric_seconds_and_eta():
    log = EpochLog("classifier", 20)
    line = log.line(1, 6.04, 0.41234, {"macro AP": 0.65})
    assert line == "  classifier epoch 1/20: train loss 0.412, val macro AP 0.650 | 6.0 s, ETA 1m55s"


def test_last_epoch_has_no_eta_and_missing_values_say_na():
    log = EpochLog("classifier", 1)
    assert log.line(1, 2.0, None, {"macro AP": float("nan")}).endswith("train loss n/a, val macro AP n/a | 2.0 s")


def test_slow_epoch_is_flagged_against_the_median_of_earlier_ones():
    log = EpochLog("classifier", 10)
    lines = [log.line(e, s, 0.5, {}) for e, s in enumerate([6.0, 5.0, 7.0, 89.0, 6.5], start=1)]
    assert ["SLOW" in line for line in lines] == [False, False, False, True, False]
    assert "89.0 s SLOW (14.8x the median 6.0 s)" in lines[3]
    # the ETA uses the median epoch (6.5 s), so one slow epoch does not inflate it: 5 epochs left -> 32 s, not 57 s
    assert lines[4].endswith("ETA 32s")


def test_durations():
    assert [fmt_duration(s) for s in (0.4, 59, 61, 3600 + 125)] == ["0s", "59s", "1m01s", "1h02m"]
