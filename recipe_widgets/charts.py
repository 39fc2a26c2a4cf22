"""Altair charts of watched runs, for any watch (live or ``display=False``) or saved run.

Each function returns an ``alt.Chart`` you can restyle (``.properties(width=800)``) and show
anywhere Altair renders (JupyterLab, Notebook 7, VS Code, ``chart.save("run.html")``)::

    from recipe_widgets import charts
    charts.training(w, log_y=True)        # loss raw + smoothed, other metrics, val series
    charts.predictions(w)                 # prediction dynamics on the w.track(...) batch
    charts.overfit(w)                     # labels vs predictions (w.track((x, y)))
    charts.learning_rate(w)               # the LR the optimizer actually used, per step
    charts.learning_rate(report)          # rw.check(..., scheduler=, steps=)'s dry run
    charts.compare(w1, w2, metric="val_loss")   # complexify one thing at a time

End a cell with ``charts.show(chart)`` to draw any of them (or any Altair chart) offline, with
a PNG snapshot kept in the saved notebook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recipe_widgets.display import _watch as wc

if TYPE_CHECKING:
    import altair as alt

__all__ = ["compare", "learning_rate", "overfit", "predictions", "show", "training"]


def show(chart: alt.TopLevelMixin) -> Any:
    """Any Altair chart as an offline widget (no CDN) with a static PNG for saved notebooks.

    Altair's own default renderer fetches Vega from a CDN and draws nothing offline; end a cell
    with ``rw.charts.show(chart)`` instead of ``chart``.
    """
    from recipe_widgets.widgets._chart import show as show_chart

    return show_chart(chart)


def training(
    run: Any, *, metrics: list[str] | None = None, log_y: bool = False, last_n: int | None = None
) -> alt.Chart:
    """The live panel's chart, drawn from a run's whole history."""
    long = wc.decimate(wc.history_long(run.history, metrics))
    return wc.training_chart(long, log_y=log_y, last_n=last_n)


def predictions(run: Any) -> alt.Chart:
    """Each tracked example's prediction over training (p(label) for classification)."""
    return wc.run_prediction_chart(run)


def overfit(run: Any) -> alt.Chart:
    """Labels and the latest predictions of the tracked batch: they meet as the loss hits its floor."""
    return wc.run_overfit_chart(run)


def learning_rate(run: Any, *, log_y: bool = False) -> alt.Chart:
    """The learning rate per optimizer step: what a watched optimizer actually used, or the
    schedule preview of ``rw.check(..., scheduler=..., steps=...)`` (its report or the
    ``lr_schedule`` finding), drawn before a single real step is spent."""
    import pandas as pd

    from recipe_widgets.engine import Finding, Report
    from recipe_widgets.engine.check import schedule_preview

    if isinstance(run, (Report, Finding)):
        dry = schedule_preview(run)
        chart = wc.lr_chart(pd.DataFrame({"step": dry.steps, "lr": dry.lrs}), log_y=log_y)
        return chart.properties(title=f"learning rate: dry run of {dry.total_steps} steps")
    lrs = getattr(run, "lrs", None)
    if lrs is None or len(lrs) == 0:
        raise ValueError(
            "no learning rates recorded: watch the loop with its optimizer, rw.watch(model, opt)"
        )
    return wc.lr_chart(lrs, log_y=log_y)


def compare(
    *runs: Any, metric: str = "loss", names: list[str] | None = None, log_y: bool = False
) -> alt.Chart:
    """Several runs (live watches or ``rw.load_run`` results) overlaid for one metric."""
    from recipe_widgets.engine.watch import compare as compare_runs

    return wc.compare_chart(compare_runs(*runs, names=names), metric=metric, log_y=log_y)
