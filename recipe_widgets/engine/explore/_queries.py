"""The explorer's questions, answered on a per-item table: search, ranges, sort, histograms.

Pure pandas/numpy over a DataFrame whose rows are items. The widget only sets the arguments; it
never filters anything itself. Text typed by a person reaches :func:`search_mask` (a substring or
a compiled regex) and the filter grammar in ``_filter_expr``: never ``eval`` or ``query``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recipe_widgets.engine.explore._regex import search_each

MAX_PATTERN = 500  # a longer "search" is a paste accident, and costs regex time on every row


def _is_text(dtype: Any) -> bool:
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _is_number(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def text_columns(frame: pd.DataFrame) -> list[str]:
    """Columns a search looks in: strings, objects and categories (not numbers or dates)."""
    # By position: a duplicated column name would make frame[name] a DataFrame.
    return list(dict.fromkeys(c for c, d in zip(frame.columns, frame.dtypes) if _is_text(d)))


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(c for c, d in zip(frame.columns, frame.dtypes) if _is_number(d)))


class ColumnCache:
    """Per-column work that does not change between queries on one frame, done once.

    A text column is factorized (its distinct values, and each row's code), so a search runs
    the pattern once per distinct value instead of once per row; a sort key (numbers, or the
    rank of each row's shown text) is computed on the first sort by that column. The frame is
    read as it is when a column is first used: an explorer owns its frame and does not expect
    it to change under it.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._codes: dict[Any, tuple[np.ndarray, list[str]]] = {}
        self._keys: dict[Any, np.ndarray] = {}
        self._perms: dict[tuple[Any, bool], np.ndarray] = {}

    def column(self, col: Any) -> list[pd.Series]:
        values = self.frame[col]
        if isinstance(values, pd.DataFrame):  # duplicate column names: each of them
            return [sub for _, sub in values.items()]
        return [values]

    def text(self, col: Any, which: int = 0) -> tuple[np.ndarray, list[str]]:
        """Codes per row (-1 missing) and each distinct value as shown (``str``)."""
        key = (col, which)
        if key not in self._codes:
            codes, uniques = pd.factorize(self.column(col)[which], use_na_sentinel=True)
            self._codes[key] = (codes, _shown(uniques))
        return self._codes[key]

    def sort_key(self, col: Any) -> np.ndarray:
        """A float per row that sorts like the column (NaN for missing): numbers as they are,
        categories in category order, anything else by its value, or as shown when the values
        cannot be compared (numbers mixed with strings)."""
        if col not in self._keys:
            self._keys[col] = _sort_key(self.column(col)[0])
        return self._keys[col]

    def permutation(self, col: Any, ascending: bool) -> np.ndarray:
        """Every row's position sorted by ``col`` (stable, NaN last): a sort of any selection
        is then one pass picking the selected rows out of it."""
        key = (col, ascending)
        if key not in self._perms:
            k = self.sort_key(col)
            values = self.column(col)[0].dtype
            whole = pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values)
            span = (
                float(np.nanmax(k) - np.nanmin(k)) + 1
                if whole and len(k) and not np.isnan(k).all()
                else 0.0
            )
            if whole and span * (len(k) + 1) < 2**62:  # whole numbers: their offsets are ranks
                self._perms[key] = _rank_order(k - np.nanmin(k), ascending)
            elif _is_number(values) or pd.api.types.is_bool_dtype(values):
                self._perms[key] = _number_order(k if ascending else -k)
            else:  # ranks (text, categories, dates): small integers, so a faster exact sort
                self._perms[key] = _rank_order(k, ascending)
        return self._perms[key]


def _number_order(key: np.ndarray) -> np.ndarray:
    """Stable order of a float key, NaN last in item order. Quicksort first (twice as fast on a
    million rows); only when equal values exist does a stable sort redo it."""
    missing = np.isnan(key)
    present = np.flatnonzero(~missing)
    values = key[present]
    order = np.argsort(values)
    ranked = values[order]
    if ranked.size > 1 and bool(np.any(ranked[1:] == ranked[:-1])):
        order = np.argsort(values, kind="stable")
    return np.concatenate([present[order], np.flatnonzero(missing)])


def _rank_order(ranks: np.ndarray, ascending: bool) -> np.ndarray:
    """Positions sorted by integer ranks (NaN last), ties in item order: each rank is made
    unique by the row's position, so numpy's quicksort (much faster than a stable sort on a
    million rows) gives the stable order."""
    n = len(ranks)
    missing = np.isnan(ranks)
    top = int(np.nanmax(ranks)) + 1 if n and not missing.all() else 0
    r = np.where(
        missing, top, ranks if ascending else top - 1 - np.where(missing, 0, ranks)
    ).astype(np.int64)
    return np.argsort(r * n + np.arange(n, dtype=np.int64))


def _shown(uniques: Any) -> list[str]:
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        return list(np.asarray(uniques, dtype=object))  # already text: no str() per value
    return [str(u) for u in uniques]


def _sort_key(values: pd.Series) -> np.ndarray:
    if _is_number(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or pd.api.types.is_timedelta64_dtype(
        values.dtype
    ):
        missing = values.isna().to_numpy()
        # Instants as integers whatever the zone, ranked: nanoseconds since 1970 do not fit a float.
        key = np.unique(np.asarray(values.array.asi8), return_inverse=True)[1].astype(float)
        key[missing] = np.nan
        return key
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(float)
        codes[codes < 0] = np.nan
        return codes
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":  # numpy's own string sort: fast
        order = np.argsort(
            np.asarray(uniques, dtype=str), kind="stable"
        )  # distinct values: no ties
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(len(order))
    else:
        try:
            ranks = np.argsort(
                np.argsort(np.asarray(uniques, dtype=object), kind="stable"), kind="stable"
            )
        except TypeError:  # mixed types: sort as shown
            _, ranks = np.unique(
                np.asarray([str(u) for u in uniques], dtype=str), return_inverse=True
            )
    key = np.asarray(ranks, dtype=float)[codes] if len(uniques) else np.zeros(len(codes))
    key[codes < 0] = np.nan
    return key


def search_mask(
    frame: pd.DataFrame,
    text: str,
    *,
    regex: bool = False,
    columns: Sequence[str] | None = None,
    cache: ColumnCache | None = None,
) -> np.ndarray:
    """Rows where any text column contains ``text`` (case-insensitive), or matches it as a regex.

    An empty search keeps every row. A bad regex raises ``ValueError`` naming the problem.
    Values are searched as shown (``str``); a missing value as the empty string.
    """
    n = len(frame)
    if not text:
        return np.ones(n, dtype=bool)
    if len(text) > MAX_PATTERN:
        raise ValueError(
            f"search text is {len(text)} characters; at most {MAX_PATTERN} are searched"
        )
    if regex:
        try:
            pattern = re.compile(text, re.IGNORECASE)
        except re.error as err:
            raise ValueError(f"not a valid regular expression: {err}") from None
    else:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
    cache = cache if cache is not None and cache.frame is frame else ColumnCache(frame)
    mask = np.zeros(n, dtype=bool)
    for col in columns if columns is not None else text_columns(frame):
        for which in range(len(cache.column(col))):
            codes, shown = cache.text(col, which)
            # One search per distinct value; the last slot answers for missing values (code -1).
            hit = search_each(pattern.pattern, [*shown, ""])  # RE2, or re with a time limit
            mask |= hit[codes]
    return mask


def range_mask(frame: pd.DataFrame, ranges: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """Rows whose value in each named numeric column lies in ``[lo, hi]`` (NaN never does)."""
    mask = np.ones(len(frame), dtype=bool)
    for col, (lo, hi) in ranges.items():
        if col not in frame.columns:
            raise KeyError(
                f"no column {col!r} to filter on; columns: {', '.join(map(str, frame.columns))}"
            )
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            mask &= (values >= lo) & (values <= hi)
    return mask


def order(
    frame: pd.DataFrame,
    rows: np.ndarray,
    by: str | None,
    ascending: bool = True,
    cache: ColumnCache | None = None,
) -> np.ndarray:
    """``rows`` (positions) sorted by column ``by``; NaN last either way; ties keep item order."""
    rows = np.asarray(rows, dtype=np.int64)
    if not by:
        return rows
    if by not in frame.columns:
        raise KeyError(
            f"no column {by!r} to sort by; columns: {', '.join(map(str, frame.columns))}"
        )
    cache = cache if cache is not None and cache.frame is frame else ColumnCache(frame)
    if len(rows) > 1 and bool(
        np.all(np.diff(rows) > 0)
    ):  # a selection in item order (the explorer's)
        perm = cache.permutation(by, ascending)
        if len(rows) == len(frame):
            return perm.copy()
        chosen = np.zeros(len(frame), dtype=bool)
        chosen[rows] = True
        return perm[chosen[perm]]
    key = cache.sort_key(by)[rows]
    # numpy sorts NaN last; negating keeps NaN last for the descending order too.
    return rows[np.argsort(key if ascending else -key, kind="stable")]


@dataclass(frozen=True)
class Histogram:
    """Bars of one column: numeric bins (``edges``) or category counts (``categories``).

    The items behind every bar are kept as one array (``bar_of``: the bar of each counted row),
    so a million rows cost one pass, not a million Python ints; :meth:`rows` answers per bar.
    """

    column: str
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    missing: int = 0  # NaN / None, not in any bar
    positions: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False, compare=False
    )
    bar_of: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False, compare=False
    )

    @property
    def numeric(self) -> bool:
        return bool(self.edges)

    def rows(self, bar: int) -> np.ndarray:
        """Positions of the items behind bar ``bar``, in item order."""
        if not 0 <= bar < len(self.counts):
            raise IndexError(f"bar {bar} of {len(self.counts)}")
        return self.positions[self.bar_of == bar]

    def counts_among(self, rows: np.ndarray, n_items: int) -> np.ndarray:
        """Per bar (built over every item), how many of ``rows`` (positions) fall in it."""
        chosen = np.zeros(n_items, dtype=bool)
        chosen[np.asarray(rows, dtype=np.int64)] = True
        hit = chosen[self.positions] & (self.bar_of >= 0)  # -1: a category past the bars shown
        return np.bincount(self.bar_of[hit], minlength=len(self.counts))

    @property
    def rows_per_bar(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(int(r) for r in self.rows(b)) for b in range(len(self.counts)))

    def to_frame(self) -> pd.DataFrame:
        if self.numeric:
            return pd.DataFrame(
                {"start": self.edges[:-1], "end": self.edges[1:], "count": self.counts}
            )
        return pd.DataFrame({"category": self.categories, "count": self.counts})


def histogram(
    frame: pd.DataFrame, column: str, rows: np.ndarray | None = None, bins: int = 30
) -> Histogram:
    """Bars for ``column`` over ``rows`` (all by default), with the items behind every bar."""
    if column not in frame.columns:
        raise KeyError(f"no column {column!r}; columns: {', '.join(map(str, frame.columns))}")
    rows = np.arange(len(frame)) if rows is None else np.asarray(rows, dtype=np.int64)
    series = frame[column]
    if isinstance(series, pd.DataFrame):
        series = series.iloc[:, 0]
    series = series.iloc[rows] if len(rows) != len(frame) else series
    if _is_number(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(values)
        missing = int((~finite).sum())
        v = values[finite]
        if v.size == 0:
            return Histogram(column, (), missing=missing)  # all missing: no bars
        lo, hi = float(v.min()), float(v.max())
        if lo == hi:  # zero spread: one bar, not a division by zero
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        which = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, bins - 1)
        return Histogram(
            column,
            tuple(int(c) for c in np.bincount(which, minlength=bins)),
            edges=tuple(float(e) for e in edges),
            missing=missing,
            positions=rows[finite],
            bar_of=which,
        )
    # Categories, bools, dates, mixed objects: bars labelled as the values are shown (str).
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = np.asarray([str(u) for u in uniques], dtype=object)
    merged: dict[str, int] = {}  # two values shown alike (1 and "1") share a bar
    remap = np.asarray([merged.setdefault(lab, len(merged)) for lab in labels], dtype=np.int64)
    present = codes >= 0
    bar = remap[codes[present]] if len(remap) else np.zeros(0, dtype=np.int64)
    counts = np.bincount(bar, minlength=len(merged))
    names = list(merged)
    keep = sorted(range(len(names)), key=lambda k: (-counts[k], names[k]))[:bins]
    new_bar = np.full(len(names), -1, dtype=np.int64)
    new_bar[keep] = np.arange(len(keep))
    return Histogram(
        column,
        tuple(int(counts[k]) for k in keep),
        categories=tuple(names[k] for k in keep),
        missing=int((~present).sum()),
        positions=rows[present],
        bar_of=new_bar[bar],
    )


@dataclass(frozen=True)
class HumanBaseline:
    """A person's labels for some items against the ground truth: the recipe's human baseline."""

    items: tuple[int, ...]
    truth: tuple[str, ...]
    guesses: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        if not self.guesses:
            return float("nan")
        return sum(t == g for t, g in zip(self.truth, self.guesses)) / len(self.guesses)

    @property
    def stderr(self) -> float:
        """Binomial standard error of the accuracy: how much to trust it with so few items."""
        n = len(self.guesses)
        if n == 0:
            return float("nan")
        p = self.accuracy
        return float(np.sqrt(p * (1 - p) / n))

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Wilson score interval (95% by default): unlike accuracy ± stderr it stays honest at 0% and
        100%, where a handful of items say much less than a zero standard error would suggest."""
        n = len(self.guesses)
        if n == 0:
            return (float("nan"), float("nan"))
        p = self.accuracy
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))

    def confusion(self) -> pd.DataFrame:
        """Counts of (true label, person's label); rows true, columns guessed."""
        labels = sorted(set(self.truth[: len(self.guesses)]) | set(self.guesses))
        table = pd.DataFrame(
            0, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="guessed")
        )
        for t, g in zip(self.truth, self.guesses):
            table.loc[t, g] += 1
        return table

    def mistakes(self) -> list[tuple[int, str, str]]:
        """(item, true label, guessed label) for every wrong guess: look at these items."""
        return [(i, t, g) for i, t, g in zip(self.items, self.truth, self.guesses) if t != g]

    def summary(self) -> str:
        n = len(self.guesses)
        if n == 0:
            return "Human baseline: no items labelled yet"
        low, high = self.interval()
        return (
            f"Human baseline: {self.accuracy:.1%} (95% interval {low:.0%}-{high:.0%}) on {n} items "
            f"({len(self.mistakes())} mistakes)"
        )


def sample_items(n_items: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` distinct item positions, reproducibly random (a fixed sample for the human baseline)."""
    if n_items <= 0:
        raise ValueError("there are no items to label")
    n = min(int(n), n_items)
    return np.random.default_rng(seed).choice(n_items, size=n, replace=False)
