"""The common hour grid on the demo's counts: both methods get points at the same labeling hours, the detector's
cheap points with few images and the classifier's dear ones with many, each point pricing its own val share."""

from __future__ import annotations

import json

import pytest

from benchmarks.config import load_config
from benchmarks.curve.pricing import labeling_hours
from benchmarks.curve.subsets import subset_size
from benchmarks.harness import stages as S
from benchmarks.harness.run import StageLog
from benchmarks.harness.training import MATCH_TOL, MIN_VAL, plan_jobs, plan_rates


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from benchmarks.demo import generate

    out = tmp_path_factory.mktemp("grid") / "demo"
    generate(out, n_images=400, size=64, object_scale=0.4, distractors=3, folder_noise=0.1)  # as make bench
    return out


def _plan(demo, tmp_path, *sets):
    cfg = load_config(demo / "clsdet.yaml", profile="quick", overrides=["labeling.log_dir=" + str(tmp_path), *sets])
    run = tmp_path / "run"
    run.mkdir()
    ctx = S.Context(cfg=cfg, run_dir=run, log=StageLog(run, "k"), echo=lambda s: None)
    S.stage_data(ctx)
    S.stage_split(ctx)
    jobs = plan_jobs(ctx)
    specs = {j.key: json.loads((j.folder(run) / "job.json").read_text()) for j in jobs}
    return ctx, specs


def _hours(spec, method):
    val = {"n_images": len(spec["val"]), "n_labels": 0, "n_boxes": sum(len(s["boxes"]) for s in spec["val"])}
    return labeling_hours(method, spec["n_images"], spec["n_labels"], spec["n_boxes"], val)["hours"]


def test_both_methods_are_measured_at_the_same_hours(demo, tmp_path):
    ctx, specs = _plan(demo, tmp_path)
    assert plan_rates(ctx)["cvat"] == ("box", 10.0)  # the central cited rate: one box drawn without verification
    cls = {k: _hours(s, "folder_sort") for k, s in specs.items() if s["pipeline"] == "classifier"}
    det = {k: _hours(s, "cvat") for k, s in specs.items() if s["pipeline"] == "detector"}
    matched = [(c, d) for c, hc in cls.items() for d, hd in det.items() if abs(hd - hc) <= MATCH_TOL * hc * 1.01]
    assert len({c for c, _ in matched}) >= 2, (cls, det)  # at least two budgets measured for both
    for c, d in matched:
        # the same hours: the detector labels far fewer images than the classifier
        assert specs[d]["n_images"] < specs[c]["n_images"]
    # a matched fraction gives back exactly the planned number of images (no rounding up to one more)
    for key, spec in specs.items():
        frac, n_train = spec["fraction"], len(spec["train"])
        assert subset_size(frac, round(n_train / frac)) == n_train, key
    # below the full data, each point labels its share of the val split (at least MIN_VAL images) and pays for it
    small = min(specs.values(), key=lambda s: s["n_images"])
    assert MIN_VAL <= len(small["val"]) < len(specs["classifier/f1-s0"]["val"])


def test_configured_fractions_only_when_matching_is_off(demo, tmp_path):
    _, specs = _plan(demo, tmp_path, "curve.match_hours=false", "curve.fractions=[0.5,1.0]", "curve.val_rule=fixed")
    assert sorted(specs) == ["classifier/f0.5-s0", "classifier/f1-s0", "detector/f0.5-s0", "detector/f1-s0"]
    assert len({len(s["val"]) for s in specs.values()}) == 1  # fixed: every point labels the whole val split
