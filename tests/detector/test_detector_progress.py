"""The detector's per-epoch line is the classifier's format (each pipeline holds its own copy: no cross-import)."""

from __future__ import annotations

import inspect

import classifier.progress as cp
import detector.progress as dp


def test_both_pipelines_print_the_same_epoch_line():
    a, b = cp.EpochLog("x", 8), dp.EpochLog("x", 8)
    for epoch, seconds, loss in [(1, 6.0, 0.9), (2, 5.5, 0.7), (3, 40.0, float("nan")), (4, 5.9, None)]:
        metrics = {"m1": loss, "m2": 0.5}
        assert a.line(epoch, seconds, loss, metrics) == b.line(epoch, seconds, loss, metrics)


def test_the_two_copies_have_the_same_code():
    # the docstrings differ (each names the other); everything below them must not drift apart
    body = [inspect.getsource(m).split('"""', 2)[2] for m in (cp, dp)]
    assert body[0] == body[1]
