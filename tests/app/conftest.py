from __future__ import annotations

from pathlib import Path

import pytest
from tiny_run import tiny_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory)
