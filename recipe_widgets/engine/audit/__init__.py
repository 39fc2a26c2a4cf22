"""The data audit (``rw.audit``): duplicates, leaks, corrupted items, imbalance, outliers, label noise."""

from recipe_widgets.engine.audit._api import CHECKS, audit, audit_table
from recipe_widgets.engine.audit._imbalance import class_weights, weighted_sampler
from recipe_widgets.engine.audit._planted import planted_digits

__all__ = ["CHECKS", "audit", "audit_table", "class_weights", "planted_digits", "weighted_sampler"]
