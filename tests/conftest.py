"""Test-wide setup: the offline runtime first (before torch/ultralytics/mlflow are imported), small threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import runtime

# two threads: CI has 2 cores; explicit so timing-free tests behave the same everywhere
runtime.setup(threads=int(os.environ.get("CLSDET_TEST_THREADS", "2")))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository (real datasets and CVAT exports); tests using it skip without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (real-data fixtures live there)")
    return SHARED


@pytest.fixture(scope="session")
def coco128(shared_dir: Path) -> Path:
    path = shared_dir / "datasets" / "coco128"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def cvat_fixtures(shared_dir: Path) -> Path:
    path = shared_dir / "fixtures" / "cvat"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture
def fake(monkeypatch, request):
    """Both pipelines replaced by fake_pipeline.py (trains instantly); the module, reset after the test.

    The report's plots and predictions figure are not drawn in these runs: 2-3 s of matplotlib a run, in tests of
    the harness around the pipelines. tests/report draws every plot from real records and the figure from the tiny
    run, the end-to-end bench draws them from a real run, and a test marked `plots`
    (tests/harness/test_third_pipeline.py) draws them here too."""
    import fake_pipeline as FP  # noqa: N812 - tests/ is on sys.path (pytest's rootdir-relative import)

    from benchmarks.report import plots, predictions

    FP.use_fake(monkeypatch)
    if request.node.get_closest_marker("plots") is None:
        monkeypatch.setattr(plots, "render_plots", FP.no_plots)
        monkeypatch.setattr(predictions, "render", lambda *a, **k: "not drawn in the fake-pipeline tests")
    yield FP
    FP.reset()
