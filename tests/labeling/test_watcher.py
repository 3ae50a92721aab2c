"""Folder-sort watcher driven by real file operations (polling observer, short interval) and by explicit times."""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.labeling import LabelingRates, write_log
from benchmarks.labeling.cost import load_logs, totals
from benchmarks.labeling.summary import summary_rows
from benchmarks.labeling.watcher import FolderSortWatcher


def _img(path, data=b"\xff\xd8 fake jpeg"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _wait(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _drive(watcher, tmp_path):
    """Copy, copy again (2nd label), move in, hard-link, re-sort, and a non-image; returns the expected rows."""
    src = tmp_path / "inbox"
    root = watcher.root
    ops = [
        lambda: shutil.copy2(_img(src / "img1.jpg"), root / "cat" / "img1.jpg"),
        lambda: shutil.copy2(src / "img1.jpg", root / "dog" / "img1.jpg"),  # multi-label: same image, 2nd label
        lambda: shutil.move(_img(src / "img2.png"), root / "cat" / "img2.png"),
        lambda: os.link(_img(src / "img3.jpg"), root / "dog" / "img3.jpg"),
        lambda: shutil.move(root / "cat" / "img2.png", root / "dog" / "img2.png"),  # re-sort cat -> dog
        lambda: (root / "dog" / "notes.txt").write_text("not an image"),
    ]
    expected_rows = [1, 2, 3, 4, 5, 5]
    for op, n in zip(ops, expected_rows):
        op()
        # one operation at a time, so a polling observer sees each as its own change
        assert _wait(lambda n=n: len(watcher.events) >= n), f"watcher saw {watcher.events}"
    time.sleep(0.2)


def _check(log):
    kinds = [(e.kind, e.image, e.label, e.from_label) for e in log.events]
    assert kinds == [
        ("arrive", "img1.jpg", "cat", None),
        ("arrive", "img1.jpg", "dog", None),
        ("arrive", "img2.png", "cat", None),
        ("arrive", "img3.jpg", "dog", None),
        ("resort", "img2.png", "dog", "cat"),
    ]
    assert (log.n_images, log.n_labels) == (3, 4)  # img1 cat+dog, img2 dog, img3 dog
    assert log.counts["resorts"] == 1
    assert log.counts["ignored_files"] == 1
    assert log.counts["ignored_by_reason"] == {"not_an_image": 1}
    assert log.counts["preexisting_labels"] == 1
    assert 0 < log.active_s < 30


def test_watcher_polling(tmp_path):
    _img(tmp_path / "sorted" / "cat" / "old.jpg")  # sorted before the session: not this session's work
    w = FolderSortWatcher(tmp_path / "sorted", ["cat", "dog"], dataset="t", polling=True, poll_interval_s=0.05)
    w.start()
    assert w.observer_kind == "PollingObserver"
    _drive(w, tmp_path)
    log = w.stop()
    _check(log)
    assert log.counts["observer"] == "PollingObserver"
    # summary on the watcher's log vs an independent figure: no pause, so active = end - start from the log's times
    started, ended = (datetime.fromisoformat(t) for t in (log.started_utc, log.ended_utc))
    write_log(log, tmp_path / "logs")
    (row,) = [
        r for r in summary_rows(totals(load_logs(tmp_path / "logs")), LabelingRates()) if r["method"] == "folder_sort"
    ]
    assert row["s_per_image"] == pytest.approx((ended - started).total_seconds() / 3, abs=1e-3)
    assert row["s_per_label"] == pytest.approx((ended - started).total_seconds() / 4, abs=1e-3)


@pytest.mark.skipif(sys.platform != "linux", reason="the native observer is checked on Linux (inotify) only")
def test_watcher_default_observer(tmp_path):
    _img(tmp_path / "sorted" / "cat" / "old.jpg")
    w = FolderSortWatcher(tmp_path / "sorted", ["cat", "dog"], dataset="t")
    w.start()
    _drive(w, tmp_path)
    _check(w.stop())


def test_delete_then_arrive_is_one_resort(tmp_path):
    root = tmp_path / "sorted"
    w = FolderSortWatcher(root, ["a", "b"], polling=True)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    w.begin(at=t0)
    _img(root / "a" / "x.jpg")
    w.record_created(root / "a" / "x.jpg", t0 + timedelta(seconds=2))
    (root / "a" / "x.jpg").unlink()
    w.record_deleted(root / "a" / "x.jpg", t0 + timedelta(seconds=4))
    _img(root / "b" / "x.jpg")
    w.record_created(root / "b" / "x.jpg", t0 + timedelta(seconds=5))
    log = w.stop(at=t0 + timedelta(seconds=6))
    assert [(e.kind, e.label, e.from_label) for e in log.events] == [("arrive", "a", None), ("resort", "b", "a")]
    assert (log.n_images, log.n_labels, log.counts["resorts"], log.counts["removals"]) == (1, 1, 1, 0)


def test_pauses_excluded_and_reported(tmp_path):
    root = tmp_path / "sorted"
    w = FolderSortWatcher(root, ["a"], pause_threshold_s=100)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    w.begin(at=t0)
    for i, dt in enumerate([5, 10, 150, 155]):  # 140 s between the 2nd and 3rd image: a pause
        _img(root / "a" / f"{i}.jpg")
        w.record_created(root / "a" / f"{i}.jpg", t0 + timedelta(seconds=dt))
    log = w.stop(at=t0 + timedelta(seconds=160))
    assert log.active_s == pytest.approx(5 + 5 + 5 + 5)
    assert log.paused_s == pytest.approx(140)
    assert log.pauses == [
        {"start_utc": "2025-01-01T00:00:10.000Z", "end_utc": "2025-01-01T00:02:30.000Z", "gap_s": 140}
    ]
    assert (log.n_images, log.n_labels) == (4, 4)


def test_missing_tree_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        FolderSortWatcher(tmp_path / "nope").begin()


def test_each_row_is_shown_as_it_is_recorded(tmp_path):
    from benchmarks.labeling.summary import event_text

    root = tmp_path / "sorted"
    shown = []
    w = FolderSortWatcher(root, ["a", "b"], on_event=lambda e, i, n: shown.append(event_text(e, i, n)))
    t0 = datetime(2025, 1, 1, 9, 30, tzinfo=UTC)
    w.begin(at=t0)
    _img(root / "a" / "x.jpg")
    w.record_created(root / "a" / "x.jpg", t0 + timedelta(seconds=2))
    assert shown == ["  09:30:02  + x.jpg -> a   (1 images, 1 labels this session)"]  # before the next event
    _img(root / "b" / "y.jpg")
    w.record_created(root / "b" / "y.jpg", t0 + timedelta(seconds=3))
    _img(root / "b" / "x.jpg")
    w.record_moved(root / "a" / "x.jpg", root / "b" / "x.jpg", t0 + timedelta(seconds=4))
    w.record_deleted(root / "b" / "y.jpg", t0 + timedelta(seconds=5))
    assert shown[1:] == [
        "  09:30:03  + y.jpg -> b   (2 images, 2 labels this session)",
        "  09:30:04  ~ x.jpg: a -> b   (2 images, 2 labels this session)",
        "  09:30:05  - y.jpg out of b   (1 images, 1 labels this session)",
    ]
    assert len(shown) == len(w.stop(at=t0 + timedelta(seconds=6)).events)


def test_renames_are_followed(tmp_path):
    """A rename inside a folder is no labeling: the arrive row takes the new name, a file sorted before the session
    stays pre-existing under its new name, and removing it later is the removal of a known file."""
    root = tmp_path / "sorted"
    _img(root / "a" / "old.jpg")  # sorted before the session
    w = FolderSortWatcher(root, ["a", "b"], polling=True)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    w.begin(at=t0)
    _img(root / "a" / "x.jpg")
    w.record_created(root / "a" / "x.jpg", t0 + timedelta(seconds=2))
    (root / "a" / "x.jpg").rename(root / "a" / "y.jpg")
    w.record_moved(root / "a" / "x.jpg", root / "a" / "y.jpg", t0 + timedelta(seconds=3))
    (root / "a" / "old.jpg").rename(root / "a" / "renamed.jpg")
    w.record_moved(root / "a" / "old.jpg", root / "a" / "renamed.jpg", t0 + timedelta(seconds=4))
    (root / "a" / "y.jpg").rename(root / "b" / "z.jpg")  # re-sort and rename in one move
    w.record_moved(root / "a" / "y.jpg", root / "b" / "z.jpg", t0 + timedelta(seconds=5))
    log = w.stop(at=t0 + timedelta(seconds=6))
    rows = [(e.kind, e.image, e.label, e.from_label) for e in log.events]
    assert rows == [("arrive", "z.jpg", "a", None), ("resort", "z.jpg", "b", "a")]
    assert (log.n_images, log.n_labels, log.counts["renames"], log.counts["removals"]) == (1, 1, 3, 0)
    assert log.counts["preexisting_labels"] == 1

    w = FolderSortWatcher(root, ["a", "b"], polling=True)
    w.begin(at=t0)
    (root / "a" / "renamed.jpg").rename(root / "a" / "again.jpg")
    w.record_moved(root / "a" / "renamed.jpg", root / "a" / "again.jpg", t0 + timedelta(seconds=1))
    (root / "a" / "again.jpg").unlink()
    w.record_deleted(root / "a" / "again.jpg", t0 + timedelta(seconds=2))
    log = w.stop(at=t0 + timedelta(seconds=3))
    assert [(e.kind, e.image) for e in log.events] == [("remove", "again.jpg")]
    assert (log.n_images, log.n_labels) == (0, 0)  # a pre-existing file renamed is no new label


def test_rename_with_a_real_observer(tmp_path):
    root = tmp_path / "sorted"
    w = FolderSortWatcher(root, ["a"], polling=True, poll_interval_s=0.05)
    w.start()
    try:
        _img(tmp_path / "in.jpg").rename(root / "a" / "x.jpg")
        assert _wait(lambda: len(w.events) == 1)
        (root / "a" / "x.jpg").rename(root / "a" / "y.jpg")
        assert _wait(lambda: w.counts["renames"] == 1), f"watcher saw {w.events}"
    finally:
        log = w.stop()
    assert [(e.kind, e.image) for e in log.events] == [("arrive", "y.jpg")]
    assert (log.n_images, log.n_labels) == (1, 1)
