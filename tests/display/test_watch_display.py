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
    raw, smooth, points, rule, sparse = d["layer"]
    assert d["autosize"] == {"type": "pad", "resize": True}  # re-layout as rows are appended
    assert "data" not in raw  # one dataset, shared: the widget appends to it once
    assert raw["encoding"]["y"]["scale"] == {"type": "log", "nice": False}
    assert raw["encoding"]["opacity"]["value"] == 1.0  # sparse series: solid
    assert (
        raw["encoding"]["opacity"]["condition"]["value"] < 1
    )  # dense series: faint under the mean
    assert sparse["mark"]["type"] == "point"
    window = next(t for t in smooth["transform"] if "window" in t)
    assert window["frame"] == [-4, 0] and window["groupby"] == ["metric"]
    assert {"filter": "datum.step > datum.last_step - 50"} in raw["transform"]
    # an expression reading the hovered point (also through the voronoi cell: `datum.datum`),
    # so the tooltip names the metric; tests/browser hovers it in Chromium
    tip = points["mark"]["tooltip"]["expr"]
    assert "'metric': (datum.datum || datum).metric" in tip and "step" in tip and "value" in tip
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


def _svg_texts(chart) -> list[str]:
    import re

    import vl_convert

    return re.findall(r"<text[^>]*>([^<]*)</text>", vl_convert.vegalite_to_svg(chart.to_dict()))


def _run(n_train: int = 400, every: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    steps = np.arange(n_train)
    train = 2.3 - 0.5 * steps / n_train + 0.05 * rng.standard_normal(n_train)
    val_steps = steps[every - 1 :: every]
    return pd.concat(
        [
            pd.DataFrame({"step": steps, "metric": "loss", "value": train}),
            pd.DataFrame({"step": val_steps, "metric": "val_loss", "value": 2.19}),
        ],
        ignore_index=True,
    )


def test_log_axis_fits_the_data_instead_of_rounding_to_decades() -> None:
    # Losses of 1.8-2.3 on a log axis: with Vega's default nice domain the axis spans 1-10.
    texts = _svg_texts(training_chart(_run(), log_y=True))
    assert "10" not in texts and "1" not in texts
    numbers = [float(t) for t in texts if t.replace(".", "", 1).isdigit()]
    ticks = [t for t in numbers if 0 < t < 5]  # the y axis (steps run 0-400)
    assert ticks and min(ticks) >= 1.6 and max(ticks) <= 2.5


def test_a_sparse_series_is_not_smoothed() -> None:
    # 10 val points among 400 training points: the trailing mean would drag the val line away
    # from its points; the smoothed layer keeps only the dense series.
    import json

    import vl_convert

    chart = training_chart(_run(), smoothing=20)
    vega = vl_convert.vegalite_to_vega(chart.to_dict())
    vega = vega if isinstance(vega, dict) else json.loads(vega)
    assert vega  # compiles
    d = chart.to_dict()
    smooth = d["layer"][1]
    dense = next(t["filter"] for t in smooth["transform"] if "filter" in t)
    assert dense == "datum.n >= 40 && 4 * datum.n >= datum.densest"
    assert "raw" in d["title"]["subtitle"] and "trailing mean of 20" in d["title"]["subtitle"]


def test_prediction_rule_only_at_the_hovered_step() -> None:
    long = predictions_long([(s, np.full((4, 1), s / 10)) for s in range(0, 50, 5)])
    d = prediction_chart(long).to_dict()
    rule = d["layer"][1]
    assert rule["transform"] == [{"filter": {"param": "scrub", "empty": False}}]
    assert rule["mark"]["opacity"] < 1
