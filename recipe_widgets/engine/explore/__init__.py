"""What ``rw.explore`` computes: per-item tables, column queries, the filter grammar, histograms,
and the same questions asked of a table read in place (``TableSource``: a pandas frame, or DuckDB
on Parquet, CSV, Arrow, Polars or a relation; DuckDB itself is imported only when one is opened)."""

from recipe_widgets.engine.explore._duckdb_filter import compile_filter
from recipe_widgets.engine.explore._duckdb_open import ROW, fresh_name
from recipe_widgets.engine.explore._duckdb_source import DuckSource, connect, table_source
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
from recipe_widgets.engine.explore._regex import search_each
from recipe_widgets.engine.explore._table_source import FrameSource, Query, TableSource, is_table

__all__ = [
    "ROW",
    "ColumnCache",
    "DuckSource",
    "FrameSource",
    "Query",
    "TableSource",
    "compile_filter",
    "connect",
    "fresh_name",
    "is_table",
    "search_each",
    "table_source",
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
