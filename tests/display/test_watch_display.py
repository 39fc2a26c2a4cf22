"""Watch charts are data: assertions on ``to_dict()`` and on the long tables behind them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recipe_widgets.display._watch import (
    DATASET,
    compare_chart,
    decimate,
    history_long,
    lr_chart,
    overfit_chart,
    prediction_chart,
    predictions_long,
    training_chart,
)


@pytest.fixture
def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "step": [1, 2, 3, 3],
            "loss": [1.0, 0.5, float("nan"), None],
            "val_loss": [None, None, None, 0.6],
        }
    )


def test_history_long_drops_missing_and_non_finite(history: pd.DataFrame) -> None:
    long = history_long(history)
    assert long.to_dict("records") == [
        {"step": 1, "metric": "loss", "value": 1.0},
        {"step": 2, "metric": "loss", "value": 0.5},
        {"step": 3, "metric": "val_loss", "value": 0.6},
    ]
    with pytest.raises(ValueError, match="acc"):
        history_long(history, ["acc"])


def test_training_chart_spec(history: pd.DataFrame) -> None:
    d = training_chart(history_long(history), log_y=True, smoothing=5, last_n=50).to_dict()
    assert d["data"]["name"] == DATASET and len(d["data"]["values"]) == 3
    raw, smooth, points, rule = d["layer"]
    assert d["autosize"] == {"type": "pad", "resize": True}  # re-layout as rows are appended
    assert "data" not in raw  # one dataset, shared: the widget appends to it once
    assert raw["encoding"]["y"]["scale"] == {"type": "log"}
    assert raw["mark"]["opacity"] < 1
    window = next(t for t in smooth["transform"] if "window" in t)
    assert window["frame"] == [-4, 0] and window["groupby"] == ["metric"]
    assert {"filter": "datum.step > datum.last_step - 50"} in raw["transform"]
    assert [t["field"] for t in points["encoding"]["tooltip"]] == ["metric", "step", "value"]
    (hover,) = d["params"]
    assert hover["name"] == "hover" and hover["select"]["nearest"] is True
    assert hover["views"] == [points["name"]]
    linear = training_chart(None).to_dict()
    assert linear["data"]["values"] == []
    assert linear["layer"][0]["encoding"]["y"]["scale"] == {"zero": False}
    with pytest.raises(ValueError, match="smoothing"):
        training_chart(None, smoothing=0)


def test_decimate_keeps_last_point_per_metric() -> None:
    long = pd.DataFrame(
        {"step": np.arange(10_000), "metric": "loss", "value": np.linspace(1, 0, 10_000)}
    )
    small = decimate(pd.concat([long, long.assign(metric="acc")]), max_points=1000)
    for _, g in small.groupby("metric"):
        assert len(g) <= 1000
        assert g["step"].iloc[-1] == 9999 and g["step"].iloc[0] == 0
    assert decimate(long.iloc[:5], 1000).equals(long.iloc[:5])


def test_lr_chart() -> None:
    d = lr_chart(pd.DataFrame({"step": [1, 2], "lr": [0.0, 0.1]}), log_y=True).to_dict()
    assert d["encoding"]["y"]["scale"]["type"] == "symlog"


def test_prediction_views_classification_and_regression() -> None:
    probs = [(0, np.array([[0.5, 0.5], [0.5, 0.5]])), (10, np.array([[0.9, 0.1], [0.2, 0.8]]))]
    long = predictions_long(probs, labels=np.array([0, 1]))
    assert long["prediction"].tolist() == [0.5, 0.5, 0.9, 0.8]  # p(label)
    d = prediction_chart(long).to_dict()
    assert d["layer"][0]["encoding"]["y"]["title"] == "p(label)"
    reg = predictions_long([(5, np.array([[1.0], [2.0]]))], labels=np.array([1.5, 2.5]))
    ov = overfit_chart(reg).to_dict()
    values = ov["datasets"][ov["data"]["name"]]
    assert {(v["series"], v["value"]) for v in values} == {
        ("label", 1.5),
        ("label", 2.5),
        ("prediction", 1.0),
        ("prediction", 2.0),
    }
    with pytest.raises(ValueError, match="labels"):
        overfit_chart(predictions_long([(5, np.array([1.0]))]))


def test_compare_chart() -> None:
    long = pd.DataFrame(
        {
            "run": ["a", "a", "b"],
            "step": [1, 2, 1],
            "metric": ["loss", "acc", "loss"],
            "value": [1, 0.5, 2],
        }
    )
    d = compare_chart(long).to_dict()
    assert d["encoding"]["color"]["field"] == "run"
    assert len(d["datasets"][d["data"]["name"]]) == 2
    with pytest.raises(ValueError, match="val"):
        compare_chart(long, metric="val")


def test_hostile_metric_and_run_names_cannot_end_the_script_block() -> None:
    from recipe_widgets import charts
    from recipe_widgets.engine.results import Report
    from recipe_widgets.engine.watch._watch import Run

    evil = "</script><script>alert(1)</script>"
    rows = [{"step": i, "loss": 1.0 / (i + 1), evil: float(i)} for i in range(5)]
    runs = [Run(evil, rows, Report((), "t")), Run("plain", rows, Report((), "t"))]
    for chart in (
        charts.training(runs[0]),
        charts.compare(*runs, metric=evil),
        charts.compare(*runs, metric="loss"),
    ):
        html = chart.to_html()
        assert "<script>alert" not in html and "</script><script>" not in html.replace(
            "</script>\n<script", ""
        )
        assert "alert(1)" in html  # the name is still there, readable
