"""The verdict and the excluded classes through the whole harness, on the instant fake pipeline (fake_pipeline.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.harness import run_bench  # noqa: E402


def _run(cfg, root: Path) -> Path:
    return run_bench(cfg, root / "runs", devices=["cpu"], echo=lambda s: None)


def _verdict_paragraph(report: str) -> str:
    return next(line for line in report.splitlines() if "a random ranking" in line)


def test_scores_without_information_give_an_inconclusive_verdict(fake, tmp_path):
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(1.0,))
    run = _run(cfg, tmp_path)
    curve = json.loads((run / "curve.json").read_text())
    assert curve["verdict"]["inconclusive"] is True
    assert all(m["beats_baseline"] is not True for m in curve["verdict"]["models"].values())
    assert _verdict_paragraph((run / "report.md").read_text()).count("Inconclusive on this data") == 1


def test_scores_that_know_the_labels_are_not_inconclusive(fake, tmp_path):
    labels = FP.random_labels(40)
    cfg = FP.make_bench(tmp_path, labels, fractions=(1.0,))
    FP.SCORES = FP.oracle(labels)
    run = _run(cfg, tmp_path)
    curve = json.loads((run / "curve.json").read_text())
    assert curve["verdict"]["inconclusive"] is False
    assert "Inconclusive" not in (run / "report.md").read_text()


def test_class_without_test_negatives_is_listed_and_left_out_of_macro_ap(fake, tmp_path):
    labels = [[a, b, 1] for a, b, _ in FP.random_labels(40)]  # class c is on every image
    cfg = FP.make_bench(tmp_path, labels, fractions=(1.0,))
    FP.SCORES = FP.oracle([[a, 1 - b, c] for a, b, c in labels])  # right on a, wrong on b: macro AP shows which
    run = _run(cfg, tmp_path)
    results = json.loads((run / "results.json").read_text())
    for model in ("classifier", "detector"):
        acc = results["models"][model]["accuracy"]
        assert acc["excluded_classes"] == ["c"]
        per = acc["per_class"]
        assert acc["macro_ap"] == pytest.approx((per["a"]["ap"] + per["b"]["ap"]) / 2)
        assert per["c"]["ap"] == pytest.approx(1.0)  # trivially 1: counting it would lift macro AP
    report = (run / "report.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("Left out of macro AP"))
    assert "c" in line.split(":", 1)[1] and "negative" in line


def test_evaluate_recomputes_every_statistic_from_stored_scores(fake, tmp_path, monkeypatch):
    """Each scored point keeps scored.npz (scores, truth, ids, classes, thresholds); `clsdet evaluate RUN_DIR`
    recomputes accuracy, the tests and the verdict from those files with other counts, and trains nothing."""
    import numpy as np

    from benchmarks.cli import main
    from benchmarks.harness.training import load_scored

    labels = FP.random_labels(40)
    cfg = FP.make_bench(tmp_path, labels, fractions=(0.5, 1.0))
    FP.SCORES = FP.oracle(labels)
    run = _run(cfg, tmp_path)
    ev = json.loads((run / "eval.json").read_text())
    stored = load_scored(run / "jobs" / "classifier" / "f1-s0")
    assert stored["ids"] == ev["test_ids"] and stored["classes"] == ["a", "b", "c"]
    assert stored["scores"].shape == stored["truth"].shape == (len(ev["test_ids"]), 3)
    np.testing.assert_allclose(stored["scores"], np.load(run / "jobs" / "classifier" / "f1-s0" / "test_scores.npy"))
    before = json.loads((run / "results.json").read_text())["models"]["classifier"]["accuracy"]

    def no_training(*a, **k):
        raise AssertionError("clsdet evaluate must not load or train a model")

    monkeypatch.setattr("benchmarks.registry.pipelines.load_predictor", no_training)
    assert main(["evaluate", str(run), "--bootstrap", "50", "--permutations", "99", "--self-check", "0"]) == 0
    after = json.loads((run / "results.json").read_text())
    acc = after["models"]["classifier"]["accuracy"]
    assert acc["bootstrap"]["resamples"] == 50 and acc["permutation"]["permutations"] == 99
    assert acc["macro_ap"] == pytest.approx(before["macro_ap"])  # the same scores, the same point estimate
    assert acc["vs_baseline"]["p_value"] == pytest.approx(1 / 100)
    assert after["curve"]["verdict"]["self_check"] is None
    assert "## Verdict" in (run / "report.md").read_text()


def test_extra_splits_train_on_their_own_split_and_enter_the_headline_comparison(fake, tmp_path):
    """curve.splits: each extra split is redrawn (split seed + n), its jobs train on all its train images with every
    seed and are scored on its own test images; the verdict's full-data comparison counts seeds x splits."""
    from benchmarks.harness.training import load_scored

    labels = FP.random_labels(48)
    cfg = FP.make_bench(tmp_path, labels, fractions=(0.5, 1.0), seeds=(0, 1), splits=(1, 2))
    FP.SCORES = FP.oracle(labels)
    run = _run(cfg, tmp_path)
    specs = FP.job_specs(run)
    assert "classifier/f1-s1-r2" in specs and "detector/f1-s0-r1" in specs and "classifier/f0.5-s0-r1" not in specs
    ev = json.loads((run / "eval.json").read_text())
    split1 = json.loads((run / "split_r1.json").read_text())
    assert split1["seed"] == cfg.split.seed + 1 and sorted(split1["test"]) != sorted(ev["test_ids"])
    assert load_scored(run / "jobs" / "detector" / "f1-s0-r1")["ids"] == ev["split_test_ids"]["1"]
    assert set(specs["classifier/f1-s1-r2"]["train"][i]["id"] for i in range(3)) <= set(
        json.loads((run / "split_r2.json").read_text())["train"]
    )
    v = json.loads((run / "curve.json").read_text())["verdict"]
    assert v["headline"]["n_splits"] == 3 and v["headline"]["n_seeds"] == 2
    assert set(v["headline"]["per_split"]) == {"0", "1", "2"}
    assert "2 seeds x 3 splits" in v["how_sure"]
    assert v["models"]["classifier"]["beats_baseline"] is True
    # the budget points of the extra splits are not curve points: the paired table is the run's own split only
    assert {r["seed"] for r in json.loads((run / "curve.json").read_text())["paired"]} == {0, 1}


def test_a_failed_latency_cell_shows_in_the_stage_line(fake, tmp_path, monkeypatch):
    """A model that cannot be timed is a recorded failure (the report still comes out), and the stage's console
    line says so instead of a plain 'done'."""

    def broken(self, batch):
        raise RuntimeError("this model cannot run a forward pass here")

    # channels_last never: with `auto` a timing probe of the bare module picks the layout, and when it picks
    # channels_last the variant runs the module, not the broken forward (this test failed once that way)
    cfg = FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,), overrides=["latency.channels_last=never"])
    monkeypatch.setattr(FP.FakePredictor, "forward", broken)
    lines: list[str] = []
    run = run_bench(cfg, tmp_path / "runs", devices=["cpu"], echo=lines.append)
    stage = [line for line in lines if "] latency: " in line][-1]
    assert "latency: done, " in stage and "failed" in stage, stage
    assert json.loads((run / "stages.json").read_text())["stages"]["latency"]["status"] == "done"
    assert (run / "report.md").is_file()
