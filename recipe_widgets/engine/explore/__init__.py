"""What ``rw.explore`` computes: per-item tables, column queries, the filter grammar, histograms."""

from recipe_widgets.engine.explore._filter_expr import FilterSyntaxError, filter_mask
from recipe_widgets.engine.explore._item_table import ItemTable, image_view, item_table, table_of
from recipe_widgets.engine.explore._join import (
    ExploreTable,
    explore_table,
    flag_column,
    group_column,
    thumbnails,
)
from recipe_widgets.engine.explore._queries import (
    ColumnCache,
    Histogram,
    HumanBaseline,
    histogram,
    sample_items,
)

__all__ = [
    "ColumnCache",
    "FilterSyntaxError",
    "Histogram",
    "HumanBaseline",
    "ExploreTable",
    "ItemTable",
    "explore_table",
    "filter_mask",
    "flag_column",
    "group_column",
    "histogram",
    "image_view",
    "item_table",
    "sample_items",
    "table_of",
    "thumbnails",
]
