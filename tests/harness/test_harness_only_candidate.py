"""Comparing one more candidate without retraining the rest: `--only-candidate` and resume with a grown config."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.config import ConfigError, load_config  # noqa: E402
from benchmarks.harness import run_bench  # noqa: E402

ONE = "classifier=[{name: a, epochs: 4, batch: 4}]"
TWO = "classifier=[{name: a, epochs: 4, batch: 4}, {name: b, epochs: 2, batch: 4}]"


def _trained(calls) -> set[str]:
    return {"/".join(Path(c["out_dir"]).parts[-3:-1]) for c in calls}


def test_only_candidate_trains_the_new_one_and_reuses_the_rest(fake, tmp_path):
    FP.make_bench(tmp_path, FP.random_labels(40), fractions=(1.0,), overrides=[ONE])
    runs = tmp_path / "runs"
    first = run_bench(load_config(tmp_path / "bench.yaml", overrides=[ONE]), runs, devices=["cpu"], echo=lambda s: None)
    assert _trained(FP.CALLS) == {"a/f1-s0", "detector/f1-s0"}
    FP.CALLS.clear()
    grown = load_config(tmp_path / "bench.yaml", overrides=[TWO])
    second = run_bench(grown, runs, resume=True, devices=["cpu"], only_candidates=["b"], echo=lambda s: None)
    assert second == first  # the same run folder, not a new one
    assert _trained(FP.CALLS) == {"b/f1-s0"}  # only the new candidate trained
    r = json.loads((first / "results.json").read_text())
    assert set(r["models"]) == {"a", "b", "detector"}
    assert all(r["models"][m]["accuracy"]["macro_ap"] is not None for m in r["models"])


def test_only_candidate_refuses_when_the_others_were_never_trained(fake, tmp_path):
    FP.make_bench(tmp_path, FP.random_labels(40), fractions=(1.0,), overrides=[TWO])
    cfg = load_config(tmp_path / "bench.yaml", overrides=[TWO])
    with pytest.raises(ConfigError, match=r"no finished job\(s\) a/f1-s0, detector/f1-s0 to reuse"):
        run_bench(cfg, tmp_path / "runs", resume=True, devices=["cpu"], only_candidates=["b"], echo=lambda s: None)
    assert FP.CALLS == []
