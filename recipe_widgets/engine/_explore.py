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


def search_mask(
    frame: pd.DataFrame, text: str, *, regex: bool = False, columns: Sequence[str] | None = None
) -> np.ndarray:
    """Rows where any text column contains ``text`` (case-insensitive), or matches it as a regex.

    An empty search keeps every row. A bad regex raises ``ValueError`` naming the problem.
    """
    n = len(frame)
    if not text:
        return np.ones(n, dtype=bool)
    if len(text) > MAX_PATTERN:
        raise ValueError(f"search text is {len(text)} characters; at most {MAX_PATTERN} are searched")
    if regex:
        try:
            pattern = re.compile(text, re.IGNORECASE)
        except re.error as err:
            raise ValueError(f"not a valid regular expression: {err}") from None
    else:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
    mask = np.zeros(n, dtype=bool)
    for col in columns if columns is not None else text_columns(frame):
        values = frame[col]
        if isinstance(values, pd.DataFrame):  # duplicate column names: search each
            for _, sub in values.items():
                mask |= _column_matches(sub, pattern)
        else:
            mask |= _column_matches(values, pattern)
    return mask


def _column_matches(values: pd.Series, pattern: re.Pattern[str]) -> np.ndarray:
    # str() of each cell: mixed-type object columns (numbers, None, bytes) are searched as shown.
    strings = values.astype(object).where(values.notna(), "")
    return np.fromiter((bool(pattern.search(str(v))) for v in strings), dtype=bool, count=len(values))


def range_mask(frame: pd.DataFrame, ranges: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """Rows whose value in each named numeric column lies in ``[lo, hi]`` (NaN never does)."""
    mask = np.ones(len(frame), dtype=bool)
    for col, (lo, hi) in ranges.items():
        if col not in frame.columns:
            raise KeyError(f"no column {col!r} to filter on; columns: {', '.join(map(str, frame.columns))}")
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            mask &= (values >= lo) & (values <= hi)
    return mask


def category_mask(frame: pd.DataFrame, allowed: Mapping[str, Sequence[Any]]) -> np.ndarray:
    """Rows whose value in each named column is one of the allowed values."""
    mask = np.ones(len(frame), dtype=bool)
    for col, values in allowed.items():
        mask &= frame[col].isin(list(values)).to_numpy()
    return mask


def order(frame: pd.DataFrame, rows: np.ndarray, by: str | None, ascending: bool = True) -> np.ndarray:
    """``rows`` (positions) sorted by column ``by``; NaN last either way; ties keep item order."""
    if not by:
        return rows
    if by not in frame.columns:
        raise KeyError(f"no column {by!r} to sort by; columns: {', '.join(map(str, frame.columns))}")
    values = frame[by].iloc[rows]
    if isinstance(values, pd.DataFrame):
        values = values.iloc[:, 0]
    try:
        key = values.sort_values(ascending=ascending, na_position="last", kind="stable")
    except TypeError:  # mixed types (numbers and strings): sort as shown
        key = values.astype(str).sort_values(ascending=ascending, kind="stable")
    positions = pd.Series(rows, index=values.index)
    return positions.loc[key.index].to_numpy()


@dataclass(frozen=True)
class Histogram:
    """Bars of one column: numeric bins (``edges``) or category counts (``categories``)."""

    column: str
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    missing: int = 0  # NaN / None, not in any bar
    rows_per_bar: tuple[tuple[int, ...], ...] = field(default=(), repr=False)

    @property
    def numeric(self) -> bool:
        return bool(self.edges)

    def to_frame(self) -> pd.DataFrame:
        if self.numeric:
            return pd.DataFrame(
                {"start": self.edges[:-1], "end": self.edges[1:], "count": self.counts}
            )
        return pd.DataFrame({"category": self.categories, "count": self.counts})


def histogram(frame: pd.DataFrame, column: str, rows: np.ndarray | None = None, bins: int = 30) -> Histogram:
    """Bars for ``column`` over ``rows`` (all by default), with the items behind every bar."""
    if column not in frame.columns:
        raise KeyError(f"no column {column!r}; columns: {', '.join(map(str, frame.columns))}")
    rows = np.arange(len(frame)) if rows is None else np.asarray(rows)
    series = frame[column].iloc[rows]
    if isinstance(series, pd.DataFrame):
        series = series.iloc[:, 0]
    if _is_number(series.dtype):
        values = series.to_numpy(dtype=float)
        finite = np.isfinite(values)
        missing = int((~finite).sum())
        v = values[finite]
        if v.size == 0:
            return Histogram(column, (), missing=missing)  # all missing: no bars
        lo, hi = float(v.min()), float(v.max())
        if lo == hi:  # zero spread: one bar, not a division by zero
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
        groups = tuple(tuple(int(r) for r in rows[finite & (which == b)]) for b in range(bins))
        return Histogram(
            column,
            tuple(len(g) for g in groups),
            edges=tuple(float(e) for e in edges),
            missing=missing,
            rows_per_bar=groups,
        )
    labels = series.astype(object).where(series.notna(), None)
    missing = int(labels.isna().sum())
    cats: dict[str, list[int]] = {}
    for r, value in zip(rows, labels):
        if value is not None:
            cats.setdefault(str(value), []).append(int(r))
    names = sorted(cats, key=lambda k: (-len(cats[k]), k))[:bins]
    return Histogram(
        column,
        tuple(len(cats[k]) for k in names),
        categories=tuple(names),
        missing=missing,
        rows_per_bar=tuple(tuple(cats[k]) for k in names),
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
        table = pd.DataFrame(0, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="guessed"))
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
