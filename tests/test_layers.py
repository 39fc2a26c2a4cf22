"""Imports go one way: engine -> display -> (charts, widgets) -> the top-level modules.

Every ``.py`` under ``recipe_widgets`` is read with ``ast``: every import statement counts,
including those inside functions and under ``if TYPE_CHECKING``, relative ones resolved. A module
may import its own layer or a lower one, never a higher one, and no chain of imports between
modules may come back to where it started. The checker is tested on synthetic packages first,
so a checker that sees nothing cannot pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "recipe_widgets"

#: (module-name prefix, layer); the first matching prefix wins, anything else is the top level.
LAYERS = (
    ("recipe_widgets.engine", 0),
    ("recipe_widgets.display", 1),
    ("recipe_widgets.charts", 2),
    ("recipe_widgets.widgets", 2),
)
TOP = 3
LAYER_NAMES = {0: "engine", 1: "display", 2: "charts/widgets", 3: "top level"}

Sources = dict[str, tuple[str, bool]]  # module name -> (source text, is a package)


def layer(module: str) -> int:
    for prefix, level in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return level
    return TOP


def read_package(root: Path = PACKAGE) -> Sources:
    sources: Sources = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        sources[".".join(parts)] = (path.read_text(encoding="utf-8"), is_package)
    return sources


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str, modules: set[str]) -> str | None:
    """The module ``name`` names (or the closest known parent), if it is one of ours."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports(sources: Sources) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (anywhere in its body)."""
    modules = set(sources)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, (text, is_package) in sources.items():
        for node in ast.walk(ast.parse(text)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, module, is_package)
                names = [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                target = _known(name, modules)
                if target is not None and target != module:
                    graph[module].add(target)
    return graph


def upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{m} ({LAYER_NAMES[layer(m)]}) imports {t} ({LAYER_NAMES[layer(t)]})"
        for m, targets in graph.items()
        for t in targets
        if layer(t) > layer(m)
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected groups of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# -- the checker, on synthetic packages --------------------------------------------------------
def test_checker_sees_an_upward_import_inside_a_function_and_a_relative_one() -> None:
    sources: Sources = {
        "recipe_widgets.engine.results": (
            "def show(self):\n    from recipe_widgets.display import report_text\n",
            False,
        ),
        "recipe_widgets.engine.decode": ("from ...display import _decode\n", True),
        "recipe_widgets.display": ("", True),
        "recipe_widgets.display._decode": ("", False),
    }
    assert upward(imports(sources)) == [
        "recipe_widgets.engine.decode (engine) imports recipe_widgets.display._decode (display)",
        "recipe_widgets.engine.results (engine) imports recipe_widgets.display (display)",
    ]


def test_checker_sees_a_cycle_and_lets_downward_imports_pass() -> None:
    sources: Sources = {
        "recipe_widgets.widgets._panel": ("import recipe_widgets.charts\n", False),
        "recipe_widgets.charts": ("from recipe_widgets.widgets import _chart\n", False),
        "recipe_widgets.widgets": ("", True),
        "recipe_widgets.widgets._chart": (
            "if TYPE_CHECKING:\n    from ._panel import Panel\n",
            False,
        ),
        "recipe_widgets.display._x": ("from recipe_widgets.engine.results import Report\n", False),
        "recipe_widgets.engine.results": ("", False),
    }
    graph = imports(sources)
    assert upward(graph) == []
    assert cycles(graph) == [
        ["recipe_widgets.charts", "recipe_widgets.widgets._chart", "recipe_widgets.widgets._panel"]
    ]


# -- the package -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    sources = read_package()
    assert len(sources) > 50 and "recipe_widgets.engine.results" in sources
    return imports(sources)


def test_no_module_imports_a_layer_above_its_own(graph: dict[str, set[str]]) -> None:
    assert upward(graph) == []


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []
