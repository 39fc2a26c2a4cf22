"""recipe_widgets: "A Recipe for Training Neural Networks" as checks, widgets and live plots.

``import recipe_widgets as rw`` is cheap and has no side effects: each public name is imported
on first use (torch and the widget stack load only when needed). ``%load_ext recipe_widgets``
registers the notebook integration; ``%unload_ext recipe_widgets`` removes all of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from recipe_widgets._version import __version__

if TYPE_CHECKING:
    from recipe_widgets.engine._results import CheckFailed, Finding, Report
    from recipe_widgets.engine._seed import seed_everything
    from recipe_widgets.widgets._explorer import explore

# public name -> module that defines it (imported lazily by __getattr__)
_EXPORTS: dict[str, str] = {
    "CheckFailed": "recipe_widgets.engine._results",
    "Finding": "recipe_widgets.engine._results",
    "Report": "recipe_widgets.engine._results",
    "seed_everything": "recipe_widgets.engine._seed",
    "explore": "recipe_widgets.widgets._explorer",
}

__all__ = [
    "CheckFailed",
    "Finding",
    "Report",
    "__version__",
    "explore",
    "load_ipython_extension",
    "seed_everything",
    "unload_ipython_extension",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'recipe_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext recipe_widgets``: registers the magics and display formatters."""
    from recipe_widgets._ipython import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Called by ``%unload_ext recipe_widgets``: removes everything ``load`` added."""
    from recipe_widgets._ipython import unload

    unload(ipython)
