"""Log format round trip and errors, labeling_cost and the summary on known logs, stopwatch, CLI end to end."""

from __future__ import annotations

import json

import pytest

from benchmarks.labeling import LabelingRates, LogFormatError, labeling_cost, read_log, write_log
from benchmarks.labeling.cost import load_logs, totals
from benchmarks.labeling.log_format import Event, LabelingLog
from benchmarks.labeling.stopwatch import SessionError, start_session, stop_session
from benchmarks.labeling.summary import summary_rows
from benchmarks.labeling.tree import scan_tree


def _log(method="folder_sort", dataset="shapes", active_s=120.0, n_images=40, n_labels=60, n_boxes=0, **kw):
    source = "watcher" if method == "folder_sort" else "cvat_client_events"
    return LabelingLog(
        method, dataset, "ann", "2025-01-01T00:00:00.000Z", "2025-01-01T00:05:00.000Z", source, active_s,
        n_images, n_labels, n_boxes, events=[Event("arrive", "a.jpg", "cat", "2025-01-01T00:00:01.000Z")], **kw,
    )  # fmt: skip


def test_round_trip_and_no_overwrite(tmp_path):
    p1 = write_log(_log(), tmp_path)
    p2 = write_log(_log(), tmp_path)
    assert p1 != p2 and p1.exists() and p2.exists()
    back = read_log(p1)
    assert back == _log()
    assert json.loads(p1.read_text())["events"][0] == {
        "kind": "arrive", "image": "a.jpg", "label": "cat", "t_utc": "2025-01-01T00:00:01.000Z"
    }  # fmt: skip


def test_other_schema_version_is_a_clear_error(tmp_path):
    path = write_log(_log(), tmp_path)
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(LogFormatError, match="schema_version 99 is not supported.*upgrade clsdet"):
        read_log(path)


def test_labeling_cost_measured_from_known_logs(tmp_path):
    write_log(_log(active_s=120.0, n_images=40, n_labels=60), tmp_path)
    write_log(_log(active_s=30.0, n_images=10, n_labels=15), tmp_path)
    write_log(_log("cvat", active_s=400.0, n_images=20, n_labels=30, n_boxes=50), tmp_path)
    write_log(_log(dataset="other", active_s=9999.0), tmp_path)  # another dataset: not used
    write_log(_log(dataset="example-x", active_s=1.0, example=True), tmp_path)
    cost = labeling_cost(100, 150, 200, tmp_path, dataset="shapes")
    fs, cv = cost["folder_sort"], cost["cvat"]
    assert fs["source"] == "measured"
    assert fs["s_per_image"] == pytest.approx(150.0 / 50)  # (120 + 30) s over (40 + 10) images
    assert fs["s_per_label"] == pytest.approx(150.0 / 75)
    assert fs["total_s"] == pytest.approx(3.0 * 100) and fs["hours"] == pytest.approx(300 / 3600, abs=1e-4)
    assert fs["s_per_box"] is None and "x this run's 100 images" in fs["basis"]
    assert cv["source"] == "measured"
    assert cv["s_per_box"] == pytest.approx(8.0) and cv["s_per_image"] == pytest.approx(20.0)
    assert cv["total_s"] == pytest.approx(8.0 * 200)


def test_labeling_cost_modeled_without_logs(tmp_path):
    write_log(_log(dataset="example-x", example=True), tmp_path)  # examples never count as measurements
    cost = labeling_cost(275, 300, 10, tmp_path)
    assert cost["folder_sort"]["source"] == "modeled"
    assert cost["folder_sort"]["total_s"] == pytest.approx(1.4 * 275)
    assert "275 card images" in cost["folder_sort"]["basis"]
    # the default is the central rate (10 s, one box drawn without verification), not the fastest cited
    assert cost["cvat"]["s_per_box"] == 10.0 and cost["cvat"]["total_s"] == pytest.approx(100.0)
    assert "Papadopoulos" in cost["cvat"]["basis"]
    fast = labeling_cost(275, 300, 10, None, rates=LabelingRates(box_protocol="extreme_clicking"))
    assert fast["cvat"]["total_s"] == pytest.approx(70.0)
    slow = labeling_cost(275, 300, 10, None, rates=LabelingRates(box_protocol="draw_and_verify"))
    assert slow["cvat"]["total_s"] == pytest.approx(350.0) and "Su et al." in slow["cvat"]["basis"]


def test_summary_rows_per_image_label_box(tmp_path):
    write_log(_log(active_s=90.0, n_images=30, n_labels=45), tmp_path)
    rows = {r["method"]: r for r in summary_rows(totals(load_logs(tmp_path)), LabelingRates())}
    assert rows["folder_sort"]["s_per_image"] == pytest.approx(3.0)
    assert rows["folder_sort"]["s_per_label"] == pytest.approx(2.0)
    assert rows["folder_sort"]["source"].startswith("measured (watcher)")
    assert rows["cvat"]["s_per_box"] == 10.0 and rows["cvat"]["source"].startswith("modeled")


def test_tree_counts_non_images(tmp_path):
    for rel in ("cat/a.jpg", "cat/b.PNG", "dog/a.jpg", "dog/notes.txt", "loose.jpg", "cat/.DS_Store"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    state = scan_tree(tmp_path)
    assert state.pairs == {("a.jpg", "cat"), ("b.PNG", "cat"), ("a.jpg", "dog")}
    assert dict(state.ignored) == {"not_an_image": 1, "not_in_label_folder": 1, "hidden": 1}


def test_stopwatch(tmp_path):
    tree, logs = tmp_path / "sorted", tmp_path / "logs"
    (tree / "cat").mkdir(parents=True)
    (tree / "cat" / "old.jpg").write_bytes(b"x")
    assert start_session(tree, logs, dataset="d")["images"] == 1
    with pytest.raises(SessionError, match="already running"):
        start_session(tree, logs)
    for rel in ("cat/a.jpg", "dog/a.jpg", "dog/b.jpg", "dog/readme.md"):
        (tree / rel).parent.mkdir(exist_ok=True)
        (tree / rel).write_bytes(b"x")
    log = stop_session(tree, logs)
    assert (log.n_images, log.n_labels, log.counts["ignored_files"]) == (2, 3, 1)
    assert log.source == "stopwatch" and log.active_s >= 0
    with pytest.raises(SessionError, match="no session running"):
        stop_session(tree, logs)


def test_stopwatch_stop_honours_dataset_and_annotator(tmp_path, capsys):
    from benchmarks.cli import main

    tree, logs = tmp_path / "sorted", tmp_path / "logs"
    (tree / "cat").mkdir(parents=True)
    base = ["label", "session"]
    assert main([*base, "start", str(tree), "--log-dir", str(logs), "--dataset", "old", "--annotator", "ann"]) == 0
    (tree / "cat" / "a.jpg").write_bytes(b"x")
    assert main([*base, "stop", str(tree), "--log-dir", str(logs), "--dataset", "pets", "--annotator", "bo"]) == 0
    (path,) = [p for p in logs.glob("*.json") if p.name != ".session_state.json" and "state" not in p.name]
    log = read_log(path)
    assert (log.dataset, log.annotator, log.n_images) == ("pets", "bo", 1)
    assert main([*base, "start", str(tree), "--log-dir", str(logs), "--dataset", "kept", "--annotator", "al"]) == 0
    assert main([*base, "stop", str(tree), "--log-dir", str(logs)]) == 0  # none given at stop: start's are kept
    newest = max((p for p in logs.glob("*.json") if p != path and "state" not in p.name), key=lambda p: p.name)
    assert (read_log(newest).dataset, read_log(newest).annotator) == ("kept", "al")


def test_rates_divide_by_the_counts_of_the_logs_that_have_them(tmp_path):
    """Three CVAT logs of 32.5 s; only one counted images (1) and boxes (1): 32.5 s per image and per box, not
    97.5 (all the time over one log's counts)."""
    write_log(_log("cvat", active_s=32.5, n_images=1, n_labels=1, n_boxes=1), tmp_path)
    write_log(_log("cvat", active_s=32.5, n_images=0, n_labels=0, n_boxes=0), tmp_path)
    write_log(_log("cvat", active_s=32.5, n_images=0, n_labels=0, n_boxes=0), tmp_path)
    rows = {r["method"]: r for r in summary_rows(totals(load_logs(tmp_path)), LabelingRates())}
    assert rows["cvat"]["active_s"] == pytest.approx(97.5)
    assert rows["cvat"]["s_per_image"] == rows["cvat"]["s_per_label"] == rows["cvat"]["s_per_box"] == 32.5
    cost = labeling_cost(10, 10, 10, tmp_path)
    assert cost["cvat"]["total_s"] == pytest.approx(325.0) and cost["cvat"]["reason"] is None


def test_measured_log_without_counts_says_why_it_is_modeled(tmp_path):
    write_log(_log("cvat", active_s=50.0, n_images=0, n_labels=0, n_boxes=0), tmp_path)
    write_log(_log("folder_sort", active_s=20.0, n_images=0, n_labels=0), tmp_path)
    rows = {r["method"]: r for r in summary_rows(totals(load_logs(tmp_path)), LabelingRates())}
    assert all("costs use the modeled rate" in rows[m]["source"] for m in ("cvat", "folder_sort"))
    cost = labeling_cost(10, 12, 30, tmp_path)
    for method, counted in (("cvat", "0 images and 0 boxes"), ("folder_sort", "0 images")):
        entry = cost[method]
        assert entry["source"] == "modeled"
        assert entry["reason"].startswith("measured log(s) ") and f"counted {counted}" in entry["reason"]
        assert entry["reason"] in entry["basis"]  # the report prints the basis
    assert cost["cvat"]["total_s"] == pytest.approx(10.0 * 30)  # the central modeled rate


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"active_s": -5.0}, "`active_s` = -5.0: must be a finite number of seconds >= 0"),
        ({"active_s": "12 s"}, "`active_s` = '12 s'"),
        ({"n_boxes": 2.5}, "`n_boxes` = 2.5: must be a whole number >= 0"),
        ({"method": None, "drop": "method"}, "missing key(s) ['method']"),
    ],
)
def test_damaged_log_is_a_clear_error(tmp_path, edit, message):
    path = write_log(_log(), tmp_path)
    data = json.loads(path.read_text())
    data.update({k: v for k, v in edit.items() if k != "drop"})
    data.pop(edit.get("drop", "-"), None)
    path.write_text(json.dumps(data))  # json writes NaN too; a negative or text value is the usual damage
    with pytest.raises(LogFormatError, match="move it out of the log folder") as info:
        read_log(path)
    assert str(path) in str(info.value) and message in str(info.value)
    path.write_bytes(json.dumps(_log().to_dict()).encode("utf-16"))
    with pytest.raises(LogFormatError, match="not UTF-8 text"):
        read_log(path)


def test_bad_rates_and_folders_are_refused(tmp_path, capsys):
    from benchmarks.cli import main

    for bad in ("-1", "0", "nan"):
        with pytest.raises(SystemExit) as info:
            main(["label", "summary", "--log-dir", str(tmp_path), "--folder-sort-s-per-image", bad])
        assert info.value.code == 2 and "must be a number of seconds > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["label", "import-cvat", "x.csv", "--threshold-s", "0"])
    assert main(["label", "summary", "--log-dir", str(tmp_path / "typo")]) == 2
    assert f"log folder {tmp_path / 'typo'} does not exist" in capsys.readouterr().err
    cost = labeling_cost(10, 10, 10, tmp_path / "typo")
    assert cost["cvat"]["source"] == "modeled"
    assert cost["cvat"]["reason"] == cost["folder_sort"]["reason"] == f"log folder {tmp_path / 'typo'} does not exist"
