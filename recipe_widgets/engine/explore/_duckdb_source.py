"""The explorer's questions as DuckDB queries: counts, a page, histograms, the rows behind a bar.

Every query is SQL text written here, with what a person typed bound as ``?`` parameters
(see ``_filter``). A page is a top-k query (``ORDER BY ... LIMIT ? OFFSET ?``), a histogram one
``GROUP BY``; nothing but the page and the bars comes back to Python.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
import pandas as pd

from recipe_widgets.engine.explore._duckdb_filter import (
    TRUE,
    Col,
    Sql,
    all_of,
    any_of,
    compile_filter,
    definite,
    kind_of,
    text_condition,
)
from recipe_widgets.engine.explore._duckdb_open import ROW, is_csv, open_any, parquet_files
from recipe_widgets.engine.explore._queries import MAX_PATTERN, Histogram
from recipe_widgets.engine.explore._table_source import FrameSource, Query, TableSource


def connect(memory_limit: str | None = None) -> Any:
    """A private in-memory DuckDB that spills to a temporary folder past ``memory_limit``."""
    import duckdb

    # No progress bar: DuckDB would draw it into the notebook's output on every long query.
    con = duckdb.connect(config={"preserve_insertion_order": True})
    con.execute("SET enable_progress_bar = false")
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    return con


class DuckSource:
    """A table read in place by DuckDB, answering the explorer's :class:`Query`."""

    def __init__(
        self,
        con: Any,
        view: str,
        how: str,
        ordered: bool = False,
        files: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.con = con
        self.files = list(files)  # the Parquet files read, whose footers hold column stats
        self.ordered = ordered  # a scan yields rows in row-id order
        self.view = view
        described = con.execute(f"DESCRIBE {view}").fetchall()
        self.kinds = {str(r[0]): kind_of(str(r[1])) for r in described if r[0] != ROW}
        self.columns = list(self.kinds)
        self._lock = threading.Lock()  # one query at a time: a count may run in a thread
        self.n_rows = int(self._one(f"SELECT count(*) FROM {view}")[0])
        self.how = how
        self._counted: tuple[Sql | None, int] = (None, 0)
        self._full: dict[tuple[str, int], Histogram] = {}  # bars of every row, per column

    @classmethod
    def open(cls, data: Any, *, con: Any = None, memory_limit: str | None = None) -> DuckSource:
        """``data``: a Parquet file / glob / folder, a CSV path, a DuckDB relation (``con``:
        the connection it was made on; DuckDB's default one if not given), a pyarrow Table or
        Dataset, or a polars DataFrame / LazyFrame."""
        if con is None:
            import duckdb

            relation = type(data).__name__ == "DuckDBPyRelation"
            con = duckdb.default_connection() if relation else connect(memory_limit)
        source = cls(con, *open_any(con, data))
        if isinstance(data, (str, os.PathLike)) and not is_csv(os.fspath(data)):
            source.files = parquet_files(con, os.fspath(data))
        return source

    # -- running SQL -------------------------------------------------------------------------
    def _run(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        import duckdb

        try:
            return self.con.execute(sql, list(params))
        except duckdb.Error as err:
            # A value DuckDB cannot read as the column's type ("2024-13-45" for a date): the
            # person's input, so a ValueError the explorer shows, not a crash.
            raise ValueError(str(err).split("\n")[0]) from None

    def _fetch(self, sql: str, params: tuple[Any, ...] | list[Any] = (), how: str = "all") -> Any:
        """Runs and fetches under the lock: ``how`` is "all" (tuples), "one", "df" or "numpy"."""
        import duckdb

        with self._lock:
            result = self._run(sql, params)
            try:
                return {
                    "all": result.fetchall,
                    "one": result.fetchone,
                    "df": result.df,
                    "numpy": result.fetchnumpy,
                }[how]()
            except duckdb.Error as err:  # raised while fetching: the same words as _run's
                raise ValueError(str(err).split("\n")[0]) from None

    def _one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> tuple[Any, ...]:
        return self._fetch(sql, params, "one")

    def interrupt(self) -> None:
        """Stops the query running now (from another thread): a count nobody waits for."""
        self.con.interrupt()

    def check_regex(self, pattern: str) -> None:
        """Raises ``ValueError`` when RE2 cannot compile ``pattern``."""
        self._one("SELECT regexp_matches('', ?, 'i')", (pattern,))

    # -- the query ---------------------------------------------------------------------------
    def col(self, name: str) -> Col:
        if name not in self.kinds:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self.columns)}")
        return Col(name, self.kinds[name])

    def axes(self) -> list[str]:
        numbers = [c for c, k in self.kinds.items() if k in ("float", "number")]
        return numbers + [c for c, k in self.kinds.items() if c not in numbers and k != "other"]

    def search(self, text: str, regex: bool = False) -> Sql:
        """Rows where a text column contains ``text`` (ignoring case), or matches it (RE2)."""
        if not text:
            return TRUE
        if len(text) > MAX_PATTERN:
            raise ValueError(
                f"search text is {len(text)} characters; at most {MAX_PATTERN} are searched"
            )
        if regex:
            try:
                self.check_regex(text)
            except ValueError as err:
                raise ValueError(f"not a valid regular expression: {err}") from None
        op = "matches" if regex else "contains"
        texts = [self.col(c) for c, k in self.kinds.items() if k == "text"]
        return definite(any_of([text_condition(c, op, text) for c in texts]))

    def where(self, query: Query) -> Sql:
        parts = [self.search(query.search, query.regex)]
        if query.expr.strip():
            parts.append(compile_filter(query.expr, self.kinds, check_regex=self.check_regex))
        for name, lo, hi in query.ranges:
            c = self.col(name)
            parts.append(definite(Sql(f"{c.sql} BETWEEN ? AND ?", (lo, hi)) & ~Sql(c.missing())))
        for name, values in query.picked:
            c = self.col(name)
            shown = [Sql(f"CAST({c.sql} AS VARCHAR) = ?", (v,)) for v in values]
            parts.append(definite(any_of(shown)))
        if query.rows is not None:  # one list parameter, however many rows
            parts.append(Sql(f"list_contains(?::BIGINT[], {ROW})", ([int(r) for r in query.rows],)))
        return all_of([p for p in parts if p is not TRUE])

    def _order(self, query: Query) -> str:
        if not query.sort_by:
            # In row order already: no ORDER BY, so LIMIT stops the scan at the page's end.
            # Not for a list of row ids: DuckDB skips row groups by the row number there and
            # has returned them out of order (a finding's few rows cost nothing to sort).
            return "" if self.ordered and query.rows is None else f"ORDER BY {ROW}"
        c = self.col(query.sort_by)
        # Missing values last either way, ties in item order (as the in-memory sort). DuckDB
        # sorts NaN above every number, so an ascending float sort puts it last with NULLS LAST,
        # and a descending one is the ascending sort of -x: two sort keys, not three (on 100M
        # rows 10-17% faster than a leading "is missing" key).
        if c.kind == "float" and query.descending:
            return f"ORDER BY -{c.sql} ASC NULLS LAST, {ROW}"
        return f"ORDER BY {c.sql} {'DESC' if query.descending else 'ASC'} NULLS LAST, {ROW}"

    def _sorted_range(self, query: Query, where: Sql, need: int) -> Sql | None:
        """A condition that keeps the first ``need`` rows of a sort by a numeric column and
        drops most others, read off that column's bars of every row when they are at hand:
        the finite values up to the end of the first bars that hold ``need`` rows (from the
        other end when descending), so the sort ranks those rows only. None where it would not
        narrow (a filter is set, the bars are not yet counted, or the first rows reach the
        last bar)."""
        kind = self.kinds.get(query.sort_by or "")
        if kind not in ("float", "number") or where is not TRUE:
            return None
        hist = self._full.get((str(query.sort_by), 30))
        if hist is None or not hist.counts:
            return None
        counts = np.asarray(hist.counts[::-1] if query.descending else hist.counts)
        reach = int(np.searchsorted(np.cumsum(counts), need))  # bars needed, less one
        if reach >= len(counts) - 1:
            return None
        c = self.col(str(query.sort_by))
        edges, width = hist.edges, (hist.edges[-1] - hist.edges[0]) / len(counts)
        # one bar of margin against rounding; NaN (above every number for DuckDB) left out
        finite = f" AND NOT isnan({c.sql})" if kind == "float" else ""
        if query.descending:
            return Sql(f"{c.sql} >= ?{finite}", (edges[len(counts) - 1 - reach] - width,))
        return Sql(f"{c.sql} <= ?{finite}", (edges[reach + 1] + width,))

    # -- the answers -------------------------------------------------------------------------
    def count(self, query: Query) -> int:
        where = self.where(query)
        if self._counted[0] != where:
            n = self._one(f"SELECT count(*) FROM {self.view} WHERE {where.text}", where.params)[0]
            self._counted = (where, int(n))
        return self._counted[1]

    def page(self, query: Query, offset: int, limit: int) -> pd.DataFrame:
        where = self.where(query)
        order, params = self._order(query), (int(limit), int(offset))
        narrow = self._sorted_range(query, where, int(offset) + int(limit))
        if narrow is not None:
            # Exact: a full page means at least offset + limit rows passed, and every row left
            # out (smaller or larger past the range, NaN, NULL) sorts after all of them. A
            # short page asks again without the range.
            sql = f"SELECT * FROM {self.view} WHERE {narrow.text} {order} LIMIT ? OFFSET ?"
            frame = self._fetch(sql, (*narrow.params, *params), "df")
            if len(frame) == int(limit):
                return frame.set_index(ROW).rename_axis("row")
        sql = f"SELECT * FROM {self.view} WHERE {where.text} {order} LIMIT ? OFFSET ?"
        frame = self._fetch(sql, (*where.params, *params), "df")
        return frame.set_index(ROW).rename_axis("row")

    def row_ids(self, query: Query, limit: int) -> np.ndarray:
        where = self.where(query)
        sql = f"SELECT {ROW} FROM {self.view} WHERE {where.text} {self._order(query)}"
        rows = self._fetch(f"{sql} LIMIT ?", (*where.params, int(limit)), "numpy")[ROW]
        return np.asarray(rows, dtype=np.int64)

    def histogram(self, column: str, query: Query, bins: int = 30) -> Histogram:
        c = self.col(column)
        where = self.where(query)
        if where is TRUE:  # every row: the table does not change, so once per column
            key = (column, bins)
            if key not in self._full:
                self._full[key] = self._histogram(c, where, bins)
            return self._full[key]
        return self._histogram(c, where, bins)

    def _histogram(self, c: Col, where: Sql, bins: int) -> Histogram:
        if c.kind in ("float", "number"):
            return self._numeric_bars(c, where, bins)
        return self._category_bars(c, where, bins)

    def _bar(self, c: Col, lo: float, hi: float, bins: int) -> Sql:
        """The bar of each value: the same arithmetic in the histogram and behind a bar."""
        width = (hi - lo) / bins
        return Sql(
            f"least(greatest(floor((CAST({c.sql} AS DOUBLE) - ?) / ?), 0), ?)",
            (lo, width, bins - 1),
        )

    def _stats_span(self, c: Col) -> tuple[float, float] | None:
        """The column's smallest and largest value from the Parquet footers, read without a
        scan; None unless every row group states both and they are finite numbers."""
        if not self.files:
            return None
        n, lows, highs, lo, hi = self._one(
            "SELECT count(*), count(stats_min_value), count(stats_max_value), "
            "min(TRY_CAST(stats_min_value AS DOUBLE)), max(TRY_CAST(stats_max_value AS DOUBLE)) "
            "FROM parquet_metadata(?) WHERE path_in_schema = ?",
            (self.files, c.name),
        )
        if not n or lows < n or highs < n or lo is None or hi is None:
            return None
        return (float(lo), float(hi)) if np.isfinite([lo, hi]).all() else None

    def _numeric_bars(self, c: Col, where: Sql, bins: int) -> Histogram:
        finite = f"isfinite(CAST({c.sql} AS DOUBLE))"
        span = self._stats_span(c) if where is TRUE else None
        if span is None:  # a scan for the ends first
            lo, hi, n, kept = self._one(
                f"SELECT min({c.sql}) FILTER ({finite}), max({c.sql}) FILTER ({finite}), "
                f"count(*), count(*) FILTER ({finite}) FROM {self.view} WHERE {where.text}",
                where.params,
            )
            if not kept:
                return Histogram(c.name, (), missing=int(n))  # all missing: no bars
            span = (float(lo), float(hi))
        lo, hi = span
        if lo == hi:  # zero spread: one bar, not a division by zero
            lo, hi = lo - 0.5, hi + 0.5
        bar = self._bar(c, lo, hi, bins)
        # One scan: the bar of each finite value, NULL for the missing ones.
        got = self._fetch(
            f"SELECT CASE WHEN {finite} THEN {bar.text} END AS b, count(*) FROM {self.view} "
            f"WHERE {where.text} GROUP BY b",
            (*bar.params, *where.params),
        )
        counts = np.zeros(bins, dtype=np.int64)
        for b, k in got:
            if b is not None:
                counts[int(b)] = int(k)
        missing = sum(int(k) for b, k in got if b is None)
        edges = np.linspace(lo, hi, bins + 1)
        return Histogram(
            c.name,
            tuple(int(k) for k in counts),
            edges=tuple(float(e) for e in edges),
            missing=missing,
        )

    def _category_bars(self, c: Col, where: Sql, bins: int) -> Histogram:
        rows = self._fetch(
            f"SELECT CAST({c.sql} AS VARCHAR) AS v, count(*) AS k FROM {self.view} "
            f"WHERE {where.text} GROUP BY v ORDER BY v IS NULL, k DESC, v",
            where.params,
        )
        missing = sum(int(k) for v, k in rows if v is None)
        bars = [(str(v), int(k)) for v, k in rows if v is not None][:bins]
        return Histogram(
            c.name,
            tuple(k for _, k in bars),
            categories=tuple(v for v, _ in bars),
            missing=missing,
        )

    def bar_rows(self, hist: Histogram, bar: int, query: Query, limit: int) -> np.ndarray:
        if not 0 <= bar < len(hist.counts):
            raise IndexError(f"bar {bar} of {len(hist.counts)}")
        c = self.col(hist.column)
        if hist.numeric:
            b = self._bar(c, hist.edges[0], hist.edges[-1], len(hist.counts))
            cond = Sql(f"isfinite(CAST({c.sql} AS DOUBLE)) AND {b.text} = ?", (*b.params, bar))
        else:
            cond = Sql(f"CAST({c.sql} AS VARCHAR) = ?", (hist.categories[bar],))
        where = self.where(query) & cond
        sql = f"SELECT {ROW} FROM {self.view} WHERE {where.text} ORDER BY {ROW} LIMIT ?"
        rows = self._fetch(sql, (*where.params, int(limit)), "numpy")[ROW]
        return np.asarray(rows, dtype=np.int64)

    def bar_counts(self, hist: Histogram, query: Query) -> np.ndarray:
        """One ``GROUP BY`` over the matching rows, binned as ``hist``'s bars (no new edges);
        the same scan counts the matches, so ``count(query)`` then needs none."""
        c = self.col(hist.column)
        where = self.where(query)
        counts = np.zeros(len(hist.counts), dtype=np.int64)
        if hist.numeric:
            b = self._bar(c, hist.edges[0], hist.edges[-1], len(hist.counts))
            got = self._fetch(
                f"SELECT CASE WHEN isfinite(CAST({c.sql} AS DOUBLE)) THEN {b.text} END AS b, "
                f"count(*) FROM {self.view} WHERE {where.text} GROUP BY b",
                (*b.params, *where.params),
            )
            for bar, k in got:
                if bar is not None:
                    counts[int(bar)] = int(k)
        else:
            got = self._fetch(
                f"SELECT CAST({c.sql} AS VARCHAR) AS v, count(*) FROM {self.view} "
                f"WHERE {where.text} GROUP BY v",
                where.params,
            )
            seen = dict(got)
            counts[:] = [int(seen.get(v, 0)) for v in hist.categories]
        self._counted = (where, sum(int(k) for _, k in got))
        return counts

    def prefetch(self, stop: Any = lambda: False, bins: int = 30) -> None:
        """Bars of every row for each numeric column not yet binned (one scan each), so that
        choosing another axis answers at once; ``stop()`` is asked between columns."""
        for name, kind in self.kinds.items():
            if stop():
                return
            if kind in ("float", "number"):
                self.histogram(name, Query(), bins=bins)


def table_source(data: Any, **options: Any) -> TableSource:
    """A source for ``data``: a pandas frame in memory, a source as it is, anything else through
    DuckDB (here, beside ``DuckSource``, so that ``_table_source`` needs no DuckDB)."""
    if isinstance(data, pd.DataFrame) and not options:
        return FrameSource(data)
    if all(hasattr(data, m) for m in ("count", "page", "histogram", "bar_rows")):
        return data
    return DuckSource.open(data, **options)
