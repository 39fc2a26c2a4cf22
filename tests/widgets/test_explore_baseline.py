"""The human baseline: hidden labels, a fixed sample, accuracy with its error, the confusion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recipe_widgets.engine.explore import HumanBaseline
from recipe_widgets.widgets._explore_baseline import HumanBaselineWidget


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"label": np.arange(30) % 3, "size": np.arange(30.0)})


def test_labelling_scores_against_the_truth(frame: pd.DataFrame) -> None:
    w = HumanBaselineWidget(frame, "label", n=6, show=("size",))
    assert (
        ">label<" not in w._item.value and ">size<" in w._item.value
    )  # the answer column is hidden
    truth = list(w.truth)
    guesses = truth[:4] + ["0" if truth[4] != "0" else "1", truth[5]]
    for g in guesses:
        w.answer(g)
    assert w.done and w.position == 6
    res = w.result
    assert res.accuracy == pytest.approx(5 / 6)
    assert res.stderr == pytest.approx(np.sqrt(5 / 6 * 1 / 6 / 6))
    assert res.mistakes() == [(int(w.items[4]), truth[4], guesses[4])]
    assert int(res.confusion().to_numpy().sum()) == 6
    low, high = res.interval()
    assert (low, high) == (
        pytest.approx(0.4365, abs=1e-4),
        pytest.approx(0.9699, abs=1e-4),
    )  # Wilson, by hand
    assert repr(w) == "Human baseline: 83.3% (95% interval 44%-97%) on 6 items (1 mistakes)"
    assert all(b.disabled for b in w._buttons)
    w.answer("0")  # extra clicks after the end change nothing
    assert len(w.guesses) == 6


def test_the_sample_is_fixed_by_the_seed(frame: pd.DataFrame) -> None:
    a = HumanBaselineWidget(frame, "label", n=5, seed=1).items
    b = HumanBaselineWidget(frame, "label", n=5, seed=1).items
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 5


def test_bad_use_is_refused_clearly(frame: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match="no label column 'y'"):
        HumanBaselineWidget(frame, "y")
    with pytest.raises(ValueError, match="cannot be shown"):
        HumanBaselineWidget(frame, "label", show=("label",))
    w = HumanBaselineWidget(frame, "label", n=2)
    with pytest.raises(ValueError, match="not one of the labels"):
        w.answer("7")
    with pytest.raises(ValueError, match="no items"):
        HumanBaselineWidget(frame.iloc[:0], "label")


def test_empty_result_is_nan_not_a_crash() -> None:
    res = HumanBaseline((), (), ())
    assert np.isnan(res.accuracy) and res.summary() == "Human baseline: no items labelled yet"


def test_a_perfect_score_on_few_items_still_admits_doubt() -> None:
    res = HumanBaseline(items=tuple(range(10)), truth=("a",) * 10, guesses=("a",) * 10)
    assert res.stderr == 0.0
    low, high = res.interval()
    assert high == 1.0 and low == pytest.approx(0.7225, abs=1e-4)
    assert (
        res.summary() == "Human baseline: 100.0% (95% interval 72%-100%) on 10 items (0 mistakes)"
    )
