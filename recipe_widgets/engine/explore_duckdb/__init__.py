"""The explorer and the audit on tables larger than memory, through DuckDB (``[data]`` extra).

Importing ``recipe_widgets`` never imports this package; ``rw.explore`` and ``rw.audit`` do,
when they are given a Parquet path, a CSV, a DuckDB relation, Arrow or Polars data.
"""

from __future__ import annotations

from recipe_widgets.engine.explore_duckdb._filter import compile_filter
from recipe_widgets.engine.explore_duckdb._source import DuckSource, connect

__all__ = ["DuckSource", "compile_filter", "connect"]
