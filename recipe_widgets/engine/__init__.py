"""The engine: torch, numpy and pandas only. Checks, data audit, tensor decoding, the watch.

Everything here returns frozen dataclasses; nothing here imports IPython, ipywidgets, anywidget
or altair (a test imports this package in a fresh interpreter to prove it), nor any layer above
it (``tests/test_layers.py``). Importing this package is cheap: ``seed_everything`` (torch)
loads on first use.
"""

from __future__ import annotations

from typing import Any

from recipe_widgets.engine.results import STATUSES, CheckFailed, Finding, Report

__all__ = ["STATUSES", "CheckFailed", "Finding", "Report", "seed_everything"]


def __getattr__(name: str) -> Any:
    if name == "seed_everything":
        from recipe_widgets.engine.seed import seed_everything

        return seed_everything
    raise AttributeError(f"module 'recipe_widgets.engine' has no attribute {name!r}")
