"""``rw.explore``: browse, search, filter, sort and histogram the items of a dataset.

Thin by design: traits hold what the person asked for, ``_refresh`` asks the engine which rows
match (``engine.explore`` and the filter grammar) and the display layer how to draw them.
``TableExplorer`` asks a ``TableSource`` instead (DuckDB on a table read in place).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import threading
from collections.abc import Mapping
from html import escape
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
import traitlets as T

from recipe_widgets.display._explore import NONE, grid_html, histogram_bars
from recipe_widgets.display._theme import colour
from recipe_widgets.engine.explore import Histogram, Query, TableSource
from recipe_widgets.engine.explore import _queries as ex
from recipe_widgets.engine.validate import not_text, whole
from recipe_widgets.widgets._base import StaticFallbackMixin
from recipe_widgets.widgets._explore_histogram import HistogramView

SEARCH_DELAY = 0.3  # seconds of no typing before a search runs: as you type, not per key


def example_filter(frame: pd.DataFrame) -> str:
    """A filter expression built from this frame's own columns and values, for the filter box's
    placeholder: ``label == 3 and mean > 0.42`` where those columns exist, never a column the
    frame lacks."""
    numeric = [str(c) for c in ex.numeric_columns(frame)]
    words = [c for c in map(str, frame.columns) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c)]
    parts = []
    label = next((c for c in ("label", "target", "y") if c in words), None)
    if label is not None:
        first = frame[label].dropna()
        if len(first):
            v = first.iloc[0]
            v = v.item() if isinstance(v, np.generic) else v  # 3, not np.int64(3)
            parts.append(
                f"{label} == {v!r}" if not isinstance(v, str) else f'{label} == "{v[:20]}"'
            )
    axis = next((c for c in numeric if c in words and c != label), None)
    if axis is not None:
        median = pd.to_numeric(frame[axis], errors="coerce").median()
        if pd.notna(median):
            parts.append(f"{axis} > {float(median):.3g}")
    if "flags" in words:
        parts.append('flags contains "outliers"')
    return " and ".join(parts[:2]) or "column == value"


class Explorer(StaticFallbackMixin, W.VBox):
    """A per-item table with search, filter expression, sort, a histogram per axis and paging."""

    search = T.Unicode("", help="substring (or regex when `regex`) looked for in text columns").tag(
        sync=False
    )
    regex = T.Bool(False, help="treat `search` as a regular expression")
    expr = T.Unicode("", help="filter expression, e.g. `label == 3 and mean > 0.4`")
    sort_by = T.Unicode("", help="column to sort by; empty keeps item order")
    descending = T.Bool(False, help="sort largest first")
    axis = T.Unicode("", help="column shown in the histogram")
    brush = T.Tuple((), help="(lo, hi) range on `axis` picked in the histogram; () for none")
    picked = T.Tuple((), help="categories of `axis` clicked in the histogram; () for all")
    page = T.Int(0, help="page of `page_size` items shown")
    page_size = T.Int(24, help="items per page")
    error = T.Unicode("", help="why the last search / filter could not be applied")

    @T.validate("page_size")
    def _valid_page_size(self, proposal: Any) -> int:
        """At least 1 item per page, also when set after construction (paging divides by it)."""
        return whole("page_size", proposal["value"])

    @T.validate("page")
    def _valid_page(self, proposal: Any) -> int:
        return whole("page", proposal["value"], least=0)

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        images: np.ndarray | None = None,
        title: str = "Explorer",
        note: str = "",
        page_size: int = 24,
        chart: bool = True,
        reasons: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"Explorer needs a per-item DataFrame, got {type(frame).__name__}")
        whole("page_size", page_size)
        if images is not None and len(images) != len(frame):
            raise ValueError(
                f"{len(images)} images for {len(frame)} items; they must match one to one"
            )
        self.frame = frame
        self.images = images
        self.title = title
        self.note = note  # how the items were read, e.g. "1797 items of shape (8, 8)"
        # check id -> its finding's message: the "why" shown on hover over a flag or group tag
        self.reasons = dict(reasons or {})
        self._pending: Any = None  # the scheduled search while a person is typing
        self._hist: Any = None  # the histogram of every item along `axis`, built on first use
        self._drawn: Any = None  # (axis, matching counts) the chart on screen was built for
        self._rows = np.arange(len(frame))
        self._cache = ex.ColumnCache(
            frame
        )  # per-column factorizations and sort keys, built on first use
        numbers = ex.numeric_columns(frame)
        axes = [str(a) for a in numbers + [c for c in frame.columns if c not in numbers]]
        self._make_controls([str(c) for c in frame.columns], axes, example_filter(frame))
        self._build(axes, chart=chart, page_size=page_size)

    def _build(self, axes: list[str], *, chart: bool, page_size: int) -> None:
        """Links the controls to the traits, draws once and lays out (any table's explorer)."""
        self._chart = None
        self._want_chart = chart and len(axes) > 0
        super().__init__(layout=W.Layout(width="100%"))
        self.page_size = page_size
        # The search box is typed into: each key schedules a search (see _typed); the trait
        # set from code (or a test) applies at once and shows in the box.
        self._search.observe(self._typed, names="value")
        self.observe(lambda c: setattr(self._search, "value", c["new"]), names="search")
        for w, name in (
            (self._expr, "expr"),
            (self._sort, "sort_by"),
            (self._axis, "axis"),
        ):
            W.link((w, "value"), (self, name))
        W.link((self._regex, "value"), (self, "regex"))
        W.link((self._desc, "value"), (self, "descending"))
        self._prev.on_click(lambda _: self._turn(-1))
        self._next.on_click(lambda _: self._turn(+1))
        self.observe(
            self._on_query,
            names=["search", "regex", "expr", "sort_by", "descending", "brush", "picked"],
        )
        self.observe(self._on_axis, names=["axis"])
        self.observe(lambda _: self._draw_grid(), names=["page", "page_size"])
        self.axis = axes[0] if axes else ""
        self._on_axis(None)  # the link above already set `axis`, so no change event fired
        self._refresh()
        self._lay_out()

    def _make_controls(self, columns: list[str], axes: list[str], example: str) -> None:
        """The boxes, buttons and outputs (not yet linked); ``example`` fills the filter box."""
        self._search = W.Text(
            placeholder="search text columns (as you type)",
            description="search",
            continuous_update=True,
        )
        self._regex = W.Checkbox(description="regex", indent=False, layout=W.Layout(width="70px"))
        self._expr = W.Text(
            placeholder=f"{example}  (Enter)",
            description="filter",
            continuous_update=False,
        )
        self._sort = W.Dropdown(options=["", *columns], description="sort")
        self._desc = W.Checkbox(description="largest first", indent=False)
        self._axis = W.Dropdown(options=axes, description="axis")
        self._prev, self._next = (
            W.Button(description="\u25c0", layout=W.Layout(width="40px")),
            W.Button(description="\u25b6", layout=W.Layout(width="40px")),
        )
        self._status = W.HTML()
        self._code_button = W.Button(description="as code", layout=W.Layout(width="80px"))
        self._code = W.Textarea(layout=W.Layout(width="100%", height="90px", display="none"))
        self._code_button.on_click(lambda _: self._toggle_code())
        self._grid = W.HTML()

    def _lay_out(self) -> None:
        controls = W.VBox(
            [
                W.HBox([self._search, self._regex, self._expr]),
                W.HBox(
                    [self._sort, self._desc, self._axis, self._prev, self._next, self._code_button]
                ),
            ]
        )
        self.children = [
            c
            for c in (controls, self._chart, self._status, self._code, self._grid)
            if c is not None
        ]

    label_column: str | None = None  # set by explore(); the human baseline hides this column

    def human_baseline(self, n: int = 20, seed: int = 0) -> Any:
        """Label ``n`` items yourself, with the answer hidden: the recipe's human baseline."""
        from recipe_widgets.widgets._explore_baseline import HumanBaselineWidget

        if not self.label_column:
            raise ValueError(
                "no label column: pass labels= to rw.explore to measure a human baseline"
            )
        show = tuple(str(c) for c in self.frame.columns if c != self.label_column and c != "flags")[
            :4
        ]
        return HumanBaselineWidget(
            self.frame, self.label_column, n=n, images=self.images, show=show, seed=seed
        )

    # -- what matches ------------------------------------------------------------------------
    def show_group(self, name: str) -> None:
        """Show one duplicate group side by side, e.g. ``show_group("exact_duplicates#3")``."""
        if self.frame is None or "group" not in self.frame.columns:
            raise ValueError("no duplicate groups here: pass report=rw.audit(...) to rw.explore")
        if not re.fullmatch(r"[A-Za-z_]+#\d+", name):
            raise ValueError(f"a group name looks like 'exact_duplicates#3'; got {name!r}")
        self.search = ""
        self.expr = f'group matches "(^|, ){name}(,|$)"'

    @property
    def selection(self) -> np.ndarray:
        """Positions (0..N-1) of the items that match, in the shown order."""
        return self._rows.copy()

    def to_code(self, name: str = "explorer") -> str:
        """What is selected now, as Python a script can run: the same query set on an explorer
        (our filter grammar, never ``DataFrame.query``) and the matching positions themselves."""
        query = [
            ("search", self.search, ""),
            ("regex", self.regex, False),
            ("expr", self.expr, ""),
            ("axis", self.axis, self.axis if not (self.brush or self.picked) else None),
            ("brush", tuple(self.brush), ()),
            ("picked", tuple(self.picked), ()),
            ("sort_by", self.sort_by, ""),
            ("descending", self.descending, False),
        ]
        lines = [f"# {self._status_text().split(';')[0]}"]
        lines += [f"{name}.{key} = {value!r}" for key, value, default in query if value != default]
        lines.append(self._code_indices(name))
        return "\n".join(lines)

    def _code_indices(self, name: str) -> str:
        return f"indices = {[int(i) for i in self._rows]!r}  # positions, in the shown order"

    def selected_frame(self) -> pd.DataFrame:
        return self.frame.iloc[self._rows]

    def subset(self, dataset: Any) -> Any:
        """A ``torch.utils.data.Subset`` of ``dataset`` holding the matching items."""
        from torch.utils.data import Subset

        return Subset(dataset, [int(i) for i in self._rows])

    def _match(self, own_selection: bool = True) -> np.ndarray:
        """Positions that match; ``own_selection=False`` leaves out the histogram's brush and
        picked bars (what its "matching" bars count)."""
        mask = ex.search_mask(self.frame, self.search, regex=self.regex, cache=self._cache)
        if self.expr.strip():
            from recipe_widgets.engine.explore import filter_mask

            mask &= filter_mask(self.frame, self.expr)
        if not own_selection:
            return np.flatnonzero(mask)
        if self.brush and self.axis:
            mask &= ex.range_mask(self.frame, {self._column(self.axis): tuple(self.brush)})
        if self.picked and self.axis:
            codes, shown = self._cache.text(self._column(self.axis))  # bars are labelled as text
            hit = np.asarray([v in self.picked for v in shown] + [False], dtype=bool)
            mask &= hit[codes]
        rows = np.flatnonzero(mask)
        return ex.order(
            self.frame, rows, self.sort_by or None, ascending=not self.descending, cache=self._cache
        )

    def _refresh(self) -> None:
        try:
            self._rows = self._match()
            self.error = ""
        except (ValueError, KeyError, TypeError) as err:
            # Bad input typed by a person: say why, keep the last good selection on screen.
            self.error = str(err)
        self.page = 0
        self._draw_grid()
        self._draw_histogram()

    def _typed(self, change: dict[str, Any]) -> None:
        """A key in the search box: search once typing pauses for SEARCH_DELAY (debounced),
        so results follow the text without a search per key. Outside a running event loop
        (a script, a test) the search runs at once."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        text = change["new"]
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.search = text
            return
        self._status.value = (
            f"<div class='rw-status'>searching for {escape(repr(text))}\u2026</div>"
        )
        self._pending = loop.call_later(SEARCH_DELAY, lambda: setattr(self, "search", text))

    def _on_query(self, _change: Any) -> None:
        self._refresh()

    def _on_axis(self, _change: Any) -> None:
        self._hist = None  # first: resetting brush / picked below redraws with the new axis
        self.brush, self.picked = (), ()
        self._draw_histogram()

    def _draw_histogram(self) -> None:
        """Bars of every item under bars of the items that match everything but this chart's own
        selection (so a brush never hides the bars it was drawn over). Re-sent only when the
        counts change: sorting, paging or brushing leave the chart as it is."""
        if not self._want_chart or not self.axis:
            return
        if self._hist is None:
            self._hist = self._axis_histogram()
        matched = self._matched()
        key = (self.axis, tuple(matched or ()))
        if self._chart is not None and self._drawn == key:
            self._show_selection()
            return
        self._drawn = key
        bars = histogram_bars(self._hist, matched=matched)
        if self._chart is None:
            self._chart = HistogramView(bars=bars)
            self._chart.observe(self._on_brush, names="brush")
            self._chart.observe(self._on_pick, names="picked")
        else:
            self._chart.bars = bars  # new counts or axis: a few hundred bytes, not per item
        self._show_selection()

    def _show_selection(self) -> None:
        """The chart draws the brush and the picked bars set here (from code, or reset by a new
        axis) as it draws those a person made."""
        brush = [float(b) for b in self.brush]
        picked = [p if p != "" else NONE for p in self.picked]
        if self._chart.brush != brush:
            self._chart.brush = brush
        if self._chart.picked != picked:
            self._chart.picked = picked

    def _axis_histogram(self) -> ex.Histogram:
        """Bars of every item along ``axis``."""
        return ex.histogram(self.frame, self._column(self.axis))

    def _matched(self) -> list[int] | None:
        """Per bar, the items matching all but the chart's own selection (None: not counted)."""
        try:
            others = self._match(own_selection=False)
        except (ValueError, KeyError, TypeError):
            others = self._rows
        return self._hist.counts_among(others, len(self.frame)).tolist()

    def _on_brush(self, change: dict[str, Any]) -> None:
        # A drag over numeric bars (its range) or a click on one (its bin); [] clears.
        bounds = change["new"]
        self.brush = (float(bounds[0]), float(bounds[1])) if bounds else ()

    def _on_pick(self, change: dict[str, Any]) -> None:
        # The clicked category bars' labels; "(none)" is how the chart labels the empty one.
        self.picked = tuple("" if str(p) == NONE else str(p) for p in change["new"])

    def _column(self, name: str) -> Any:
        for c in self.frame.columns:
            if str(c) == name:
                return c
        return name

    def _toggle_code(self) -> None:
        """Show (or hide) the current selection as code, to paste into a script."""
        shown = self._code.layout.display != "none"
        self._code.layout.display = "none" if shown else ""
        self._code.value = "" if shown else self.to_code()

    def _turn(self, step: int) -> None:
        last = max(0, (len(self._rows) - 1) // self.page_size)
        self.page = min(max(0, self.page + step), last)

    # -- drawing -----------------------------------------------------------------------------
    def _shown(self) -> np.ndarray:
        start = self.page * self.page_size
        return self._rows[start : start + self.page_size]

    def _status_text(self) -> str:
        n, total = len(self._rows), len(self.frame)
        shown = self._shown()
        span = (
            f"{self.page * self.page_size + 1}-{self.page * self.page_size + len(shown)}"
            if len(shown)
            else "0"
        )
        return f"{n} of {total} items match; showing {span}"

    def _draw_grid(self) -> None:
        self._draw_status()
        self._grid.value = self._grid_html()
        if getattr(self, "_code", None) is not None and self._code.layout.display != "none":
            self._code.value = self.to_code()

    def _draw_status(self) -> None:
        err = (
            f"<div class='rw-error' style='color:{colour('fail')}'>{escape(self.error)}</div>"
            if self.error
            else ""
        )
        note = (
            f"<div style='color:{colour('muted')}'>{escape(self.note)}</div>" if self.note else ""
        )
        self._status.value = (
            f"{note}<div class='rw-status'>{escape(self._status_text())}</div>{err}"
        )

    def _static_text(self) -> str:
        query = ", ".join(
            f"{k}={v!r}"
            for k, v in (("search", self.search), ("filter", self.expr), ("sort", self.sort_by))
            if v
        )
        return f"{self.title}({self._status_text()}{'; ' + query if query else ''})"

    def _static_html(self) -> str:
        return (
            f"<div class='rw-explorer'><b>{escape(self.title)}</b>: {escape(self._status_text())}"
            f"{self._grid_html()}</div>"
        )

    def _grid_html(self) -> str:
        return grid_html(self.frame, self._shown(), images=self.images, reasons=self.reasons)


# -- a table read in place -------------------------------------------------------------------------
# The explorer over a table that need not fit in memory (any ``TableSource``): the same controls
# and traits as ``Explorer``; what changes is who answers. Each change becomes one ``Query``; the
# source counts the matches and sends back the page shown and the bars of the histogram, never
# the whole selection, so a hundred million rows cost what a thousand do in messages.
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
        background: bool | None = None,
        frame: pd.DataFrame | None = None,
        reasons: Mapping[str, str] | None = None,
    ) -> None:
        whole("page_size", page_size)  # before the source is asked for a first page
        """``frame``: the pandas frame ``source`` scans, when it is one (``rw.explore`` of a
        large frame): the human baseline and ``selected_frame`` then read it directly."""
        # Count and bin the matches in a thread (the page shows first; a newer change stops
        # the count it supersedes): None does so inside a running kernel, not in a script.
        self.background = background
        self._worker: threading.Thread | None = None
        self._token = object()  # the change being answered; a stale count is dropped
        self._complete: object = None  # the change whose count and bars are drawn
        self._paged: tuple[Any, pd.DataFrame] = (None, pd.DataFrame())
        self.source = source
        self.frame = frame  # type: ignore[assignment]  # None: the source answers alone
        self.images = None
        self.title = title
        self.note = source.how
        self.reasons = dict(reasons or {})
        self._pending: Any = None  # the scheduled search while a person is typing
        self._drawn: Any = None
        self._query = Query()
        self._count: int | None = source.n_rows
        self._page_frame = pd.DataFrame(columns=source.columns)
        self._hist: Histogram | None = None
        first = source.page(Query(), 0, page_size)  # the filter box's example, from real values
        axes = source.axes()
        self._make_controls(list(source.columns), axes, example_filter(first))
        self._build(axes, chart=chart, page_size=page_size)
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
    def _current_query(self) -> Query:
        """The traits as one query of our filter grammar for the source (bound parameters in
        SQL, a mask in pandas; never `DataFrame.query` or `eval`)."""
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

    def _in_background(self) -> bool:
        if self.background is not None:
            return self.background
        try:
            asyncio.get_running_loop()  # a kernel: keep it answering while DuckDB counts
        except RuntimeError:
            return False
        return True

    def _refresh(self) -> None:
        self._cancel()
        later = self._in_background()
        try:
            query = self._current_query()
            self._page_of(query, 0)  # the page first: it checks what was typed, too
            every = dataclasses.replace(query, sort_by="", descending=False) == Query()
            # Every row matches: the count is known (no thread), so what shows is settled.
            self._count = (
                self.source.n_rows if every else None if later else self.source.count(query)
            )
            self._query = query
            self.error = ""
        except (ValueError, KeyError, TypeError) as err:
            self.error = str(err)  # keep the last good selection on screen
        self.page = 0
        self._draw_grid()
        self._draw_histogram()
        if later and self._count is None:
            self._start_counting()

    def _cancel(self) -> None:
        """Drops the count of an earlier change, interrupting its query (``connection.interrupt``)."""
        self._token = object()
        worker, self._worker = self._worker, None
        while worker is not None and worker.is_alive():
            interrupt = getattr(self.source, "interrupt", None)
            if interrupt is not None:
                interrupt()
            worker.join(0.02)

    def _start_counting(self) -> None:
        token = self._token

        def work() -> None:
            try:
                # The matching bars first: their scan counts the matches too (when nothing
                # is brushed), so the count after it is remembered, not scanned again.
                self._draw_histogram()
                count = self.source.count(self._query)
                if token is not self._token:
                    return
                self._count = count
                self._draw_status()
                self._complete = token
                prefetch = getattr(self.source, "prefetch", None)
                if prefetch is not None and self._want_chart:
                    prefetch(stop=lambda: token is not self._token)
            except Exception as err:  # noqa: BLE001 - an interrupted query raises; said if current
                if token is self._token:
                    self.error = str(err)
                    self._draw_status()

        self._worker = threading.Thread(target=work, name="rw-explore-count", daemon=True)
        self._worker.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the count and the matching bars of the last change are in (drawn in a thread)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def _on_axis(self, change: Any) -> None:
        self._cancel()
        super()._on_axis(change)
        if self._in_background() and self._worker is None:
            self._start_counting()  # the new axis's matching bars

    def _page_of(self, query: Query, start: int) -> pd.DataFrame:
        key = (query, start, self.page_size)
        if self._paged[0] != key:
            self._paged = (key, self.source.page(query, start, self.page_size))
        return self._paged[1]

    @property
    def selection(self) -> np.ndarray:
        """Row ids (0..N-1) of the matches in the shown order, at most a million."""
        return self.source.row_ids(self._query, MAX_SELECTION)

    def selected_frame(self, limit: int = 10_000) -> pd.DataFrame:
        """The first ``limit`` matches as a pandas frame, indexed by row id (the frame's own
        rows and index when the explorer scans a pandas frame)."""
        if self.frame is not None:
            return self.frame.iloc[self.source.row_ids(self._query, limit)]
        return self.source.page(self._query, 0, limit)

    def rows_in_bar(self, bar: int, limit: int = 10_000) -> np.ndarray:
        """Row ids behind bar ``bar`` of the histogram shown, among the current matches."""
        hist = self._hist if self._hist is not None else self._axis_histogram()
        return self.source.bar_rows(hist, bar, self._query, limit)

    def subset(self, dataset: Any) -> Any:
        from torch.utils.data import Subset

        return Subset(dataset, [int(i) for i in self.selection])

    def show_group(self, name: str) -> None:
        if "group" not in self.source.columns:
            raise ValueError("no duplicate groups here: pass report=rw.audit(...) to rw.explore")
        super().show_group(name)

    def _axis_histogram(self) -> Histogram:
        self._hist = self.source.histogram(self.axis, Query())
        return self._hist

    def _matched(self) -> list[int] | None:
        """Per bar, the rows matching all but the chart's own brush / picked bars, binned as
        the faint bars of every row (the in-memory explorer's two layers). In the background,
        the worker counts them; until then the chart shows every row."""
        others = dataclasses.replace(
            self._query, ranges=(), picked=(), sort_by="", descending=False
        )
        if others == Query() or self._hist is None:
            return None if self._hist is None else list(self._hist.counts)
        if self._in_background() and threading.current_thread() is not self._worker:
            return None
        return [int(k) for k in self.source.bar_counts(self._hist, others)]

    def _draw_histogram(self) -> None:
        if threading.current_thread() is not self._worker and self._complete is self._token:
            return  # the worker already drew this change's bars, with the matching ones
        super()._draw_histogram()

    def _code_indices(self, name: str) -> str:
        return f"indices = {name}.selection  # row ids, in the shown order"

    def _column(self, name: str) -> Any:
        return name

    def _turn(self, step: int) -> None:
        if self._count is None:  # still counting: on while pages are full
            full = len(self._page_frame) == self.page_size
            self.page = max(0, self.page + (step if step < 0 or full else 0))
            return
        last = max(0, (self._count - 1) // self.page_size)
        self.page = min(max(0, self.page + step), last)

    # -- drawing -----------------------------------------------------------------------------
    def _status_text(self) -> str:
        start = self.page * self.page_size
        if self._count is None:
            shown = len(self._page_frame)
            span = f"{start + 1}-{start + shown}" if shown else "0"
            return f"counting the matches of {self.source.n_rows} items; showing {span}"
        shown = min(self.page_size, max(0, self._count - start))
        span = f"{start + 1}-{start + shown}" if shown else "0"
        return f"{self._count} of {self.source.n_rows} items match; showing {span}"

    def _grid_html(self) -> str:
        try:
            self._page_frame = self._page_of(self._query, self.page * self.page_size)
        except (ValueError, KeyError, TypeError) as err:
            self.error = str(err)
        return grid_html(self._page_frame, range(len(self._page_frame)), reasons=self.reasons)

    def human_baseline(self, n: int = 20, seed: int = 0) -> Any:
        if self.frame is not None:  # a pandas frame, scanned by DuckDB: it is in memory
            return super().human_baseline(n, seed)
        raise ValueError(
            "the human baseline needs the items in memory: rw.explore(table.sample(...).df(), "
            "labels='label') on a sample of the table"
        )


# From this many rows a pandas frame is explored by DuckDB scanning it in place (every query in
# its vectorised engine, the count in a thread) instead of pandas masks over the whole frame.
# Measured (2 loaded cores, benchmarks/explorer.py's 20-column frame, the same interactions):
# at 300,000 rows DuckDB's p95 was 115 ms against 155 ms in memory, its slowest text search
# 291 ms against 1,788 ms; at 1,000,000 rows 157-240 ms against 220 ms, 410-600 ms against
# 2,665 ms. Below this size both answer within a fraction of a second and memory keeps
# thumbnails; benchmarks/explorer_scale.py prints both side by side on its frame too.
LARGE_FRAME = 500_000


def _frame_in_duckdb(table: Any, reasons: dict[str, str], **options: Any) -> TableExplorer | None:
    """The explorer of a large frame, queried by DuckDB; None where DuckDB is not installed or
    cannot read a column (objects such as arrays in cells): the in-memory explorer then."""
    try:
        import duckdb
    except ImportError:
        return None
    from recipe_widgets.engine.explore import DuckSource

    try:
        source = DuckSource.open(table.frame)
    except (duckdb.Error, ValueError, TypeError):
        return None
    source.how = f"{table.note}; queried in place by DuckDB" if table.note else source.how
    explorer = TableExplorer(source, frame=table.frame, reasons=reasons, **options)
    explorer.label_column = table.label_column
    return explorer


def table_explorer(
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
    from recipe_widgets.engine.explore import table_source

    options = {k: v for k, v in (("con", con), ("memory_limit", memory_limit)) if v is not None}
    source = table_source(data, **options) if options else table_source(data)
    if labels is not None and (not isinstance(labels, str) or labels not in source.columns):
        raise ValueError(
            f"labels= names a column of the table ({', '.join(source.columns)}); got {labels!r}"
        )
    explorer = TableExplorer(source, title=title, page_size=page_size, chart=chart)
    explorer.label_column = labels
    return explorer


def explore(
    data: Any = None,
    labels: Any = None,
    *,
    axes: dict[str, Any] | None = None,
    report: Any = None,
    split: str | None = None,
    images: Any = None,
    page_size: int = 24,
    chart: bool = True,
    title: str = "Explorer",
    **table: Any,
) -> Explorer:
    """Browse a dataset: a DataFrame as it is, or arrays / tensors / a Dataset as one row per item.

    ``labels``: a label array (or, for a DataFrame, the label column's name) used by the human
    baseline. ``axes``: extra per-item numbers, ``{"brightness": lambda x: x.mean()}`` (each
    item comes as a numpy array). ``report``: an ``rw.audit`` report; its flags become a
    sortable, searchable ``flags`` column (with ``split=`` naming the split shown when the audit
    ran over several). ``rw.explore(report=report)`` shows the items the audit already read.

    A Parquet file / glob / folder, a CSV path, a DuckDB relation, a pyarrow Table or Dataset,
    or a polars DataFrame / LazyFrame is queried in place through DuckDB (``pip install
    recipe_widgets[data]``), never loaded whole: ``con=`` names the connection a relation was
    made on, ``memory_limit="1GB"`` caps DuckDB's memory (it spills to disk past it).
    """
    from recipe_widgets.engine.explore import explore_table, is_table

    whole("page_size", page_size)
    if is_table(data):  # Parquet, CSV, DuckDB, Arrow, Polars, or a TableSource: queried in place
        if axes or report is not None or images is not None or split is not None:
            raise ValueError(
                "axes=, report=, split= and images= go with data in memory; a table is explored "
                "as its columns are"
            )
        return table_explorer(data, labels, page_size=page_size, chart=chart, title=title, **table)
    if table:
        raise TypeError(f"unexpected arguments {sorted(table)}: they go with a table read in place")
    not_text(
        "data",
        data,
        "arrays, tensors, a Dataset, a DataFrame, or the path of a Parquet / CSV file that exists",
    )
    table = explore_table(data, labels, axes=axes, report=report, split=split, images=images)
    if len(table.frame) == 0 or len(table.frame.columns) == 0:
        raise ValueError(
            f"data= is empty ({len(table.frame)} rows, {len(table.frame.columns)} columns):"
            " nothing to explore"
        )
    # check id -> its finding's message: what a flag or group tag says on hover
    reasons = {f.check: f.message for f in getattr(report, "findings", ())} if report else {}
    if table.images is None and len(table.frame) >= LARGE_FRAME:
        scanned = _frame_in_duckdb(table, reasons, title=title, page_size=page_size, chart=chart)
        if scanned is not None:
            return scanned
    explorer = Explorer(
        table.frame,
        images=table.images,
        title=title,
        note=table.note,
        page_size=page_size,
        chart=chart,
        reasons=reasons,
    )
    explorer.label_column = table.label_column
    return explorer
