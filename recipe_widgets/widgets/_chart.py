"""``rw.charts.show(chart)``: an Altair chart that draws offline and still says something saved.

Altair 6's default renderer loads Vega from a CDN, which draws nothing on an offline machine. ``JupyterChart`` after ``enable_offline()`` gets Vega from vl-convert instead; we add
the static fallback every widget of ours has: a deterministic ``text/plain`` and a PNG snapshot
in ``text/html`` for GitHub, nbviewer and nbval.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from recipe_widgets.widgets._base import StaticFallbackMixin


def _title(chart: Any) -> str:
    title = getattr(chart, "title", None)
    text = getattr(title, "text", title)
    if isinstance(text, str) and text:
        return text
    for sub in (
        getattr(chart, "layer", None)
        or getattr(chart, "hconcat", None)
        or getattr(chart, "vconcat", None)
        or ()
    ):
        inner = _title(sub)
        if inner != "chart":
            return inner
    return "chart"


def show(chart: Any) -> Any:
    """Wrap an Altair chart as an offline widget with a static snapshot; display the result."""
    import altair as alt

    alt.JupyterChart.enable_offline()  # once per kernel: Vega from vl-convert, no CDN
    widget = _chart_class()(chart)
    return widget


_CLASS: Any = None


def _chart_class() -> type:
    global _CLASS
    if _CLASS is None:
        import altair as alt

        class OfflineChart(StaticFallbackMixin, alt.JupyterChart):
            """A ``JupyterChart`` whose saved form is a PNG and a one-line description."""

            def _static_text(self) -> str:
                return f"Chart({_title(self.chart)})"

            def _static_html(self) -> str:
                import vl_convert

                png = base64.b64encode(
                    vl_convert.vegalite_to_png(self.chart.to_dict(), scale=1)
                ).decode("ascii")
                text = escape(self._static_text())
                return f'<img alt="{text}" src="data:image/png;base64,{png}">'

        _CLASS = OfflineChart
    return _CLASS
