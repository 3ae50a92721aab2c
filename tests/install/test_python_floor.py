"""The Python floor is declared once and honestly: pyproject's requires-python, ruff's target and the interpreter
the suite runs on agree (the code uses 3.11 features such as datetime.UTC and tomllib)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_declared_floor_matches_ruff_target_and_this_interpreter():
    meta = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    spec = meta["project"]["requires-python"]
    assert spec.startswith(">="), spec
    floor = tuple(int(x) for x in spec[2:].split("."))
    assert floor >= (3, 11), f"requires-python {spec}: the code imports datetime.UTC and tomllib (3.11+)"
    assert meta["tool"]["ruff"]["target-version"] == "py{}{}".format(*floor)
    assert sys.version_info[:2] >= floor, f"running on {sys.version_info[:2]}, below the declared floor {spec}"
