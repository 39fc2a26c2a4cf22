"""Write the tutorial notebooks from the cell lists in ``notebooks/_sources/*.py`` and execute them.

Notebooks are committed *with* outputs: nbval compares a fresh run against them, so a change in a
verdict fails CI. Run ``python scripts/build_notebooks.py [name ...]`` after editing a source.

A source file is Python with cell markers: ``# %% [markdown]`` starts a markdown cell (its
lines are ``# ``-prefixed text), ``# %%`` a code cell.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebooks" / "_sources"


def parse(source: str) -> list[nbformat.NotebookNode]:
    cells: list[nbformat.NotebookNode] = []
    kind, lines = None, []

    def flush() -> None:
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(
                ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in text.splitlines()
            )
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cells.append(nbformat.v4.new_code_cell(text))

    for line in source.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    return cells


def build(name: str) -> Path:
    src = SOURCES / f"{name}.py"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = parse(src.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name[:2]}-{i:02d}"  # stable ids: clean diffs
    os.environ.setdefault("RW_PROGRESS", "0")  # no progress bars in saved outputs
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    ).execute()
    for cell in nb.cells:  # run timestamps would make every rebuild a diff
        cell.metadata.pop("execution", None)
    out = ROOT / "notebooks" / f"{name}.ipynb"
    nbformat.write(nb, out)
    return out


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.stem for p in SOURCES.glob("*.py"))
    for n in names:
        print("built", build(n).relative_to(ROOT))
