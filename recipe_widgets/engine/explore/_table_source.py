"""What the explorer asks of a table, whatever holds it: a small interface and its two answers.

A :class:`TableSource` counts, pages, histograms and looks up the rows behind a bar for a
:class:`Query` (the search, filter, brushed ranges, clicked categories and sort a person set).
:class:`FrameSource` answers on a pandas frame in memory with the functions the in-memory
explorer uses; ``_duckdb_source.DuckSource`` answers with DuckDB queries on data that need not
fit in memory (Parquet, CSV, Arrow, Polars, a DuckDB relation). A third back end (a remote SQL
engine) needs only these few methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from recipe_widgets.engine.explore import _queries as ex
from recipe_widgets.engine.explore._filter_expr import filter_mask


@dataclass(frozen=True)
class Query:
    """What a person asked for; frozen, so a source can remember the answer to the last one."""

    search: str = ""
    regex: bool = False
    expr: str = ""
    ranges: tuple[tuple[str, float, float], ...] = ()  # (column, lo, hi), both ends kept
    picked: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, values as shown)
    sort_by: str = ""
    descending: bool = False
    rows: tuple[int, ...] | None = None  # only these row ids (a finding's), or every row


class TableSource(Protocol):
    columns: list[str]  # as shown, in table order
    n_rows: int
    how: str  # how the table is read, said to the person

    def axes(self) -> list[str]:
        """Columns a histogram can show, numbers first."""
        ...

    def count(self, query: Query) -> int: ...

    def page(self, query: Query, offset: int, limit: int) -> pd.DataFrame:
        """Rows ``offset`` to ``offset + limit`` of the answer, indexed by row id (0..n-1)."""
        ...

    def row_ids(self, query: Query, limit: int) -> np.ndarray: ...

    def histogram(self, column: str, query: Query, bins: int = 30) -> ex.Histogram: ...

    def bar_rows(self, hist: ex.Histogram, bar: int, query: Query, limit: int) -> np.ndarray:
        """Row ids (item order) of the rows behind bar ``bar`` of ``hist``, at most ``limit``."""
        ...

    def bar_counts(self, hist: ex.Histogram, query: Query) -> np.ndarray:
        """Per bar of ``hist`` (its own bins or categories), how many rows matching ``query``
        fall in it: the filtered bars the explorer draws over the faint bars of every row."""
        ...


class FrameSource:
    """A pandas frame in memory: the explorer's own functions, one answer remembered."""

    def __init__(self, frame: pd.DataFrame, how: str = "") -> None:
        self.frame = frame
        self.columns = [str(c) for c in frame.columns]
        self.n_rows = len(frame)
        self.how = how or f"{len(frame)} rows in memory (pandas)"
        self._cache = ex.ColumnCache(frame)
        self._last: tuple[Query | None, np.ndarray] = (None, np.zeros(0, dtype=np.int64))

    def axes(self) -> list[str]:
        numbers = ex.numeric_columns(self.frame)
        return [str(c) for c in numbers + [c for c in self.frame.columns if c not in numbers]]

    def _mask(self, query: Query) -> np.ndarray:
        f = self.frame
        mask = ex.search_mask(f, query.search, regex=query.regex, cache=self._cache)
        if query.expr.strip():
            mask &= filter_mask(f, query.expr)
        for col, lo, hi in query.ranges:
            mask &= ex.range_mask(f, {col: (lo, hi)})
        for col, values in query.picked:
            codes, shown = self._cache.text(col)
            mask &= np.asarray([v in values for v in shown] + [False], dtype=bool)[codes]
        if query.rows is not None:
            ids = np.asarray(query.rows, dtype=np.int64)
            mask &= np.isin(np.arange(len(f)), ids)
        return mask

    def _rows(self, query: Query) -> np.ndarray:
        if self._last[0] != query:
            rows = np.flatnonzero(self._mask(query))
            sort = query.sort_by or None
            ordered = ex.order(self.frame, rows, sort, not query.descending, cache=self._cache)
            self._last = (query, ordered)
        return self._last[1]

    def count(self, query: Query) -> int:
        return len(self._rows(query))

    def page(self, query: Query, offset: int, limit: int) -> pd.DataFrame:
        rows = self._rows(query)[offset : offset + limit]
        return self.frame.iloc[rows].set_axis(pd.Index(rows, name="row"))

    def row_ids(self, query: Query, limit: int) -> np.ndarray:
        return self._rows(query)[:limit].copy()

    def histogram(self, column: str, query: Query, bins: int = 30) -> ex.Histogram:
        return ex.histogram(self.frame, column, np.flatnonzero(self._mask(query)), bins=bins)

    def bar_rows(self, hist: ex.Histogram, bar: int, query: Query, limit: int) -> np.ndarray:
        return hist.rows(bar)[:limit]

    def bar_counts(self, hist: ex.Histogram, query: Query) -> np.ndarray:
        return hist.counts_among(np.flatnonzero(self._mask(query)), self.n_rows)


def is_table(data: Any) -> bool:
    """True for what DuckDB reads in place: a path, a relation, Arrow, Polars (not a frame)."""
    import os

    if isinstance(data, (str, os.PathLike)):
        return True
    if all(hasattr(data, m) for m in ("count", "page", "histogram", "bar_rows")):
        return True  # a TableSource already (e.g. one over a remote SQL engine)
    module = type(data).__module__.split(".")[0]
    return module in ("duckdb", "_duckdb", "pyarrow", "polars")
