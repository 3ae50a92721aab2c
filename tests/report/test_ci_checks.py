"""Exit codes CI can use: `clsdet bench|report --strict` (a job, stage or accuracy gate failed) and `--fail-under
METRIC=VALUE` (a candidate's headline metric below a floor), on the fake pipeline (trains instantly)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.cli import build_parser, main  # noqa: E402
from benchmarks.report.checks import floor, floor_failures, strict_failures  # noqa: E402

# a real make-bench results.json (the demo quick reference of an earlier stop), kept as a fixture so these tests do
# not change whenever the committed reference is re-rendered
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "demo_quick"


def _reference() -> dict:
    return json.loads((REFERENCE / "results.json").read_text())


def test_a_clean_run_has_no_strict_failure():
    assert strict_failures(_reference()) == []


def test_strict_finds_a_failed_stage_job_and_accuracy_gate():
    results = _reference()
    results["stages"]["latency"] = {"status": "failed", "error": "RuntimeError('boom')"}
    results["curve"]["failed"] = [{"key": "classifier/f0.3-s1", "status": "failed", "error": "out of memory"}]
    for r in results["models"]["detector"]["latency"]:
        if r.get("backend") == "onnxruntime" and r.get("batch_size") == 1 and r.get("scope") == "model":
            r.update(gate="failed accuracy gate", gate_drop=0.05)
    found = strict_failures(results)
    assert found == [
        "stage latency: failed: RuntimeError('boom')",
        "job classifier/f0.3-s1: failed: out of memory",
        "accuracy gate failed: detector cpu onnxruntime float32 batch 1 model: macro AP 0.050 below eager float32",
    ]


def test_fail_under_is_per_candidate_at_full_data():
    results = _reference()  # headline macro AP: classifier 0.456, detector 0.438
    assert floor_failures(results, [("macro_ap", 0.44)]) == ["detector: macro_ap 0.4382 < 0.44"]
    assert floor_failures(results, [("macro_ap", 0.4)]) == []
    del results["models"]["classifier"]["accuracy"]
    assert floor_failures(results, [("macro_f1", 0.1)]) == [
        "classifier: macro_f1 is missing (no headline accuracy), floor 0.1"
    ]


@pytest.mark.parametrize("bad", ["macro_ap", "hamming_loss=0.1", "macro_ap=high", "macro_ap=nan", "=0.5"])
def test_fail_under_bad_values(bad):
    with pytest.raises(argparse.ArgumentTypeError, match="METRIC|number|finite"):
        floor(bad)
    assert floor("macro_ap=0.6") == ("macro_ap", 0.6)


def test_help_documents_the_exit_codes(capsys):
    for cmd in ("bench", "report"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([cmd, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--strict" in text and "--fail-under METRIC=VALUE" in text and "exit codes: 0" in text
        assert "1 a check asked for failed" in text


def test_bench_strict_exits_1_on_a_failed_job_and_prints_the_headline(fake, tmp_path, capsys):
    cfg_path = tmp_path / "bench.yaml"
    FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.5,))
    FP.FAIL["classifier/f0.5-s0"] = RuntimeError("out of memory (simulated)")
    argv = ["bench", str(cfg_path), "--out", str(tmp_path / "runs"), "--device", "cpu"]
    assert main([*argv, "--strict", "--fail-under", "macro_ap=0.99", "--fail-under", "macro_f1=0"]) == 1
    out = capsys.readouterr().out
    (run,) = (tmp_path / "runs").iterdir()
    # the end of the output: headline table, verdict, paths, then what failed
    tail = out[out.index("| metric") :]
    assert tail.index("verdict: ") < tail.index("results:  ") < tail.index("tables:   ") < tail.index("FAILED: 3")
    assert "macro AP [95% CI]" in tail and str(run / "results.csv") in tail
    assert "job classifier/f0.5-s0: failed: RuntimeError: out of memory (simulated)" in tail
    assert "classifier: macro_ap" in tail and "< 0.99" in tail and "macro_f1" not in tail.split("FAILED")[1]
    # every run writes the flat tables; the failed point is a row of results.csv
    import pandas as pd

    df = pd.read_csv(run / "results.csv")
    assert set(zip(df.candidate, df.fraction, df.status)) == {
        ("classifier", 1.0, "ok"), ("detector", 1.0, "ok"), ("detector", 0.5, "ok"), ("classifier", 0.5, "failed")
    }  # fmt: skip
    assert (run / "latency.csv").is_file()

    # the finished run, checked again without training: no check asked -> 0; --strict -> 1
    assert main(["report", str(run), "--format", "csv"]) == 0
    assert main(["report", str(run), "--format", "csv", "--strict"]) == 1
    assert "job classifier/f0.5-s0" in capsys.readouterr().out
    # the same run without the failure passes: exit 0, with a line saying which checks passed
    results = json.loads((run / "results.json").read_text())
    results["curve"]["failed"] = []
    clean = tmp_path / "clean"
    shutil.copytree(run, clean)
    (clean / "results.json").write_text(json.dumps(results))
    assert main(["report", str(clean), "--format", "csv", "--strict", "--fail-under", "macro_ap=0"]) == 0
    assert "checks passed (--strict, --fail-under macro_ap=0)" in capsys.readouterr().out
