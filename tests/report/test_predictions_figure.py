"""plots/predictions.png on the session's tiny trained run (tests/app/tiny_run.py), and the report's place in the
layering: it draws with benchmarks/predictions/, never through the app (the same layer)."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from tiny_run import tiny_run  # noqa: E402

from benchmarks.app import core  # noqa: E402
from benchmarks.predictions import run as run_parts  # noqa: E402 - a module: pytest would collect `test_set`
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
    no_det["models"] = {k: v for k, v in no_det["models"].items() if run_parts.pipeline_of(k, v) != "detector"}
    assert plot_predictions(run_dir, no_det, tmp_path / "x.png") == "no trained detector in this run"
    assert not (tmp_path / "x.png").exists()


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
