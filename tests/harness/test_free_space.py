"""The free-space check before training: a warning naming the expected size, the free space and what to do when the
run folder's disk looks too small (from a pipeline's parameter count, or measured in an earlier run); the run goes
on either way."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py, fake_cvat.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.cli import main  # noqa: E402


def _free(monkeypatch, free: int) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=free * 10, used=free * 9, free=free))


def _bench(tmp_path) -> list[str]:
    return ["bench", str(tmp_path / "bench.yaml"), "--out", str(tmp_path / "runs"), "--device", "cpu"]


def test_too_little_free_space_for_the_models_is_said_before_training_and_the_run_goes_on(
    fake, tmp_path, monkeypatch, capsys
):
    FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,))
    # 25 M params: kept 25e6 x 4 bytes + 5 MB = 105 MB per job, 2 jobs; checkpoints while one trains 25e6 x 4 x 7 =
    # 700 MB; 20% margin: 1.09 GB
    monkeypatch.setattr(FP, "estimate_params", lambda cfg: 25_000_000, raising=False)
    _free(monkeypatch, 1_000_000_000)
    assert main(_bench(tmp_path)) == 0
    out = capsys.readouterr().out
    (run,) = (tmp_path / "runs").iterdir()
    assert (
        "warning: the 2 training job(s) are expected to take about 1.1 GB (classifier: 1 x 105.0 MB, 25.0 M params x "
        "4 bytes + 5.0 MB; detector: 1 x 105.0 MB, 25.0 M params x 4 bytes + 5.0 MB; checkpoints of 1 job(s) training "
        "at once: 700.0 MB; 20% margin)" in out
    ), out
    assert (
        f"but only 1.0 GB is free on the disk of {run}: free space on that disk, or point --out at a larger disk" in out
    )
    assert out.index("expected to take about") < out.index("[4/12] train: done")  # before the jobs, not after
    assert (run / "results.json").is_file()


def test_an_earlier_runs_measured_jobs_are_the_estimate(fake, tmp_path, monkeypatch, capsys):
    FP.make_bench(tmp_path, FP.random_labels(24), fractions=(1.0,))
    _free(monkeypatch, 10**15)
    assert main(_bench(tmp_path)) == 0
    assert "expected to take" not in capsys.readouterr().out  # it fits: nothing said
    (first,) = (tmp_path / "runs").iterdir()
    _free(monkeypatch, 100)
    assert main(_bench(tmp_path)) == 0  # a new run folder beside the first: the fake pipeline gives no estimate
    out = capsys.readouterr().out
    assert "classifier: 1 x " in out and f", measured in {first.name};" in out, out
    assert f"delete old run folders under {tmp_path / 'runs'} (1 besides this one)" in out, out
