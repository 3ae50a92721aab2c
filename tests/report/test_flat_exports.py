"""results.csv and latency.csv (benchmarks/report/flat.py) against the results.json they are written from, `clsdet
report --format`, and `clsdet compare`."""

from __future__ import annotations

import json
import math
import shutil
import statistics
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.cli import main
from benchmarks.record import migrate
from benchmarks.report.flat import LATENCY_COLUMNS, RESULTS_COLUMNS, results_rows

# a real make-bench results.json (the demo quick reference of an earlier stop), kept as a fixture so these tests do
# not change whenever the committed reference is re-rendered
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "demo_quick"


@pytest.fixture
def run(tmp_path) -> Path:
    """A copy of a committed reference run: a real results.json with a budget curve and two latency backends."""
    out = tmp_path / "run"
    out.mkdir()
    shutil.copy(REFERENCE / "results.json", out / "results.json")
    return out


def _doc(run: Path) -> dict:
    """The run's results.json as clsdet reads it: migrated to the current schema (the fixture is older)."""
    return migrate(json.loads((run / "results.json").read_text()))


def _same(csv_value, json_value) -> bool:
    if json_value is None:
        return csv_value is None or (isinstance(csv_value, float) and math.isnan(csv_value))
    if isinstance(json_value, bool):
        return csv_value == json_value
    if isinstance(json_value, int | float):
        return math.isclose(float(csv_value), float(json_value), rel_tol=1e-12)
    return str(csv_value) == str(json_value)


def test_results_csv_matches_results_json(run, capsys):
    assert main(["report", str(run), "--format", "csv"]) == 0
    assert "results.csv" in capsys.readouterr().out and not (run / "report.md").exists()  # csv only
    results = _doc(run)
    df = pd.read_csv(run / "results.csv")
    assert list(df.columns) == [name for name, _ in RESULTS_COLUMNS]
    points = results["curve"]["points"]
    assert len(df) == len(points) == 6  # 2 candidates x 3 fractions x 1 seed
    for p in points:
        (row,) = df[(df.candidate == p["candidate"]) & (df.fraction == p["fraction"]) & (df.seed == p["seed"])].to_dict(
            "records"
        )
        model = results["models"][p["candidate"]]
        acc = p["accuracy"]
        expected = {
            "method": p["method"], "images": p["n_images"], "boxes": p["n_boxes"], "headline": p["headline"],
            "labeling_hours": p["labeling"]["hours"], "labeling_source": p["labeling"]["source"],
            "macro_ap": acc["macro_ap"], "macro_ap_ci95_lo": acc["macro_ap_ci95"][0],
            "macro_ap_ci95_hi": acc["macro_ap_ci95"][1], "baseline_macro_ap": acc["baseline"]["macro_ap"],
            "beats_baseline": acc["vs_baseline"]["beats_baseline"], "macro_f1": acc["macro_f1"],
            "train_wall_s": p["train_wall_s"], "params": model["size"]["params"],
            "file_mb_fp32": model["size"]["file_mb_fp32"], "status": "ok",
            # box mAP is the headline training's only (models.<c>.box); a classifier has none
            "box_map50_95": (model.get("box") or {}).get("map50_95") if p["headline"] else None,
        }  # fmt: skip
        for col, value in expected.items():
            assert _same(row[col], value), (p["key"], col, row[col], value)
    assert df[(df.candidate == "detector") & df.headline].box_map50.notna().all()


def test_latency_csv_matches_results_json(run):
    assert main(["report", str(run), "--format", "csv"]) == 0
    results = _doc(run)
    df = pd.read_csv(run / "latency.csv")
    assert list(df.columns) == [name for name, _ in LATENCY_COLUMNS]
    cell = ("model", "device", "backend", "dtype", "batch_size", "scope")
    records = [
        {**r, "backend": r.get("backend", "eager")}
        for m in results["models"].values()
        for r in m["latency"]
        if r.get("kind", "latency") == "latency"
    ]
    expected: dict[tuple, list[float]] = {}
    for r in records:
        expected.setdefault(tuple(r[k] for k in cell), []).append(r["latency_ms_p50"])
    timed = df[df.kind == "latency"]
    # one row per cell; its p50 is the median over the session's interleaved rounds
    assert sorted(tuple(x) for x in timed[list(cell)].itertuples(index=False)) == sorted(expected)
    for row in timed.to_dict("records"):
        key = tuple(row[k] for k in cell)
        assert math.isclose(row["latency_ms_p50"], statistics.median(expected[key]))
        assert row["n_rounds"] == len(expected[key])
        ref = statistics.median(expected[(*key[:2], "eager", "float32", *key[4:])])
        assert math.isclose(row["speedup_vs_eager_fp32"], ref / row["latency_ms_p50"])
    assert set(df[df.kind == "peak_throughput"].model) == {"classifier", "detector"}


def test_missing_and_new_keys_never_break_the_tables(run):
    """The CSV follows results.json: a key missing is an empty cell, a key added (the permutation-test baseline)
    fills its column; a failed curve point is a row with its error."""
    results = _doc(run)
    first = results["curve"]["points"][0]
    first["accuracy"]["baseline"]["random_ranking_macro_ap"] = 0.2468
    del results["curve"]["points"][1]["accuracy"]
    results["curve"]["failed"] = [{"key": "detector/f0.3-s1", "candidate": "detector", "fraction": 0.3, "seed": 1,
                                   "status": "failed", "error": "out of memory"}]  # fmt: skip
    rows = results_rows(results)
    assert len(rows) == 7 and rows[0]["random_ranking_ap"] == 0.2468
    assert rows[1]["macro_ap"] is None and rows[1]["macro_ap_ci95_lo"] is None
    assert rows[-1]["status"] == "failed" and rows[-1]["error"] == "out of memory" and rows[-1]["macro_ap"] is None
    assert rows[-1]["method"] == "cvat" and rows[-1]["params"] == results["models"]["detector"]["size"]["params"]
    # a failed point that records its key only: candidate, fraction and seed read from the key
    results["curve"]["failed"] = [{"key": "classifier/f0.25-s2", "status": "failed", "error": "x"}]
    row = results_rows(results)[-1]
    assert (row["candidate"], row["fraction"], row["seed"], row["method"]) == ("classifier", 0.25, 2, "folder_sort")
    # a run without a curve record: one headline row per model, from its own sections
    del results["curve"]
    rows = results_rows(results)
    assert [(r["candidate"], r["fraction"], r["headline"]) for r in rows] == [
        ("classifier", 1.0, True),
        ("detector", 1.0, True),
    ]
    assert rows[0]["macro_ap"] == results["models"]["classifier"]["accuracy"]["macro_ap"]


def test_report_format_json_writes_the_same_tables(run):
    assert main(["report", str(run), "--format", "json"]) == 0
    doc = json.loads((run / "tables.json").read_text())
    assert doc["results"] == results_rows(_doc(run))
    assert set(doc["latency"][0]) == {name for name, _ in LATENCY_COLUMNS}


def test_compare_puts_runs_side_by_side(run, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    results = _doc(run)
    results["run_id"] = "second-run"
    results["config"]["metrics"]["bootstrap"] = 1234
    for p in results["curve"]["points"]:
        if p["key"] == "detector/f1-s0":  # the headline point (its accuracy is models.detector's)
            p["accuracy"]["macro_ap"] = 0.777
    (other / "results.json").write_text(json.dumps(results))
    assert main(["compare", str(run), str(other / "results.json")]) == 0
    out = capsys.readouterr().out
    first = _doc(run)["run_id"]
    assert f"{first} / classifier" in out and "second-run / detector" in out and "0.777" in out
    assert "1 key(s) differ" in out and "metrics.bootstrap" in out and "1234" in out
    assert main(["compare", str(run), str(other), "--format", "csv"]) == 0
    import io

    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(zip(df.run_id, df.candidate)) == [
        (first, "classifier"), (first, "detector"), ("second-run", "classifier"), ("second-run", "detector")
    ]  # fmt: skip
    assert df.macro_ap.iloc[3] == 0.777 and "p50_ms_b1_cpu" in df.columns
