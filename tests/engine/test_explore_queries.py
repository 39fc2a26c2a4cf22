"""The explorer's engine: search, ranges, sort and histograms on awkward frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recipe_widgets.engine.explore import _queries as ex


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["cat", "Catalog", None, "dog", "<b>x</b>"],
            "score": [0.5, np.nan, 2.0, -1.0, 3.0],
            "kind": pd.Categorical(["a", "b", "a", "c", "a"]),
            "flag": [True, False, True, False, True],
            "mixed": [1, "two", 3.0, None, b"bytes"],
        }
    )


def test_search_is_case_insensitive_over_text_columns(frame: pd.DataFrame) -> None:
    assert ex.search_mask(frame, "cat").tolist() == [True, True, False, False, False]
    assert ex.search_mask(frame, "two").tolist() == [
        False,
        True,
        False,
        False,
        False,
    ]  # mixed column
    assert ex.search_mask(frame, "").all()


def test_search_treats_text_literally_unless_regex(frame: pd.DataFrame) -> None:
    assert ex.search_mask(frame, "c.t").sum() == 0
    assert ex.search_mask(frame, "^c.t", regex=True).tolist() == [True, True, False, False, False]
    with pytest.raises(ValueError, match="not a valid regular expression"):
        ex.search_mask(frame, "([", regex=True)
    with pytest.raises(ValueError, match="at most"):
        ex.search_mask(frame, "x" * 10_000)


def test_search_with_duplicate_column_names() -> None:
    f = pd.DataFrame([["a", "zz"], ["b", "c"]], columns=["t", "t"])
    assert ex.search_mask(f, "zz").tolist() == [True, False]


def test_range_mask_excludes_nan_and_names_unknown_columns(frame: pd.DataFrame) -> None:
    assert ex.range_mask(frame, {"score": (0.0, 2.0)}).tolist() == [True, False, True, False, False]
    with pytest.raises(KeyError, match="no column 'nope'"):
        ex.range_mask(frame, {"nope": (0, 1)})


def test_order_puts_nan_last_and_is_stable(frame: pd.DataFrame) -> None:
    rows = np.arange(len(frame))
    assert ex.order(frame, rows, "score").tolist() == [3, 0, 2, 4, 1]
    assert ex.order(frame, rows, "score", ascending=False).tolist() == [4, 2, 0, 3, 1]
    assert ex.order(frame, rows, "kind").tolist() == [0, 2, 4, 1, 3]
    assert ex.order(frame, rows, "mixed").tolist()  # mixed types sort as text, no TypeError
    assert ex.order(frame, np.array([4, 0]), "score").tolist() == [0, 4]
    assert ex.order(frame, rows, None).tolist() == rows.tolist()


def test_numeric_histogram_keeps_the_items_behind_each_bar() -> None:
    f = pd.DataFrame({"v": [0.0, 0.1, 0.9, 1.0, np.nan, np.inf]})
    h = ex.histogram(f, "v", bins=2)
    assert h.numeric and h.edges == (0.0, 0.5, 1.0)
    assert h.counts == (2, 2) and h.missing == 2
    assert h.rows_per_bar == ((0, 1), (2, 3))
    assert h.to_frame()["count"].tolist() == [2, 2]


def test_zero_spread_and_all_missing_columns_do_not_divide_by_zero() -> None:
    f = pd.DataFrame({"c": [3.0, 3.0, 3.0], "n": [np.nan] * 3})
    h = ex.histogram(f, "c", bins=4)
    assert sum(h.counts) == 3 and h.edges[0] < 3.0 < h.edges[-1]
    empty = ex.histogram(f, "n")
    assert empty.counts == () and empty.missing == 3


def test_categorical_histogram_is_sorted_by_count(frame: pd.DataFrame) -> None:
    h = ex.histogram(frame, "kind")
    assert not h.numeric
    assert h.categories == ("a", "b", "c") and h.counts == (3, 1, 1)
    assert h.rows_per_bar[0] == (0, 2, 4)
    assert ex.histogram(frame, "flag").categories == ("True", "False")


def test_column_kinds(frame: pd.DataFrame) -> None:
    assert ex.text_columns(frame) == ["name", "kind", "mixed"]
    assert ex.numeric_columns(frame) == ["score"]


def test_sorts_follow_each_kind_of_column_and_agree_with_pandas() -> None:
    rng = np.random.default_rng(0)
    n = 300
    f = pd.DataFrame(
        {
            "x": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 20, n).astype(float)),
            "word": rng.choice(["pear", "apple", "fig", None], n),
            "size": pd.Categorical(
                rng.choice(["small", "large", "medium"], n), categories=["small", "medium", "large"]
            ),
            "when": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 50, n), unit="D"),
            "ok": rng.random(n) < 0.5,
            "k": rng.integers(-5, 5, n),
            "ni": pd.array(
                np.where(rng.random(n) < 0.1, None, rng.integers(0, 4, n)), dtype="Int64"
            ),
            "u": rng.normal(size=n),  # distinct floats: the quicksort path
        }
    )
    rows = np.flatnonzero(rng.random(n) < 0.6)  # a selection, in item order
    cache = ex.ColumnCache(f)
    for col in f.columns:
        for asc in (True, False):
            want = (
                f.iloc[rows][col]
                .sort_values(ascending=asc, na_position="last", kind="stable")
                .index.to_numpy()
            )
            assert ex.order(f, rows, col, asc, cache=cache).tolist() == want.tolist(), (col, asc)
            assert (
                ex.order(f, rows[::-1], col, asc).tolist()
                == f.iloc[rows[::-1]][col]
                .sort_values(ascending=asc, na_position="last", kind="stable")
                .index.tolist()
            ), (col, asc)


def test_mixed_values_sort_as_shown_and_missing_values_search_as_empty(frame: pd.DataFrame) -> None:
    rows = np.arange(len(frame))
    assert ex.order(frame, rows, "mixed").tolist() == [
        0,
        2,
        4,
        1,
        3,
    ]  # "1", "3.0", "b'bytes'", "two"; None last
    assert ex.search_mask(frame, "^$", regex=True, columns=["name", "mixed"]).tolist() == [
        False,
        False,
        True,
        True,
        False,
    ]


def test_the_items_behind_a_bar_of_a_million_rows() -> None:
    n = 1_000_000
    f = pd.DataFrame({"v": np.arange(n) % 10, "t": np.where(np.arange(n) % 4 == 0, "a", "b")})
    h = ex.histogram(f, "v", bins=10)
    assert h.counts == (n // 10,) * 10
    assert h.rows(3)[:3].tolist() == [3, 13, 23] and len(h.rows(3)) == n // 10
    t = ex.histogram(f, "t")
    assert t.categories == ("b", "a") and t.rows(1)[:2].tolist() == [0, 4]
    with pytest.raises(IndexError):
        h.rows(10)
