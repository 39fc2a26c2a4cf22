"""Regexes typed into the in-memory explorer: RE2 when installed, a time limit otherwise."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from recipe_widgets.engine.explore._filter_expr import filter_mask
from recipe_widgets.engine.explore._queries import search_mask
from recipe_widgets.engine.explore._regex import search_each

RUNAWAY = "(a+)+$"  # exponential in a backtracking engine on 'aaa…ab'


def test_a_runaway_pattern_is_linear_on_re2() -> None:
    pytest.importorskip("re2")
    # On Python's re this would take about 2**40 steps per value: it returns only on RE2.
    values = ["a" * 40 + "b", "aaa", ""]
    assert search_each(RUNAWAY, values).tolist() == [False, True, False]
    frame = pd.DataFrame({"s": values})
    assert np.flatnonzero(filter_mask(frame, f"s matches '{RUNAWAY}'")).tolist() == [1]
    assert np.flatnonzero(search_mask(frame, RUNAWAY, regex=True)).tolist() == [1]


def test_without_re2_a_search_past_its_time_limit_stops_with_a_reason(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "re2", None)  # as if google-re2 were not installed
    values = [f"item {i}" for i in range(1000)]
    with pytest.raises(ValueError, match=r"ran past 0 s after 256 of 1000 values"):
        search_each("item", values, time_limit=0.0)
    assert search_each("ITEM 99", values, time_limit=60).sum() == 11  # 99, 990-999


def test_patterns_re2_cannot_run_fall_back_to_python() -> None:
    # A lookbehind is not RE2 syntax; Python's re runs it (with the time limit).
    assert search_each("(?<=a)b", ["ab", "cb", "AB"]).tolist() == [True, False, True]
    with pytest.raises(Exception, match="missing"):
        search_each("(", ["x"])
