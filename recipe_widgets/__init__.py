"""recipe_widgets: "A Recipe for Training Neural Networks" as checks, widgets and live plots.

``import recipe_widgets as rw`` is cheap and has no side effects: each public name is imported
on first use (torch and the widget stack load only when needed). ``%load_ext recipe_widgets``
registers the notebook integration; ``%unload_ext recipe_widgets`` removes all of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from recipe_widgets._public import PUBLIC_NAMES
from recipe_widgets._version import __version__
from recipe_widgets.engine import rendering as _rendering

# Engine results print and show through engine.rendering; the display layer registers the
# renderers, imported on the first render (see docs/architecture.md, "The rendering seam").
_rendering.add_provider("recipe_widgets.display")

if TYPE_CHECKING:
    from recipe_widgets.engine.audit import audit
    from recipe_widgets.engine.check import (
        Evaluation,
        UnusableInput,
        assert_same,
        check,
        evaluate,
        init_final_bias,
    )
    from recipe_widgets.engine.decode import DecodedBatch, before_the_net, decode
    from recipe_widgets.engine.lr_find import lr_find
    from recipe_widgets.engine.results import CheckFailed, Finding, Report
    from recipe_widgets.engine.seed import seed_everything
    from recipe_widgets.engine.watch import Watch, compare, load_run
    from recipe_widgets.widgets._explore import explore
    from recipe_widgets.widgets._watch import watch
    from recipe_widgets.widgets._watch_view import view

# public name -> module that defines it (imported lazily by __getattr__)
_EXPORTS: dict[str, str] = {
    "CheckFailed": "recipe_widgets.engine.results",
    "Finding": "recipe_widgets.engine.results",
    "Report": "recipe_widgets.engine.results",
    "seed_everything": "recipe_widgets.engine.seed",
    "check": "recipe_widgets.engine.check",
    "init_final_bias": "recipe_widgets.engine.check",
    "evaluate": "recipe_widgets.engine.check",
    "assert_same": "recipe_widgets.engine.check",
    "Evaluation": "recipe_widgets.engine.check",
    "UnusableInput": "recipe_widgets.engine.check",
    "audit": "recipe_widgets.engine.audit",
    "decode": "recipe_widgets.engine.decode",
    "DecodedBatch": "recipe_widgets.engine.decode",
    "before_the_net": "recipe_widgets.engine.decode",
    "Watch": "recipe_widgets.engine.watch",
    "compare": "recipe_widgets.engine.watch",
    "load_run": "recipe_widgets.engine.watch",
    "lr_find": "recipe_widgets.engine.lr_find",
    "explore": "recipe_widgets.widgets._explore",
    "watch": "recipe_widgets.widgets._watch",
    "view": "recipe_widgets.widgets._watch_view",
}

# public submodules, also imported on first use: ``rw.charts.training(w)``
_SUBMODULES = ("charts",)

__all__ = list(PUBLIC_NAMES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f"recipe_widgets.{name}")
        globals()[name] = value
        return value
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
