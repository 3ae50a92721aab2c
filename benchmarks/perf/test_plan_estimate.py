"""How far the run plan's estimate is off on this machine (benchmarks/harness/plan.py): a small demo benchmark (every
pipeline's headline job, real training) planned, then trained, and each job's actual / estimate ratio recorded in
the benchmark's extra_info (`make perf` keeps it in results/perf/perf.json). The plan aims at +-30%; a ratio is
measured here, not asserted: this only checks that it is computed and within a sane order of magnitude.
"""

from __future__ import annotations

import json

import torch


def test_plan_estimate_against_actual(benchmark, tmp_path):
    from benchmarks.config import load_config
    from benchmarks.demo import generate
    from benchmarks.harness import run_bench
    from benchmarks.harness.plan import plan_record

    generate(tmp_path / "demo", n_images=80, size=96)
    cfg = load_config(tmp_path / "demo" / "clsdet.yaml", overrides=[
        "classifier.epochs=3", "classifier.imgsz=96", "detector.epochs=3", "detector.imgsz=96",
        "curve.fractions=[1.0]", "curve.match_points=0", f"mlflow.tracking_uri=sqlite:///{tmp_path}/mlflow.db",
    ])  # fmt: skip
    runs = tmp_path / "runs"

    def bench():
        return run_bench(cfg, runs, devices=["cpu"], only=["data", "split", "plan", "train"], echo=lambda _: None)

    benchmark.group = "plan estimate"
    run = benchmark.pedantic(bench, rounds=1, iterations=1)
    stages = json.loads((run / "stages.json").read_text())["stages"]
    rec = plan_record(run, stages)
    ratios = {j["key"]: j["ratio"] for j in rec["jobs"]}
    benchmark.extra_info.update(
        ratios=ratios, median_ratio=rec["accuracy"]["median_ratio"], within_30pct=rec["accuracy"]["within_tolerance"],
        n_jobs=rec["accuracy"]["n_jobs"], threads=torch.get_num_threads(), timings=rec["timings"],
    )  # fmt: skip
    assert set(ratios) == {"classifier/f1-s0", "detector/f1-s0"}
    assert all(r is not None and 0.1 < r < 10 for r in ratios.values()), ratios
