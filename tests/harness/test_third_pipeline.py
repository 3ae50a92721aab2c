"""The proof that a pipeline and a labeling method are each one registry entry: a third pipeline (the fake pipeline
under a new name) with a new labeling method runs through config load, a whole tiny bench, the budget curve, the
report and the app's data layer, with no change to shared code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: fake_pipeline.py
import fake_pipeline as FP  # noqa: E402, N812

from benchmarks.app import core  # noqa: E402
from benchmarks.config import ConfigError, load_config  # noqa: E402
from benchmarks.harness import run_bench  # noqa: E402
from benchmarks.predictions import run, scoring  # noqa: E402
from benchmarks.record import load_results  # noqa: E402
from benchmarks.registry import methods, pipelines  # noqa: E402
from benchmarks.registry.methods import LabelingMethod  # noqa: E402
from benchmarks.registry.pipelines import Pipeline  # noqa: E402

TAGGING = LabelingMethod("tagging", "tag lists", "#2ca02c", "image", modeled_s=3.0, citation="assumed: 3 s per image")
TAGGER = Pipeline(
    "tagger", "fake_pipeline", "tagging", "Tagger", ("imgsz",), False,
    val_metric="val/macro_ap", palette=("#2ca02c", "#98df8a"), resize="short_side_crop", min_imgsz=16,
    quick_epochs=2, train_flags=("epochs",),
)  # fmt: skip


@pytest.fixture
def third(fake, monkeypatch):
    """The fake pipeline registered a third time, as `tagger`, labeled by a new method `tagging`."""
    monkeypatch.setitem(methods.METHODS, TAGGING.name, TAGGING)
    monkeypatch.setitem(pipelines.PIPELINES, TAGGER.name, TAGGER)
    return fake


@pytest.fixture
def third_run(third, tmp_path) -> Path:
    cfg = FP.make_bench(tmp_path, FP.random_labels(40), fractions=(0.5, 1.0), overrides=["tagger.epochs=3"])
    return run_bench(cfg, tmp_path / "runs", devices=["cpu"], echo=lambda s: None)


def test_the_config_reads_a_section_and_a_labels_key_for_the_new_pipeline(third, tmp_path):
    cfg = FP.make_bench(tmp_path, FP.random_labels(8))
    text = (tmp_path / "bench.yaml").read_text()
    assert "tagger" not in text  # no section: one candidate with the pipeline's defaults, trained on the truth
    assert cfg.candidate("tagger").pipeline == "tagger" and cfg.labels.role("tagger") == "t"
    cfg = load_config(tmp_path / "bench.yaml", overrides=["tagger=[{name: t16, imgsz: 16}, {name: t32, imgsz: 32}]"])
    assert cfg.candidate_names("tagger") == ["t16", "t32"] and cfg.candidate("t32").config.imgsz == 32
    assert cfg.to_dict()["tagger"][1]["name"] == "t32"  # the resolved config writes the section back
    with pytest.raises(ConfigError, match=r"`labels\.tagger` = 'nope' is not a source"):
        load_config(tmp_path / "bench.yaml", overrides=["labels.tagger=nope"])
    with pytest.raises(ConfigError, match=r"unknown key\(s\) tagge;.*tagger"):
        load_config(tmp_path / "bench.yaml", overrides=["tagge.epochs=2"])
    quick = load_config(tmp_path / "bench.yaml", profile="quick")
    assert quick.candidate("tagger").config.epochs == 2  # the registry's quick epochs


@pytest.mark.plots
def test_a_whole_bench_trains_prices_and_compares_the_new_pipeline(third_run):
    res = load_results(third_run)
    model = res["models"]["tagger"]
    assert (model["pipeline"], model["labeling_method"]) == ("tagger", "tagging")
    assert model["accuracy"]["macro_ap"] is not None
    cost = res["labeling"]["tagging"]  # priced by its registered modeled rate
    assert cost["source"] == "modeled" and cost["s_per_image"] == 3.0 and "assumed: 3 s per image" in cost["basis"]
    points = [p for p in res["curve"]["points"] if p["pipeline"] == "tagger"]
    assert {0.5, 1.0} <= {p["fraction"] for p in points}  # and the common-hour points it gets like the others
    assert all(p["method"] == "tagging" and p["labeling"]["rate"]["value"] == 3.0 for p in points)
    # the verdict compares the registry's pair (boxes minus folders); the third method is on the curve, not in it
    assert res["curve"]["stats"]["pair"] == ["cvat", "folder_sort"]
    assert "tagging" not in res["curve"]["stats"]["ranges"]["nominal"]
    assert (third_run / "plots" / "budget_curve.png").stat().st_size > 0
    report = (third_run / "report.md").read_text()
    assert "tagger" in report and "tag lists" in report


def test_the_apps_data_layer_finds_loads_and_scores_the_new_pipeline(third_run):
    results = core.load_run(third_run)
    assert run.candidates(results)["tagger"] == ["tagger"] and core.resolve_candidate(results, "tagger") == ["tagger"]
    pred = run.load_predictor(third_run, results, "tagger")
    ts = run.test_set(third_run, results)
    scores, boxes = scoring.score_paths(pred, ts.paths)
    assert scores.shape == (len(ts.paths), len(ts.classes)) and boxes is None
    one = scoring.predict_encoded(pred, "tagger", ts.paths[0], Path(ts.paths[0]).read_bytes())
    assert one.pipeline == "tagger" and one.scores == pytest.approx(scores[0])
