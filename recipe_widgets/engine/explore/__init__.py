"""What ``rw.explore`` computes: per-item tables, column queries, the filter grammar, histograms."""

from recipe_widgets.engine.explore._filter_expr import FilterSyntaxError, filter_mask
from recipe_widgets.engine.explore._item_table import MAX_ITEMS, ItemTable, item_table
from recipe_widgets.engine.explore._queries import (
    ColumnCache,
    Histogram,
    HumanBaseline,
    histogram,
    sample_items,
)

__all__ = [
    "MAX_ITEMS",
    "ColumnCache",
    "FilterSyntaxError",
    "Histogram",
    "HumanBaseline",
    "ItemTable",
    "filter_mask",
    "histogram",
    "item_table",
    "sample_items",
]
