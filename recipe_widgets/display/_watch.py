"""Altair charts of a watched run: pure functions from history / predictions to ``alt.Chart``.

The training chart reads its rows from a *named* dataset (``rows``) in long form
(``step, metric, value``), and does its smoothing and last-N windowing in Vega transforms:
that way the live widget can append rows to that dataset with a Vega changeset and the chart
recomputes itself, with nothing re-sent from Python. Users can restyle any returned chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import altair as alt

DATASET = "rows"  # the name the live widget inserts into


def safe_text(value: object) -> str:
    """A name as chart text that cannot end the ``<script>`` block Altair's ``to_html`` / ``save``
    embeds its spec in: an invisible word joiner after every ``<`` (the name reads the same; a
    metric called ``</script><script>...`` runs nothing)."""
    text = str(value)
    return text.replace("<", "<\u2060") if "<" in text else text


def history_long(history: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """``step, metric, value`` rows from a wide history; missing cells (sparse series) dropped."""
    cols = [c for c in history.columns if c != "step"]
    if metrics is not None:
        unknown = sorted(set(metrics) - set(cols))
        if unknown:
            raise ValueError(f"no logged series {unknown}; logged: {cols}")
        cols = list(metrics)
    long = history.melt(id_vars="step", value_vars=cols, var_name="metric", value_name="value")
    long = long.dropna(subset=["value"])
    long = long[np.isfinite(long["value"].astype(float))]  # NaN/Inf are findings, not points
    long["metric"] = long["metric"].map(safe_text)
    return long.sort_values(["metric", "step"], kind="stable").reset_index(drop=True)


def decimate(long: pd.DataFrame, max_points: int = 2000) -> pd.DataFrame:
    """At most ``max_points`` rows per metric: every k-th row, always keeping the last one."""
    if max_points < 2:
        raise ValueError(f"max_points must be >= 2, got {max_points}")
    parts = []
    for _, group in long.groupby("metric", sort=False):
        if len(group) > max_points:
            k = -(-len(group) // (max_points - 1))  # ceil: leaves room for the last row
            keep = np.zeros(len(group), dtype=bool)
            keep[::k] = True
            keep[-1] = True
            group = group[keep]
        parts.append(group)
    return pd.concat(parts, ignore_index=True) if parts else long.iloc[:0]


def training_chart(
    long: pd.DataFrame | None = None,
    *,
    log_y: bool = False,
    smoothing: int = 20,
    last_n: int | None = None,
    width: int = 520,
    height: int = 260,
) -> alt.LayerChart:
    """Every logged series on one step axis: raw (faint) and smoothed, values on hover.

    ``long`` may be ``None`` (the live widget starts empty and appends). ``smoothing`` is the
    trailing-mean window in rows; ``last_n`` keeps only the last N steps.
    """
    import altair as alt

    if smoothing < 1:
        raise ValueError(f"smoothing must be >= 1, got {smoothing}")
    values = [] if long is None else long[["step", "metric", "value"]].to_dict("records")
    base = alt.Chart()  # the data sits on the layer, once, under the name the widget appends to
    if last_n is not None:
        base = base.transform_joinaggregate(last_step="max(step)").transform_filter(
            f"datum.step > datum.last_step - {int(last_n)}"
        )
    # nice=False: a log axis would otherwise round out to whole decades (1-10) and squash
    # losses of 1.8-2.3 into a thin band; the domain fits the data.
    y_scale = alt.Scale(type="log", nice=False) if log_y else alt.Scale(zero=False)
    x = alt.X("step:Q", title="optimizer step")
    y = alt.Y("value:Q", scale=y_scale, title="value")
    color = alt.Color("metric:N", title=None)
    raw, smooth, sparse = _series_layers(base, x, y_scale, color, smoothing)
    points, rule = _hover_layers(base, x, y, color)
    return alt.layer(
        raw, smooth, points, rule, sparse, data=alt.InlineData(values=values, name=DATASET)
    ).properties(
        title=alt.Title(
            "training",
            anchor="start",
            fontSize=12,
            subtitle=f"faint: raw; bold: trailing mean of {smoothing} points "
            "(sparse series raw, with points)",
            subtitleFontSize=10,
        ),
        width=width,
        height=height,
        # resize: lay out again as rows arrive, or axis labels sized for "no data" get clipped
        autosize=alt.AutoSizeParams(type="pad", resize=True),
    )


def _series_layers(
    base: alt.Chart, x: alt.X, y_scale: alt.Scale, color: alt.Color, smoothing: int
) -> tuple[alt.Chart, alt.Chart, alt.Chart]:
    """The raw lines, the smoothed lines of dense series, and the points of sparse ones."""
    import altair as alt

    y = alt.Y("value:Q", scale=y_scale, title="value")
    # A series is smoothed only when it is dense: at least 2 windows of points and at least a
    # quarter as many as the densest series. A trailing mean over 20 evaluations of a val loss
    # logged every 100 steps lags it by 2000 steps (2.225 drawn for 2.19); such a series is
    # drawn raw, solid and with its points.
    base = base.transform_joinaggregate(n="count()", groupby=["metric"]).transform_joinaggregate(
        densest="max(n)"
    )
    dense = f"datum.n >= {2 * smoothing} && 4 * datum.n >= datum.densest"
    raw = base.mark_line(strokeWidth=1).encode(
        x=x,
        y=y,
        color=color,
        opacity=alt.condition(dense, alt.value(0.3), alt.value(1.0)),
    )
    sparse = (
        base.transform_filter(f"!({dense})")
        .mark_point(size=16, filled=True)
        .encode(x=x, y=y, color=color)
    )
    smooth = (
        base.transform_filter(dense)
        .transform_window(
            smoothed="mean(value)",
            frame=[-(smoothing - 1), 0],
            groupby=["metric"],
            sort=[{"field": "step"}],
        )
        .mark_line(strokeWidth=2)
        .encode(x=x, y=alt.Y("smoothed:Q", scale=y_scale, title="value"), color=color)
    )
    return raw, smooth, sparse


def _hover_layers(
    base: alt.Chart, x: alt.X, y: alt.Y, color: alt.Color
) -> tuple[alt.Chart, alt.Chart]:
    """The point nearest the pointer, with its values as a tooltip, and a rule at its step."""
    import altair as alt

    hover = alt.selection_point(
        name="hover", fields=["step"], nearest=True, on="pointerover", empty=False
    )
    # The tooltip is an expression, not a tooltip encoding: Vega-Lite copies an encoding's
    # tooltip onto the nearest-point (voronoi) layer reading nominal fields from the wrong
    # object, and the tooltip read "metric undefined". `datum.datum` is the point under a
    # voronoi cell; on the point itself it is absent.
    tip = (
        "{'metric': (datum.datum || datum).metric, 'step': (datum.datum || datum).step, "
        "'value': format((datum.datum || datum).value, '.4g')}"
    )
    points = (
        base.mark_point(size=30, filled=True, tooltip=alt.ExprRef(expr=tip))
        .encode(
            x=x,
            y=y,
            color=color,
            opacity=alt.condition(hover, alt.value(1.0), alt.value(0.0)),
        )
        .add_params(hover)
    )
    rule = base.mark_rule(color="gray", opacity=0.5).encode(x=x).transform_filter(hover)
    return points, rule


def lr_chart(
    lrs: pd.DataFrame, *, log_y: bool = False, width: int = 520, height: int = 120
) -> alt.Chart:
    """Learning rate per optimizer step (of the first optimizer's first group)."""
    import altair as alt

    scale = alt.Scale(type="symlog", constant=1e-8) if log_y else alt.Scale()
    return (
        alt.Chart(lrs[["step", "lr"]], title="learning rate")
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="optimizer step"),
            y=alt.Y("lr:Q", scale=scale, title="lr"),
            tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("lr:Q", format=".3g")],
        )
        .properties(width=width, height=height)
    )


def predictions_long(predictions: Sequence[tuple[int, Any]], labels: Any = None) -> pd.DataFrame:
    """``step, example, prediction[, label]`` per tracked example and step.

    Classification (outputs ``(B, C)`` probabilities): the probability given to the label
    when labels are known, else to the class predicted at the last step. Regression (``(B,)``
    or ``(B, 1)``): the prediction itself.
    """
    if not predictions:
        return pd.DataFrame(columns=["step", "example", "prediction"])
    last = np.asarray(predictions[-1][1])
    y = (
        None
        if labels is None
        else np.asarray(getattr(labels, "numpy", lambda: labels)()).reshape(-1)
    )
    classify = last.ndim == 2 and last.shape[1] > 1
    if classify:
        target = y.astype(int) if y is not None else last.argmax(1)
    frames = []
    for step, out in predictions:
        out = np.asarray(out)
        pred = out[np.arange(len(out)), target] if classify else out.reshape(len(out), -1)[:, 0]
        frame = pd.DataFrame({"step": step, "example": np.arange(len(out)), "prediction": pred})
        if y is not None:
            frame["label"] = 1.0 if classify else y.astype(float)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def prediction_chart(long: pd.DataFrame, *, width: int = 520, height: int = 220) -> alt.Chart:
    """Prediction dynamics: each tracked example's prediction over training, scrub by hover."""
    import altair as alt

    scrub = alt.selection_point(
        name="scrub", fields=["step"], nearest=True, on="pointerover", empty=False
    )
    lines = (
        alt.Chart(long, title="prediction dynamics (tracked batch)")
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="optimizer step"),
            y=alt.Y("prediction:Q", title="p(label)" if "label" in long else "prediction"),
            color=alt.Color("example:N", legend=None),
            tooltip=["example:N", "step:Q", alt.Tooltip("prediction:Q", format=".3g")],
        )
        .add_params(scrub)
    )
    # One light rule at the hovered step; with an empty selection meaning "all", every step got
    # a rule and the chart was striped with heavy black lines.
    rule = (
        alt.Chart(long)
        .mark_rule(color="gray", opacity=0.5)
        .encode(x="step:Q")
        .transform_filter(scrub)
    )
    return alt.layer(lines, rule).properties(width=width, height=height)


def overfit_chart(long: pd.DataFrame, *, width: int = 520, height: int = 220) -> alt.Chart:
    """Labels and the latest predictions per example on one plot: they meet when overfitting."""
    import altair as alt

    if "label" not in long:
        raise ValueError("the overfit view needs labels: w.track((x, y)) with the targets")
    last = long[long["step"] == long["step"].max()]
    both = last.melt(id_vars=["example"], value_vars=["label", "prediction"], var_name="series")
    return (
        alt.Chart(both, title=f"labels vs predictions at step {int(last['step'].iloc[0])}")
        .mark_point(filled=True)
        .encode(
            x=alt.X("example:O", title="example"),
            y=alt.Y("value:Q", title="value"),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
            shape=alt.Shape("series:N", title=None, legend=alt.Legend(orient="top")),
            tooltip=["example:O", "series:N", alt.Tooltip("value:Q", format=".3g")],
        )
        .properties(width=width, height=height)
    )


def compare_chart(long: pd.DataFrame, *, metric: str = "loss", log_y: bool = False) -> alt.Chart:
    """Several runs (``rw.compare`` output) overlaid for one metric, coloured by run."""
    import altair as alt

    if metric not in set(long["metric"]):
        raise ValueError(f"no run logged {metric!r}; logged: {sorted(set(long['metric']))}")
    data = long[long["metric"] == metric].assign(
        metric=safe_text(metric), run=lambda d: d["run"].map(safe_text)
    )
    scale = alt.Scale(type="log", nice=False) if log_y else alt.Scale(zero=False)
    title = safe_text(metric)
    return (
        alt.Chart(data, title=title)
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="optimizer step"),
            y=alt.Y("value:Q", scale=scale, title=title),
            color=alt.Color("run:N", title="run"),
            tooltip=["run:N", "step:Q", alt.Tooltip("value:Q", format=".4g")],
        )
        .properties(width=520, height=260)
    )


def _tracked(run: Any) -> tuple[list[tuple[int, Any]], Any]:
    preds = getattr(run, "predictions", None)
    if not preds:
        raise ValueError(
            "no predictions recorded: call w.track(batch) (or w.track((x, y))) inside the watch"
        )
    batch = getattr(run, "tracked", None)
    labels = batch[1] if isinstance(batch, (tuple, list)) and len(batch) > 1 else None
    return preds, labels


def run_prediction_chart(run: Any) -> alt.Chart:
    """A watched run's tracked predictions over training (``charts.predictions``)."""
    preds, labels = _tracked(run)
    return prediction_chart(predictions_long(preds, labels))


def run_overfit_chart(run: Any) -> alt.Chart:
    """A watched run's labels against its latest predictions (``charts.overfit``)."""
    preds, labels = _tracked(run)
    if labels is None:
        raise ValueError("the overfit view needs labels: w.track((x, y)) with the targets")
    return overfit_chart(predictions_long(preds, labels))
