"""No function in recipe_widgets is longer than 80 lines, except the few named here with a reason.

A long function is usually several steps that want names; a dispatcher becomes a table of
runners (as ``rw.check`` and ``rw.decode`` do). Lines are counted from ``def`` to the last line
of the body, decorators and docstrings included.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "recipe_widgets"
LIMIT = 80

#: "path relative to recipe_widgets::qualified name" -> why it may be longer, for now.
ALLOWED: dict[str, str] = {}


def function_lengths(root: Path = PACKAGE) -> dict[str, int]:
    lengths: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        _visit(tree, f"{path.relative_to(root).as_posix()}::", lengths)
    return lengths


def _visit(node: ast.AST, prefix: str, lengths: dict[str, int]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{child.name}"
            if not isinstance(child, ast.ClassDef):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                lengths[name] = child.end_lineno - first + 1  # type: ignore[operator]
            _visit(child, f"{name}.", lengths)
        else:
            _visit(child, prefix, lengths)


def test_the_counter_counts_nested_functions_and_methods(tmp_path: Path) -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "m.py").write_text(
        f"class A:\n    def f(self):\n{body}\n\n    def g(self):\n        pass\n"
    )
    lengths = function_lengths(tmp_path)
    assert lengths == {"m.py::A.f": LIMIT + 1, "m.py::A.g": 2}


def test_no_function_is_longer_than_the_limit() -> None:
    lengths = function_lengths()
    assert len(lengths) > 300  # the walk really read the package
    too_long = {k: n for k, n in lengths.items() if n > LIMIT and k not in ALLOWED}
    assert too_long == {}


def test_the_allow_list_has_no_stale_entries() -> None:
    lengths = function_lengths()
    stale = [k for k in ALLOWED if lengths.get(k, 0) <= LIMIT]
    assert stale == [], "these are short now (or gone): take them off ALLOWED"
