"""The IPython extension: what ``%load_ext`` adds and ``%unload_ext`` takes away again.

It adds the ``%recipe`` magic and the rich tensor repr (``_formatters``). IPython has no API to
unregister magics (``MagicsManager`` has ``register`` but no ``unregister``, up to IPython 9), so
``unload`` pops our names from the magics manager itself. Everything added is recorded on the
shell so unload removes exactly that.
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

_STATE_ATTR = "_recipe_widgets_loaded"
_MAGIC_NAMES = ("recipe",)


@magics_class
class RecipeMagics(Magics):
    @line_magic
    def recipe(self, line: str) -> Any:
        """Show the recipe as a checklist: ``%recipe`` for all stages, ``%recipe skeleton`` for one.

        Stages: data, skeleton, overfit, regularize, tune, squeeze.
        """
        from recipe_widgets._recipe import checklist

        key = line.strip() or None
        try:
            return checklist(key)
        except ValueError as err:
            # A usage error, not a crash: print it like IPython's own magics do.
            print(f"UsageError: {err}")
            return None


def load(ip: Any) -> None:
    if getattr(ip, _STATE_ATTR, False):
        return  # a second %load_ext (or a direct call) is harmless
    from recipe_widgets import _formatters

    ip.register_magics(RecipeMagics)
    _formatters.register(ip)
    setattr(ip, _STATE_ATTR, True)


def unload(ip: Any) -> None:
    if not getattr(ip, _STATE_ATTR, False):
        return
    manager = ip.magics_manager
    for kind in ("line", "cell"):
        table = manager.magics[kind]
        for name in _MAGIC_NAMES:
            owner = getattr(table.get(name), "__self__", None)
            if isinstance(owner, RecipeMagics):  # never remove a magic someone else owns
                del table[name]
    manager.registry.pop(RecipeMagics.__name__, None)
    from recipe_widgets import _formatters

    _formatters.unregister(ip)
    setattr(ip, _STATE_ATTR, False)
