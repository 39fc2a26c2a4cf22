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
    from recipe_widgets.engine._before_the_net import before_the_net
    from recipe_widgets.engine._decode import DecodedBatch, decode
    from recipe_widgets.engine._results import CheckFailed, Finding, Report
    from recipe_widgets.engine._seed import seed_everything
    from recipe_widgets.engine.audit import audit
    from recipe_widgets.engine.check import (
        Evaluation,
        UnusableInput,
        assert_same,
        check,
        evaluate,
        init_final_bias,
    )
    from recipe_widgets.engine.watch import Watch, compare, load_run
    from recipe_widgets.widgets._explorer import explore
    from recipe_widgets.widgets._run_view import view
    from recipe_widgets.widgets._watch_panel import watch

# public name -> module that defines it (imported lazily by __getattr__)
_EXPORTS: dict[str, str] = {
    "CheckFailed": "recipe_widgets.engine._results",
    "Finding": "recipe_widgets.engine._results",
    "Report": "recipe_widgets.engine._results",
    "seed_everything": "recipe_widgets.engine._seed",
    "check": "recipe_widgets.engine.check",
    "init_final_bias": "recipe_widgets.engine.check",
    "evaluate": "recipe_widgets.engine.check",
    "assert_same": "recipe_widgets.engine.check",
    "Evaluation": "recipe_widgets.engine.check",
    "UnusableInput": "recipe_widgets.engine.check",
    "audit": "recipe_widgets.engine.audit",
    "decode": "recipe_widgets.engine._decode",
    "DecodedBatch": "recipe_widgets.engine._decode",
    "before_the_net": "recipe_widgets.engine._before_the_net",
    "Watch": "recipe_widgets.engine.watch",
    "compare": "recipe_widgets.engine.watch",
    "load_run": "recipe_widgets.engine.watch",
    "explore": "recipe_widgets.widgets._explorer",
    "watch": "recipe_widgets.widgets._watch_panel",
    "view": "recipe_widgets.widgets._run_view",
}

# public submodules, also imported on first use: ``rw.charts.training(w)``
_SUBMODULES = ("charts",)

__all__ = [
    "charts",
    "CheckFailed",
    "DecodedBatch",
    "Evaluation",
    "Finding",
    "Report",
    "UnusableInput",
    "Watch",
    "__version__",
    "assert_same",
    "audit",
    "before_the_net",
    "check",
    "compare",
    "decode",
    "evaluate",
    "explore",
    "init_final_bias",
    "load_ipython_extension",
    "load_run",
    "seed_everything",
    "unload_ipython_extension",
    "view",
    "watch",
]


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
