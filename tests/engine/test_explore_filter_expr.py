"""The explorer's filter language: what it selects, and that no text can run code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recipe_widgets.engine.explore import FilterSyntaxError, filter_mask


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "brightness": [0.1, 0.6, 0.9, np.nan],
            "label": [1, 2, 3, 3],
            "name": ["cat", "Dog", "<img src=x>", None],
            "pixel mean": [1.0, 2.0, 3.0, 4.0],
        }
    )


@pytest.mark.parametrize(
    ("expr", "rows"),
    [
        ("brightness > 0.5", [1, 2]),
        ("label == 3", [2, 3]),
        ("label in (1, 2)", [0, 1]),
        ("not label in (1, 2)", [2, 3]),
        ("brightness > 0.5 and label == 3", [2]),
        ("label == 1 or (label == 3 and brightness <= 1)", [0, 2]),
        ("name contains 'do'", [1]),
        ("name matches '^<img'", [2]),
        ("brightness == null", [3]),
        ("`pixel mean` >= 3", [2, 3]),
        ("", [0, 1, 2, 3]),
        ("label != 3 AND NOT name == 'cat'", [1]),
    ],
)
def test_selects(frame: pd.DataFrame, expr: str, rows: list[int]) -> None:
    assert np.flatnonzero(filter_mask(frame, expr)).tolist() == rows


@pytest.mark.parametrize(
    ("expr", "pos"),
    [
        ("label ==", 8),
        ("label == 3 and", 14),
        ("(label == 3", 11),
        ("label = 3", 6),
        ("label == 3 label", 11),
        ("label ~ 3", 6),
    ],
)
def test_syntax_errors_name_the_position(frame: pd.DataFrame, expr: str, pos: int) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        filter_mask(frame, expr)
    assert info.value.position == pos
    assert f"position {pos}" in str(info.value)


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('touch /tmp/rw_pwned')",
        "label.__class__.__mro__[1].__subclasses__()",
        "label == __import__('os').system('x')",
        "brightness > 0 and label.__globals__",
        "@label > 0",
        "label == 1; import os",
        "label == [].__class__",
    ],
)
def test_hostile_text_is_a_syntax_error_and_runs_nothing(
    frame: pd.DataFrame, hostile: str, tmp_path
) -> None:
    before = frame.copy()
    with pytest.raises(ValueError):
        filter_mask(frame, hostile)
    pd.testing.assert_frame_equal(frame, before)
    import os

    assert not os.path.exists("/tmp/rw_pwned")


def test_unknown_column_and_bad_comparison_are_clear(frame: pd.DataFrame) -> None:
    with pytest.raises(FilterSyntaxError, match="no column 'size'"):
        filter_mask(frame, "size > 1")
    with pytest.raises(FilterSyntaxError, match="cannot compare column 'name'"):
        filter_mask(frame, "name > 3")
    with pytest.raises(FilterSyntaxError, match="bad regular expression"):
        filter_mask(frame, "name matches '('")


def test_duplicate_column_names_are_refused() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(FilterSyntaxError, match="not unique"):
        filter_mask(frame, "a > 0")
