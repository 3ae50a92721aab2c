"""The Makefile and packaging: the CPU-only torch option (dry run: no network), `make perf` on a fresh clone (real,
tiny), and pyproject metadata that setuptools reads without a deprecation warning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def make(*args: str, env: dict | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def test_torch_cpu_installs_cpu_wheels_before_the_project(tmp_path):
    # a venv that does not exist yet: the dry run lists every install step, and nothing is created
    res = make("-n", "bench", "TORCH=cpu", f"VENV={tmp_path / 'v'}")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    torch_line = next(i for i, s in enumerate(lines) if "--index-url https://download.pytorch.org/whl/cpu" in s)
    assert lines[torch_line].split("--index-url https://download.pytorch.org/whl/cpu")[1].split() == [
        "torch==2.14.1",
        "torchvision==0.29.1",
    ]
    project_line = next(i for i, s in enumerate(lines) if '-e ".[dev]"' in s)
    bench_line = next(i for i, s in enumerate(lines) if "clsdet bench" in s)
    assert torch_line < project_line < bench_line
    assert not (tmp_path / "v").exists()


def test_default_install_is_unchanged(tmp_path):
    for target in ("bench", "test"):
        res = make("-n", target, f"VENV={tmp_path / 'v'}")
        assert res.returncode == 0, res.stderr
        assert "--index-url" not in res.stdout
        assert '-e ".[dev]"' in res.stdout


def test_unknown_torch_option_is_refused_with_the_choices():
    res = make("-n", "bench", "TORCH=cuda")
    assert res.returncode != 0
    assert "TORCH=cuda is not an option" in res.stderr and "TORCH=cpu" in res.stderr


@pytest.mark.e2e  # the second tier (make test-e2e): the real perf suite, a small demo run included
def test_make_perf_writes_its_json_into_a_folder_that_does_not_exist(tmp_path):
    """`make perf` on a fresh clone: results/perf/ is absent (git ignores it). Runs the real suite, one round each."""
    stamp = tmp_path / "stamp"
    stamp.touch()  # newer than pyproject.toml: make installs nothing, it uses this interpreter's environment
    out = tmp_path / "fresh" / "perf" / "perf.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    res = make(
        "perf", f"VENV={sys.prefix}", f"STAMP={stamp}", f"PERF_JSON={out}",
        "PERF_ARGS=-q -p no:cacheprovider --benchmark-min-rounds=1 --benchmark-max-time=0 --benchmark-warmup=off",
        env=env, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    doc = json.loads(out.read_text())
    forward = [b for b in doc["benchmarks"] if (b["group"] or "").startswith("forward")]
    timed = {(b["extra_info"]["model"], b["extra_info"]["device"]) for b in forward}
    assert {("classifier", "cpu"), ("detector", "cpu")} <= timed
    # the run plan's estimate against a real small run: each job's actual / estimate ratio is recorded
    (plan,) = [b for b in doc["benchmarks"] if b["group"] == "plan estimate"]
    assert set(plan["extra_info"]["ratios"]) == {"classifier/f1-s0", "detector/f1-s0"}
    assert all(0.1 < r < 10 for r in plan["extra_info"]["ratios"].values())


def test_pyproject_metadata_has_no_setuptools_deprecation():
    setuptools = pytest.importorskip("setuptools")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # `project.license` as a table warned on every install
        dist = apply_configuration(Distribution(), REPO / "pyproject.toml")
    assert dist.metadata.license_expression == "MIT", setuptools.__version__


def test_the_two_test_tiers_run_every_default_test_exactly_once():
    """`make test` and `make test-e2e` (what .ci/run runs) select complementary parts of pytest's default selection:
    every combination of markers lands in exactly one tier, or in neither when the default deselects it."""
    import itertools
    import re
    import tomllib

    from _pytest.mark.expression import Expression

    text = (REPO / "Makefile").read_text()
    fast = re.search(r"^FAST = (.+)$", text, re.M).group(1).strip()
    e2e = re.search(r'^test-e2e:.*\n\t.*-m "([^"]+)"', text, re.M).group(1).replace("$(FAST)", fast)
    test = re.search(r'^test:.*\n\t.*-m "([^"]+)"', text, re.M).group(1).replace("$(FAST)", fast)
    addopts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    default = re.search(r"-m '([^']+)'", addopts).group(1)
    markers = ("slow", "gpu", "scale", "e2e", "browser")
    for values in itertools.product((False, True), repeat=len(markers)):
        has = dict(zip(markers, values))

        def match(expr: str, has: dict = has) -> bool:
            return Expression.compile(expr).evaluate(lambda name, **kw: has.get(name, False))

        assert match(test) + match(e2e) == match(default), has
    assert "make test\nmake test-e2e" in (REPO / ".ci" / "run").read_text()
