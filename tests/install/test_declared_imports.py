"""Every third-party module the packages import is declared in pyproject.toml (dependencies or an extra), and the CLI
starts without the [app] extra's modules (streamlit, captum) or Ray, and imports nothing heavy (not even pandas)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("classifier", "detector", "benchmarks", "labeling_logs")
# modules of optional dependencies that may not be installed here, so packages_distributions() cannot map them
NOT_INSTALLED = {"ray": ["ray"]}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0])


def imported_modules() -> dict[str, set[str]]:
    """top-level module -> files importing it (absolute imports only; relative ones are the package's own)."""
    found: dict[str, set[str]] = {}
    for pkg in PACKAGES:
        for f in (REPO / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for n in names:
                    found.setdefault(n.split(".")[0], set()).add(str(f.relative_to(REPO)))
    return {m: fs for m, fs in found.items() if m not in sys.stdlib_module_names and m not in PACKAGES}


def test_every_import_is_declared():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    for reqs in project.get("optional-dependencies", {}).values():
        declared |= {_requirement_name(r) for r in reqs}
    dists = packages_distributions()
    problems = []
    for module, files in sorted(imported_modules().items()):
        names = [_norm(d) for d in dists.get(module, NOT_INSTALLED.get(module, []))]
        if not names:
            problems.append(f"{module} (imported by {sorted(files)[0]}): no installed distribution provides it")
        elif not set(names) & declared:
            problems.append(f"{module} (imported by {sorted(files)[0]}): declare {names[0]} in pyproject.toml")
    assert not problems, "\n".join(problems)


BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("streamlit", "captum", "ray"):
            raise ImportError(f"{name} is not installed (blocked by the test)")
sys.meta_path.insert(0, Block())
from benchmarks.cli import main
try:
    main(["bench", "--help"])
except SystemExit as e:
    assert e.code == 0, e.code
heavy = ("streamlit", "captum", "ray", "torch", "lightning", "ultralytics", "mlflow", "pandas", "numpy")
heavy = sorted(m for m in heavy if m in sys.modules)
print("heavy:", heavy)
"""


def test_cli_starts_without_the_app_extra_or_ray():
    res = subprocess.run([sys.executable, "-c", BLOCK], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "--strict" in res.stdout and "heavy: []" in res.stdout  # the help printed; nothing heavy imported


# what only the full `mlflow` package (the [server] extra) brings: its Flask server, gunicorn, GraphQL, job queue
SERVER_ONLY = ("flask", "flask_cors", "gunicorn", "graphene", "huey", "docker")
TRACKING_WITHOUT_SERVER = """
import importlib.abc, json, shutil, sys, tempfile
from dataclasses import replace
from pathlib import Path
SERVER_ONLY = "SERVER_ONLY_HERE"
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in SERVER_ONLY:
            raise ImportError(f"{name} is not installed (blocked by the test)")
sys.meta_path.insert(0, Block())
sys.path.insert(0, "tests")
import fake_pipeline as FP
import mlflow.pyfunc
from mlflow.tracking._tracking_service.utils import _use_tracking_uri
from benchmarks import tracking
from benchmarks.registry import pipelines
from benchmarks.tracking.system import training_metrics
for n, p in list(pipelines.PIPELINES.items()):
    pipelines.PIPELINES[n] = replace(p, module="fake_pipeline")
tmp = Path(tempfile.mkdtemp())
shutil.copy("tests/fixtures/results_example.json", tmp / "results.json")
classes = json.loads((tmp / "results.json").read_text())["data"]["classes"]
for m in ("classifier", "detector"):
    FP.fit([], [], classes, FP.FakeConfig(), tmp / m)
store = f"sqlite:///{tmp / 'mlflow.db'}"  # a new store: the SQL store's migrations run here
ids = tracking.log_results(tmp, tracking_uri=store, log_models=True)
uri = tracking.client_for(store).get_run(ids["classifier"]).data.tags["clsdet.model_uri"]
with _use_tracking_uri(store):
    mlflow.pyfunc.load_model(uri)
with training_metrics(ids["classifier"], store) as monitor:
    assert monitor is not None
shutil.rmtree(tmp)
print("ok")
""".replace('"SERVER_ONLY_HERE"', repr(SERVER_ONLY))


def test_mlflow_client_core_works_without_the_server_extra():
    """Core = mlflow-skinny (+ alembic for the sqlite store): a benchmark's tracking, tables, dataset, pyfunc models
    and system metrics with the server-only modules blocked; the full mlflow package is the [server] extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    assert {"mlflow-skinny", "alembic"} <= core and "mlflow" not in core
    assert {_requirement_name(r) for r in project["optional-dependencies"]["server"]} == {"mlflow"}
    res = subprocess.run(
        [sys.executable, "-c", TRACKING_WITHOUT_SERVER], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().endswith("ok")
