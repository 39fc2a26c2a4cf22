"""``rw.lr_find``: the LR range test of the recipe's "tune" stage (see ``_api``)."""

from recipe_widgets.engine.lr_find._api import LRFind, lr_find, valley

__all__ = ["LRFind", "lr_find", "valley"]
