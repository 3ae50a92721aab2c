"""plots/predictions.png on the session's tiny trained run (tests/app/tiny_run.py), and the report's place in the
layering: it draws with benchmarks/predictions/, never through the app (the same layer)."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from tiny_run import tiny_run, with_third_pipeline  # noqa: E402

from benchmarks.app import core  # noqa: E402
from benchmarks.predictions import run as run_parts  # noqa: E402 - a module: pytest would collect `test_set`
from benchmarks.predictions.scoring import choose_examples, disagreement, score_paths  # noqa: E402
from benchmarks.record import model_pipeline  # noqa: E402
from benchmarks.report import predictions as figure  # noqa: E402
from benchmarks.report.predictions import plot_predictions  # noqa: E402

ROOT = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory)


def test_plot_predictions_draws_the_chosen_test_images(run_dir, tmp_path):
    import matplotlib.image as mpimg

    results = core.load_run(run_dir)
    out = plot_predictions(run_dir, results, tmp_path / "plots" / "predictions.png")
    assert out == tmp_path / "plots" / "predictions.png"
    h, w = mpimg.imread(out).shape[:2]
    n = min(12, len(run_parts.test_set(run_dir, results).ids))
    rows = (n + 3) // 4
    dpi = 72  # the figure is saved at 72 dpi: 4 columns of 3.4 in, 4.6 in per row
    assert w == pytest.approx(4 * 3.4 * dpi, abs=2) and h == pytest.approx(rows * 4.6 * dpi, abs=2)
    no_det = json.loads(json.dumps(results))
    no_det["models"] = {k: v for k, v in no_det["models"].items() if model_pipeline(k, v) != "detector"}
    assert plot_predictions(run_dir, no_det, tmp_path / "x.png") == "no trained detector in this run"
    assert not (tmp_path / "x.png").exists()


def test_a_third_pipeline_is_drawn_beside_the_two(run_dir, monkeypatch, tmp_path):
    """The fake pipeline registered as `tagger`: a caption line per model in registry order, the images chosen by
    the three models' largest disagreement, boxes from the one box model, a taller caption strip per row."""
    import matplotlib.image as mpimg

    third = with_third_pipeline(run_dir, monkeypatch, tmp_path)
    results = core.load_run(third)
    calls = []
    real = figure.draw_prediction

    def spy(ax, image, classes, truth, predictions, **kw):
        calls.append(predictions)
        real(ax, image, classes, truth, predictions, **kw)

    monkeypatch.setattr(figure, "draw_prediction", spy)
    out = plot_predictions(third, results, tmp_path / "predictions.png")
    assert out == tmp_path / "predictions.png"
    ts = run_parts.test_set(third, results)
    groups = run_parts.candidates(results)
    names = [groups["classifier"][0], groups["detector"][0], "tag1"]
    assert [[(p.pipeline, p.name) for p in preds] for preds in calls] == [
        list(zip(["classifier", "detector", "tagger"], names))
    ] * len(calls)
    assert [p.boxes is not None for p in calls[0]] == [False, True, False]
    scores = [score_paths(run_parts.load_predictor(third, results, n), ts.paths)[0] for n in names]
    chosen = choose_examples(disagreement(*scores), n=12)
    assert chosen != choose_examples(disagreement(*scores[:2]), n=12)  # the third model changes the pick
    for pred, s in zip(calls[0], scores):
        np.testing.assert_allclose(pred.scores, s[chosen[0]], atol=1e-6)
    assert len(calls) == len(chosen)
    rows = (len(chosen) + 3) // 4
    assert mpimg.imread(out).shape[0] == pytest.approx(rows * (4.6 + 0.45) * 72, abs=2)
    only_tagger = json.loads(json.dumps(results))
    only_tagger["models"] = {"tag1": results["models"]["tag1"]}
    assert plot_predictions(third, only_tagger, tmp_path / "x.png") == "no trained classifier or detector in this run"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (at the top or inside a function), as absolute dotted names."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize(
    ("package", "above"),
    [
        ("report", ("benchmarks.app",)),
        ("predictions", ("benchmarks.app", "benchmarks.report", "benchmarks.commands", "benchmarks.harness")),
    ],
)
def test_no_import_points_sideways_or_up(package, above):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    bad = [
        f"{f.relative_to(ROOT.parent)} imports {m}"
        for f in files
        for m in sorted(imported_modules(f))
        if any(m == a or m.startswith(a + ".") for a in above)
    ]
    assert bad == []


def test_the_import_scan_sees_an_import_inside_a_function(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("def draw():\n    from benchmarks.app import core\n    import benchmarks.app.state\n")
    assert {"benchmarks.app", "benchmarks.app.core", "benchmarks.app.state"} <= imported_modules(f)
