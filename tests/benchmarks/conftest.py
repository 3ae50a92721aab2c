"""Fixtures shared by the harness tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fake(monkeypatch):
    """Both pipelines replaced by fake_pipeline.py (trains instantly); the module, reset after the test."""
    import fake_pipeline as FP  # noqa: N812 - tests/benchmarks is on sys.path (pytest's rootdir-relative import)

    FP.use_fake(monkeypatch)
    yield FP
    FP.reset()
