"""The explorer over a table that need not fit in memory (any ``TableSource``).

The same controls and traits as :class:`Explorer`; what changes is who answers. Each change
becomes one :class:`Query`; the source counts the matches and sends back the page shown and the
bars of the histogram, never the whole selection, so a hundred million rows cost what a
thousand do in messages to the front end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import traitlets as T

from recipe_widgets.display._explore import grid_html
from recipe_widgets.engine import _explore as ex
from recipe_widgets.engine._table_source import Query, TableSource
from recipe_widgets.widgets._explorer import Explorer

MAX_SELECTION = 1_000_000  # row ids handed back to Python at once; past this, narrow the filter


class TableExplorer(Explorer):
    """Search, filter, sort, histogram and page a table queried in place (e.g. by DuckDB)."""

    only = T.Tuple(
        (), help="row ids to show, e.g. a finding's evidence['indices']; () shows every row"
    )

    def __init__(
        self,
        source: TableSource,
        *,
        title: str = "Explorer",
        page_size: int = 24,
        chart: bool = True,
    ) -> None:
        self.source = source
        self.frame = None  # type: ignore[assignment]  # no frame: the source answers
        self.images = None
        self.title = title
        self.note = source.how
        self._query = Query()
        self._count = source.n_rows
        self._page_frame = pd.DataFrame(columns=source.columns)
        self._hist: ex.Histogram | None = None
        self._build(list(source.columns), source.axes(), chart=chart, page_size=page_size)
        self.observe(self._on_query, names=["only"])

    def show(self, finding: Any) -> None:
        """Show only the rows a finding names (``rw.audit(path)``'s ``evidence["indices"]``),
        or a list of row ids; ``show(())`` shows every row again."""
        ids = (
            getattr(finding, "evidence", {}).get("indices")
            if hasattr(finding, "evidence")
            else finding
        )
        self.only = tuple(int(i) for i in ids or ())

    # -- what matches ------------------------------------------------------------------------
    def query(self) -> Query:
        """The traits as one query for the source."""
        ranges = ((self.axis, *map(float, self.brush)),) if self.brush and self.axis else ()
        picked = ((self.axis, tuple(self.picked)),) if self.picked and self.axis else ()
        return Query(
            search=self.search,
            regex=self.regex,
            expr=self.expr,
            ranges=ranges,  # type: ignore[arg-type]
            picked=picked,
            sort_by=self.sort_by,
            descending=self.descending,
            rows=tuple(int(r) for r in self.only) if self.only else None,
        )

    def _refresh(self) -> None:
        try:
            query = self.query()
            self._count = self.source.count(query)
            self._query = query
            self.error = ""
        except (ValueError, KeyError, TypeError) as err:
            self.error = str(err)  # keep the last good selection on screen
        self.page = 0
        self._draw_grid()

    @property
    def selection(self) -> np.ndarray:
        """Row ids (0..N-1) of the matches in the shown order, at most a million."""
        return self.source.row_ids(self._query, MAX_SELECTION)

    def selected_frame(self, limit: int = 10_000) -> pd.DataFrame:
        """The first ``limit`` matches as a pandas frame, indexed by row id."""
        return self.source.page(self._query, 0, limit)

    def rows_in_bar(self, bar: int, limit: int = 10_000) -> np.ndarray:
        """Row ids behind bar ``bar`` of the histogram shown, among the current matches."""
        hist = self._hist if self._hist is not None else self._axis_histogram()
        return self.source.bar_rows(hist, bar, self._query, limit)

    def subset(self, dataset: Any) -> Any:
        from torch.utils.data import Subset

        return Subset(dataset, [int(i) for i in self.selection])

    def show_group(self, name: str) -> None:
        raise ValueError("duplicate groups are shown by the in-memory explorer (a DataFrame)")

    def _axis_histogram(self) -> ex.Histogram:
        self._hist = self.source.histogram(self.axis, Query())
        return self._hist

    def _column(self, name: str) -> Any:
        return name

    def _turn(self, step: int) -> None:
        last = max(0, (self._count - 1) // self.page_size)
        self.page = min(max(0, self.page + step), last)

    # -- drawing -----------------------------------------------------------------------------
    def _status_text(self) -> str:
        start = self.page * self.page_size
        shown = min(self.page_size, max(0, self._count - start))
        span = f"{start + 1}-{start + shown}" if shown else "0"
        return f"{self._count} of {self.source.n_rows} items match; showing {span}"

    def _grid_html(self) -> str:
        start = self.page * self.page_size
        try:
            self._page_frame = self.source.page(self._query, start, self.page_size)
        except (ValueError, KeyError, TypeError) as err:
            self.error = str(err)
        return grid_html(self._page_frame, range(len(self._page_frame)))

    def human_baseline(self, n: int = 20, seed: int = 0) -> Any:
        raise ValueError(
            "the human baseline needs the items in memory: rw.explore(table.sample(...).df(), "
            "labels='label') on a sample of the table"
        )


def explore_table(
    data: Any,
    labels: Any = None,
    *,
    page_size: int = 24,
    chart: bool = True,
    title: str = "Explorer",
    con: Any = None,
    memory_limit: str | None = None,
) -> TableExplorer:
    """``rw.explore`` on a table read in place (see :func:`recipe_widgets.explore`)."""
    from recipe_widgets.engine._table_source import table_source

    options = {k: v for k, v in (("con", con), ("memory_limit", memory_limit)) if v is not None}
    source = table_source(data, **options) if options else table_source(data)
    if labels is not None and (not isinstance(labels, str) or labels not in source.columns):
        raise ValueError(
            f"labels= names a column of the table ({', '.join(source.columns)}); got {labels!r}"
        )
    explorer = TableExplorer(source, title=title, page_size=page_size, chart=chart)
    explorer.label_column = labels
    return explorer
