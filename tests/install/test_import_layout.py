"""The import layout of benchmarks/, read from the source with `ast` (nothing is imported): the module-level imports
between benchmarks modules form no circle and point down the layers (commands -> harness -> curve/report/app ->
data/labeling/measure/tracking -> config/registry/record -> classifier/, detector/), and every import left inside a
function says why it is deferred (`# deferred: <reason>` on its line or the line above), so none is deferred silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP = ("benchmarks/perf",)  # pytest benchmarks of the code, not part of the package's import graph
OURS = ("benchmarks", "classifier", "detector", "labeling_logs")
MARK = "deferred:"

# Layers, top first. A module may import its own layer or any lower one at module level, never a higher one. The
# first matching prefix wins, so a longer prefix placed earlier overrides its package's layer.
LAYERS: list[tuple[str, ...]] = [
    ("benchmarks.cli", "benchmarks.commands"),
    ("benchmarks.harness",),
    ("benchmarks.curve", "benchmarks.report", "benchmarks.app", "benchmarks.predictions", "benchmarks.demo"),
    ("benchmarks.data", "benchmarks.labeling", "benchmarks.measure", "benchmarks.tracking", "benchmarks.cvat"),
    (
        "benchmarks.config",
        "benchmarks.registry",
        "benchmarks.record",
        "benchmarks.paths",
        "benchmarks.runtime",
        "benchmarks.lock",
        "benchmarks.significance",
        "benchmarks.evaluate",
        "benchmarks",  # the package's own __init__
    ),
    ("classifier", "detector", "labeling_logs"),
]


def _files() -> list[Path]:
    return [f for f in sorted((REPO / "benchmarks").rglob("*.py")) if not str(f.relative_to(REPO)).startswith(SKIP)]


def _module(f: Path) -> str:
    parts = list(f.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(f: Path) -> bool:
    return f.name == "__init__.py"


def _exists(module: str) -> bool:
    p = REPO.joinpath(*module.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _targets(node: ast.Import | ast.ImportFrom, f: Path) -> list[str]:
    """The modules an import statement loads: for `from pkg import name`, pkg.name where that is a module, else pkg."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = _module(f).split(".")
        base = base[: len(base) - node.level + (1 if _is_package(f) else 0)]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    if mod.split(".")[0] not in OURS:
        return [mod]
    subs = [f"{mod}.{a.name}" for a in node.names if _exists(f"{mod}.{a.name}")]
    return subs if len(subs) == len(node.names) else [mod, *subs]


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.Module) -> tuple[list[ast.Import | ast.ImportFrom], list[ast.Import | ast.ImportFrom]]:
    """(module-level imports, imports inside a function); those under `if TYPE_CHECKING:` never run and count as
    neither."""
    top: list = []
    inner: list = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                (inner if in_function else top).append(child)
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return top, inner


def _parsed() -> dict[str, tuple[Path, ast.Module]]:
    return {_module(f): (f, ast.parse(f.read_text(encoding="utf-8"))) for f in _files()}


def module_graph() -> dict[str, dict[str, int]]:
    """benchmarks module -> {benchmarks module it imports at module level: line}."""
    graph: dict[str, dict[str, int]] = {}
    for mod, (f, tree) in _parsed().items():
        edges = graph.setdefault(mod, {})
        for node in _imports(tree)[0]:
            for t in _targets(node, f):
                if t.startswith("benchmarks") and t != mod:
                    edges.setdefault(t, node.lineno)
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str]:
    """One circle of the graph as [a, b, ..., a], or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def dfs(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, {})):
            if state.get(t) == 1:
                return [*path[path.index(t) :], t]
            if t not in state and (found := dfs(t)):
                return found
        path.pop()
        state[m] = 2
        return []

    for m in sorted(graph):
        if m not in state and (found := dfs(m)):
            return found
    return []


def layer(module: str) -> int | None:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    return None


def test_module_level_imports_form_no_circle():
    graph = module_graph()
    cycle = find_cycle(graph)
    steps = [f"{a} (line {graph[a][b]}) imports {b}" for a, b in zip(cycle, cycle[1:], strict=False)]
    assert not cycle, "import circle at module level:\n  " + "\n  ".join(steps)


def test_module_level_imports_point_down_the_layers():
    problems = []
    for mod, edges in sorted(module_graph().items()):
        for target, line in sorted(edges.items()):
            if layer(target) is not None and layer(mod) is not None and layer(target) < layer(mod):
                problems.append(f"{mod} (line {line}) imports {target}, a higher layer")
    assert not problems, "\n".join(problems)


def test_every_module_has_a_layer():
    assert all(layer(m) is not None for m in module_graph()), [m for m in module_graph() if layer(m) is None]


def _reason(lines: list[str], node: ast.Import | ast.ImportFrom, import_lines: set[int]) -> bool:
    """`# deferred: <reason>` on one of the statement's lines, or on the comment line above it; above a run of
    imports (blank lines between them allowed) the comment covers the whole run."""
    if any(MARK in lines[i - 1] for i in range(node.lineno, (node.end_lineno or node.lineno) + 1)):
        return True
    i = node.lineno - 1  # 1-based number of the line above
    while i >= 1 and (i in import_lines or not lines[i - 1].strip()):
        i -= 1
    return i >= 1 and lines[i - 1].strip().startswith("#") and MARK in lines[i - 1]


def _import_lines(tree: ast.Module) -> set[int]:
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    return {i for n in nodes for i in range(n.lineno, (n.end_lineno or n.lineno) + 1)}


def silent_deferrals() -> list[str]:
    found = []
    for _, (f, tree) in sorted(_parsed().items()):
        lines = f.read_text(encoding="utf-8").splitlines()
        covered = _import_lines(tree)
        for node in _imports(tree)[1]:
            if not _reason(lines, node, covered):
                found.append(f"{f.relative_to(REPO)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def test_every_import_inside_a_function_says_why_it_is_deferred():
    found = silent_deferrals()
    assert not found, (
        f"{len(found)} imports inside functions without a '# {MARK} <reason>' comment (hoist them to the top of the "
        "file, or say why they must wait: a heavy library, or a module that imports this one):\n" + "\n".join(found)
    )


# the checks above must be able to fail: they are run on small made-up sources here
@pytest.mark.parametrize(
    ("source", "silent"),
    [
        ("def f():\n    import json\n", 1),
        ("def f():\n    import torch  # deferred: torch is heavy\n", 0),
        ("def f():\n    # deferred: torch is heavy\n    import torch\n    import lightning\n", 0),
        ("def f():\n    # torch is heavy\n    import torch\n", 1),
        ("def f():\n    # deferred: numpy is heavy\n    import numpy\n\n    from x import (\n        a,\n    )\n", 0),
        ("def f():\n    # deferred: numpy is heavy\n    import numpy\n    x = 1\n    import json\n", 1),
        ("import json\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n", 0),
    ],
)
def test_a_silent_deferral_is_found(source, silent):
    tree = ast.parse(source)
    lines = source.splitlines()
    assert sum(not _reason(lines, n, _import_lines(tree)) for n in _imports(tree)[1]) == silent


def test_a_circle_is_found():
    assert find_cycle({"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {"c": 2}, "c": {}}) == []
