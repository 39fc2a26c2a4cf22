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
    charts.save(chart_or_report, "run.png")     # .png, .svg or .html (a report: .html, .txt)

Each returned chart also draws offline when a cell ends with it bare (``charts.compare(w1,
w2)``): its display goes through the same offline widget as ``charts.show`` instead of Altair's
default renderer, which loads Vega from a CDN and shows only "Error loading script" without a
network; so do ``charts.training(w) | charts.learning_rate(w)`` and the like (``|``, ``&``,
``+`` with a kit chart on the left). ``charts.show(chart)`` does the same for any Altair chart of
your own. Under a dark notebook theme (JupyterLab's, VS Code's) the chart is drawn light on
dark: the browser reads the page's theme, which the kernel cannot know.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeVar

from recipe_widgets.display import _watch as wc

if TYPE_CHECKING:
    import altair as alt

__all__ = ["compare", "learning_rate", "overfit", "predictions", "save", "show", "training"]

C = TypeVar("C")
_OFFLINE: dict[type, type] = {}


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (a front end that can draw widgets)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _offline_bundle(self: Any, include: Any = None, exclude: Any = None, **kwargs: Any) -> Any:
    """Display without a CDN: in a kernel, the offline widget (with its PNG snapshot); elsewhere
    (a terminal IPython, a converter), an SVG drawn by vl-convert."""
    if _in_kernel():
        return show(self)._repr_mimebundle_(include=include, exclude=exclude)
    import vl_convert

    from recipe_widgets.widgets._chart import _title

    svg = vl_convert.vegalite_to_svg(self.to_dict())
    return {"image/svg+xml": svg, "text/plain": f"Chart({_title(self)})"}


def _combined(name: str, reflected: bool) -> Any:
    """``|``, ``&`` or ``+`` whose result stays offline: Altair's own operator builds a plain
    concat or layer chart, which shown bare would fall back to the CDN renderer."""

    def op(self: Any, other: Any) -> Any:
        if reflected:  # other | self: the left operand's own operator, then re-classed
            result = getattr(type(other), name)(other, self)
        else:
            result = getattr(type(self).__mro__[1], name)(self, other)  # the Altair class's
        return result if result is NotImplemented else _offline(result)

    return op


_OPERATORS = {
    f"__{r}{name}__": _combined(f"__{name}__", reflected=bool(r))
    for name in ("or", "and", "add")
    for r in ("", "r")
}


def _offline(chart: C) -> C:
    """The same chart, re-classed so that its bare display is offline. Altair's copies
    (``.properties()``, ``.encode()``) keep the class, and so do ``|``, ``&`` and ``+`` with a
    kit chart on the left, or on the right of a plain chart of the same kind (Python runs a
    subclass's reflected operator first). ``alt.hconcat(...)`` / ``alt.layer(...)`` build plain
    Altair charts: ``charts.show`` draws those offline."""
    cls = type(chart)
    if cls in _OFFLINE.values():
        return chart
    sub = _OFFLINE.get(cls)
    if sub is None:
        body = {"_repr_mimebundle_": _offline_bundle, "__module__": __name__, **_OPERATORS}
        sub = _OFFLINE[cls] = type(cls.__name__, (cls,), body)
    object.__setattr__(chart, "__class__", sub)  # Altair's __setattr__ would store it as a field
    return chart


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
    return _offline(wc.training_chart(long, log_y=log_y, last_n=last_n))


def predictions(run: Any) -> alt.Chart:
    """Each tracked example's prediction over training (p(label) for classification)."""
    return _offline(wc.run_prediction_chart(run))


def overfit(run: Any) -> alt.Chart:
    """Labels and the latest predictions of the tracked batch: they meet as the loss hits its floor."""
    return _offline(wc.run_overfit_chart(run))


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
        return _offline(
            chart.properties(title=f"learning rate: dry run of {dry.total_steps} steps")
        )
    lrs = getattr(run, "lrs", None)
    if lrs is None or len(lrs) == 0:
        raise ValueError(
            "no learning rates recorded: watch the loop with its optimizer, rw.watch(model, opt)"
        )
    return _offline(wc.lr_chart(lrs, log_y=log_y))


def compare(
    *runs: Any, metric: str = "loss", names: list[str] | None = None, log_y: bool = False
) -> alt.Chart:
    """Several runs (live watches or ``rw.load_run`` results) overlaid for one metric."""
    from recipe_widgets.engine.watch import compare as compare_runs

    return _offline(wc.compare_chart(compare_runs(*runs, names=names), metric=metric, log_y=log_y))


def save(obj: Any, path: Any, *, scale: float = 2.0) -> Any:
    """Write a chart or a report to ``path`` in one call; the suffix picks the format.

    Charts (any Altair chart, a watch or saved run: its training chart, ``charts.show``'s
    widget): ``.png`` (``scale`` x pixels), ``.svg``, or ``.html`` with Vega inlined, so the file
    opens offline. Reports (``rw.check``, ``rw.audit``, a finding): ``.html`` (self-contained,
    with its figures) or ``.txt``. Returns the path written.
    """
    from pathlib import Path

    from recipe_widgets.engine import Finding, Report

    out = Path(path)
    kind = out.suffix.lower().lstrip(".")
    if isinstance(obj, Finding):
        obj = Report((obj,), title=obj.check)
    if isinstance(obj, Report):
        _save_report(obj, out, kind)
        return out
    spec = _spec_of(obj)
    import vl_convert

    writers = {
        "png": lambda: out.write_bytes(vl_convert.vegalite_to_png(spec, scale=scale)),
        "svg": lambda: out.write_text(vl_convert.vegalite_to_svg(spec), encoding="utf-8"),
        "html": lambda: out.write_text(
            vl_convert.vegalite_to_html(spec, bundle=True), encoding="utf-8"
        ),
    }
    if kind not in writers:
        raise ValueError(f"a chart saves as .png, .svg or .html; got {out.name!r}")
    writers[kind]()
    return out


def _spec_of(obj: Any) -> dict[str, Any]:
    """The Vega-Lite spec of a chart, a ``charts.show`` widget, or a run (its training chart)."""
    chart = getattr(obj, "chart", None)  # charts.show's widget holds the Altair chart
    if chart is not None and hasattr(chart, "to_dict"):
        obj = chart
    import altair as alt

    if isinstance(obj, alt.TopLevelMixin):
        return obj.to_dict()
    if hasattr(obj, "history"):
        return training(obj).to_dict()
    raise TypeError(
        f"cannot save a {type(obj).__name__}: pass an Altair chart, a watch or run, or a report"
    )


def _save_report(report: Any, out: Any, kind: str) -> None:
    from html import escape

    from recipe_widgets.display._report import report_html, report_text

    if kind == "txt":
        out.write_text(report_text(report) + "\n", encoding="utf-8")
    elif kind == "html":
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(report.title)}"
            f"</title></head><body style='font:13px sans-serif'>{report_html(report)}</body></html>"
        )
        out.write_text(page, encoding="utf-8")
    else:
        raise ValueError(f"a report saves as .html (with its figures) or .txt; got {out.name!r}")
