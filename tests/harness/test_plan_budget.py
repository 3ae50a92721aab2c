"""The run plan and the time budget (benchmarks/harness/plan.py, budget.py): durations, the cut order on a
deterministic estimator, `--plan` training nothing, and the per-pipeline step timings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.harness.budget import BudgetError, fit_budget, parse_duration
from benchmarks.record import fmt_s


@pytest.mark.parametrize(
    ("text", "seconds"), [("20m", 1200), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), (" 2m 30s ", 150)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["20", "m", "20 minutes", "-5m", "0s", "5x"])
def test_parse_duration_refuses_what_is_not_a_duration(text):
    with pytest.raises(BudgetError, match="--time-budget"):
        parse_duration(text)


def test_fmt_s():
    assert fmt_s(42.4) == "42 s"
    assert fmt_s(125) == "2 min 05 s"
    assert fmt_s(3 * 3600 + 60 * 7) == "3 h 07 min"


def _demo_cfg(tmp_path, *overrides):
    from benchmarks.config import load_config
    from benchmarks.demo import generate

    generate(tmp_path / "demo", n_images=40)
    return load_config(tmp_path / "demo" / "clsdet.yaml", profile="full", overrides=list(overrides))


class _Manifest:  # no boxes: every input size is allowed by the objects
    images: list = []
    classes: list = []


def _cost(cfg) -> dict:
    """A deterministic stand-in for the measured plan: seconds grow with jobs, epochs, pixels and latency cells."""
    jobs = len(cfg.curve.fractions) * len(cfg.curve.seeds) + len(cfg.curve.splits) * len(cfg.curve.seeds)
    jobs += cfg.curve.match_points
    train = sum(c.config.epochs * (c.config.imgsz / 64) ** 2 for c in cfg.candidates) * jobs
    lat = len(cfg.latency.backends) * len(cfg.latency.dtypes) * len(cfg.latency.batch_sizes) * cfg.latency.rounds
    return {"total_s": float(train + lat)}


def test_fit_budget_cuts_in_order_and_records_what_each_weakens(tmp_path):
    from benchmarks.config import with_overrides

    cfg = _demo_cfg(tmp_path, "classifier.epochs=20", "detector.epochs=40", "curve.match_points=3")
    full = _cost(cfg)["total_s"]
    budget = full * 0.05
    fitted, plan, changes = fit_budget(cfg, _Manifest(), budget, _cost, with_overrides)
    assert plan["total_s"] <= budget
    whats = [c["what"] for c in changes]
    # the documented order: repeats, then curve points, then epochs, then input size, then latency cells
    order = ["extra splits", "seeds", "curve fractions", "common-hour points", "epochs", "input", "latency"]
    firsts = [next(i for i, w in enumerate(whats) if key in w) for key in order if any(key in w for w in whats)]
    assert firsts == sorted(firsts), whats
    assert whats[0].startswith("extra splits") and any("epochs" in w for w in whats)
    for c in changes:
        assert c["overrides"] and c["weakens"] and c["estimate_after_s"] < c["estimate_before_s"]
    assert fitted.curve.splits == [] and len(fitted.curve.seeds) == 1
    # epochs never below the floor: half the configured epochs
    assert min(c.config.epochs for c in fitted.candidates if c.pipeline == "classifier") >= 10
    assert min(c.config.epochs for c in fitted.candidates if c.pipeline == "detector") >= 20


def test_fit_budget_changes_nothing_when_it_fits(tmp_path):
    from benchmarks.config import with_overrides

    cfg = _demo_cfg(tmp_path)
    fitted, plan, changes = fit_budget(cfg, _Manifest(), 1e9, _cost, with_overrides)
    assert changes == [] and fitted.to_dict() == cfg.to_dict()


def test_fit_budget_refuses_a_budget_nothing_fits(tmp_path):
    from benchmarks.config import with_overrides

    cfg = _demo_cfg(tmp_path)
    with pytest.raises(BudgetError, match=r"smallest plan takes about .* give at least"):
        fit_budget(cfg, _Manifest(), 1.0, _cost, with_overrides)


def test_input_size_cut_stops_where_objects_get_too_small(tmp_path):
    """On the demo (objects about 0.4 of the image side at scale 0.4) the detector may shrink a lot; a manifest whose
    boxes are 30 px in 640 px images allows no cut below 256 px (30 x 256 / 640 = 12 px)."""
    from benchmarks.harness.budget import _min_imgsz, _smallest

    class Rec:
        width, height = 640, 640
        boxes = {"src": [(0, 100, 100, 130, 130)]}

    class M:
        images = [Rec()]
        classes = ["a"]

    assert _min_imgsz(M(), "detector", 640) == 256
    assert _min_imgsz(M(), "detector", 224) == 224  # already below: no cut at all
    # what the cut's record says it weakens names the class and its size
    assert _smallest(M(), "detector", 256) == "detector at 256 px: median a box 12.0 px"


def test_plan_only_trains_nothing_and_writes_the_plan(tmp_path, fake, capsys):
    from benchmarks.harness import run_bench

    cfg = fake.make_bench(tmp_path, fake.random_labels(40), fractions=(0.5, 1.0), seeds=(0, 1))
    run = run_bench(cfg, tmp_path / "runs", devices=["cpu"], plan_only=True)
    plan = json.loads((run / "plan.json").read_text())
    assert len(plan["jobs"]) == 2 * 2 * 2 and all(j["estimate_s"] > 0 for j in plan["jobs"])
    assert math.isclose(plan["total_s"], plan["train_s"] + plan["evaluate_s"] + plan["latency_s"] + plan["other_s"],
                        abs_tol=0.5)  # fmt: skip
    assert fake.CALLS == []  # nothing trained
    assert not list(run.glob("jobs/*/*/job.json")) and not (run / "results.json").exists()
    from benchmarks.tracking import client_for

    client = client_for(cfg.mlflow.tracking_uri)
    exps = [e.experiment_id for e in client.search_experiments()]
    assert client.search_runs(exps) == []  # nothing logged to MLflow
    out = capsys.readouterr().out
    for j in plan["jobs"]:
        assert j["key"] in out
    assert "about" in out and "in all" in out
    assert "[3/3] plan: done" in (run / "bench.log").read_text()


def test_resume_after_plan_trains_the_planned_jobs_and_compares_estimate_with_actual(tmp_path, fake):
    from benchmarks.harness import run_bench

    cfg = fake.make_bench(tmp_path, fake.random_labels(40), fractions=(0.5, 1.0))
    run = run_bench(cfg, tmp_path / "runs", devices=["cpu"], plan_only=True, echo=lambda _: None)
    lines: list[str] = []
    again = run_bench(cfg, tmp_path / "runs", devices=["cpu"], resume=True, echo=lines.append)
    assert again == run and len(fake.CALLS) == 4
    assert any("not timed again" in line for line in lines)
    assert any("of the planned training done, about" in line for line in lines)  # the run's ETA per job
    res = json.loads((run / "results.json").read_text())
    plan = res["plan"]
    trained = {f"{Path(c['out_dir']).parent.parent.name}/{Path(c['out_dir']).parent.name}" for c in fake.CALLS}
    assert {j["key"] for j in plan["jobs"]} == trained  # the plan's jobs are the ones that trained
    for j in plan["jobs"]:
        assert j["actual_s"] is not None and j["ratio"] == pytest.approx(j["actual_s"] / j["estimate_s"], abs=1e-3)
    acc = plan["accuracy"]
    assert acc["n_jobs"] == 4 and acc["median_ratio"] > 0 and acc["train_ratio"] > 0
    assert "Run plan: estimate against actual" in (run / "report.md").read_text()


def test_time_budget_fits_the_plan_and_the_run_records_the_changes(tmp_path, fake):
    from benchmarks.harness import run_bench

    cfg = fake.make_bench(tmp_path, fake.random_labels(40), fractions=(0.25, 0.5, 1.0), seeds=(0, 1))
    a = run_bench(cfg, tmp_path / "a", devices=["cpu"], plan_only=True, echo=lambda _: None)
    unfitted = json.loads((a / "plan.json").read_text())["total_s"]
    budget = unfitted * 0.6
    run = run_bench(cfg, tmp_path / "b", devices=["cpu"], time_budget=budget, echo=lambda _: None)
    plan = json.loads((run / "plan.json").read_text())
    assert plan["total_s"] <= budget < plan["budget"]["estimate_unfitted_s"]
    changes = plan["budget"]["changes"]
    assert changes[0]["what"].startswith("seeds")  # the first cut that applies: repeats before curve points
    res = json.loads((run / "results.json").read_text())
    assert res["plan"]["budget"]["changes"] == changes
    assert res["config"]["curve"]["seeds"] == [0]  # the run trained with the fitted settings
    assert len(fake.CALLS) == len(plan["jobs"]) < 2 * 2 * 3
    report = (run / "report.md").read_text()
    assert "Time budget" in report and changes[0]["weakens"] in report


@pytest.mark.parametrize("pipeline", ["classifier", "detector"])
def test_each_pipeline_gives_a_real_step_the_plan_times(pipeline):
    """Every registered pipeline's `step_functions` run its own network's forward, loss, backward and optimizer step
    (the step changes the weights), and the plan times them with the harness's timer and records how."""
    import torch

    from benchmarks.harness.plan import Timings
    from benchmarks.registry.pipelines import get

    p = get(pipeline)
    cfg = p.config_class()(imgsz=64, batch=2)
    fns = p.package().step_functions(cfg, 3, 2)
    net = fns["model"]
    before = [t.detach().clone() for t in net.parameters()]
    fns["train_step"]()
    fns["forward"]()
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))  # a real optimizer step
    st = Timings(3, []).steps(pipeline, cfg)
    assert st["train_step_s"] > 0 and st["infer_image_s"] > 0 and st["timed_batch"] == 2
    assert "warm-up" in st["method"] and "threads" in st["method"] and "time.perf_counter_ns" in st["method"]


def test_budget_cuts_are_named_in_the_verdict():
    """What the time budget cut is said where the verdict says what would change the answer, once."""
    from benchmarks.curve.verdict import BUDGET_LEAD, with_warnings
    from benchmarks.curve.warnings import budget_cuts

    plan = {"budget": {"budget_s": 600, "estimate_unfitted_s": 1500, "changes": [
        {"what": "seeds [0, 1, 2] -> [0]", "weakens": "training variance not measured (one seed)", "overrides": []},
        {"what": "detector input 320 -> 256 px", "weakens": "smaller input: the smallest objects lose detail",
         "overrides": []},
    ]}}  # fmt: skip
    cuts = budget_cuts(plan)
    assert [w["kind"] for w in cuts] == ["budget_cut", "budget_cut"]
    assert "10 min 00 s" in cuts[0]["text"] and "25 min 00 s" in cuts[0]["fix"]
    v = {"answer": "A is ahead.", "how_sure": "How sure: ...", "what_would_change": "Rates.", "models": {}}
    once = with_warnings(v, cuts)
    twice = with_warnings(once, cuts)
    for out in (once, twice):
        assert out["what_would_change"].count(BUDGET_LEAD) == 1
        assert "detector input 320 -> 256 px" in out["what_would_change"] and "one seed" in out["what_would_change"]
        assert out["what_would_change"] in out["text"]
    assert budget_cuts({"budget": {"budget_s": 600, "changes": []}}) == [] and budget_cuts(None) == []


def test_epoch_cut_skips_shares_that_change_nothing(tmp_path):
    """90% and 80% of 4 epochs round back to 4: the cut goes on to 70% (3 epochs) instead of stopping."""
    from benchmarks.config import with_overrides
    from benchmarks.harness.budget import _cut_epochs

    cfg = _demo_cfg(tmp_path, "classifier.epochs=4", "detector.epochs=4")
    changes = []
    fitted, plan = _cut_epochs(cfg, _cost(cfg), 0.0, _cost, with_overrides, lambda *a: changes.append(a))
    assert {c.config.epochs for c in fitted.candidates} == {3} and plan["total_s"] < _cost(cfg)["total_s"]
    assert changes and "epochs 4 -> 3" in changes[0][1]


def test_the_report_says_how_the_steps_were_timed():
    from benchmarks.report.plan_blocks import plan_blocks

    plan = {"jobs": [], "train_s": 10, "method": "m", "timings": {"steps": [
        {"pipeline": "classifier", "model": "resnet18-scratch", "imgsz": 160, "method": "median of 3 after 1 warm-up, "
         "time.perf_counter_ns, sync none (cpu, synchronous), 2 threads"}]}}  # fmt: skip
    text = " ".join(b[1] for b in plan_blocks({"plan": plan}) if b[0] == "p")
    assert "classifier resnet18-scratch at 160 px: median of 3 after 1 warm-up" in text and "2 threads" in text
