"""``rw.charts.show(chart)``: an Altair chart that draws offline, follows the notebook's theme,
and still says something saved.

Altair 6's default renderer loads Vega from a CDN, which draws nothing on an offline machine.
``ThemedChart`` is Altair's ``JupyterChart`` (selections and params work as there) with Vega
from vl-convert instead, sent once per kernel, and our front end (``static/chart.js``) around
Altair's: Python cannot know the page's theme, so the browser reads it (JupyterLab's
``data-jp-theme-light``, VS Code's ``vscode-dark``, or the background's luminance) and lays a
dark Vega config over the spec under a dark theme, redrawing when the theme changes.
``show`` adds the static fallback every widget of ours has: a deterministic ``text/plain`` and a
PNG snapshot in ``text/html`` for GitHub, nbviewer and nbval.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from recipe_widgets.widgets._base import StaticFallbackMixin
from recipe_widgets.widgets._watch_plot import shared_bundle

_STATIC = Path(__file__).resolve().parent.parent / "static"


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


def altair_bundle() -> str:
    """Altair's chart front end as one ES module with Vega inside (vl-convert builds it, no
    CDN): a few seconds once per kernel, then reused."""
    import altair as alt

    alt.JupyterChart.enable_offline()
    return str(alt.JupyterChart._esm)


def themed_chart(chart: Any, **kwargs: Any) -> Any:
    """A ``ThemedChart`` of an Altair chart: offline, and dark under a dark notebook theme."""
    return _classes()[0](chart, **kwargs)


def show(chart: Any) -> Any:
    """Wrap an Altair chart as an offline, theme-following widget with a static snapshot."""
    return _classes()[1](chart)


_CLASSES: tuple[type, type] | None = None


def _classes() -> tuple[type, type]:
    """(``ThemedChart``, ``OfflineChart``), made on first use: Altair is imported only then."""
    global _CLASSES
    if _CLASSES is None:
        import altair as alt
        import ipywidgets as W
        import traitlets as T

        from recipe_widgets.widgets._watch_plot import VegaBundle

        class ThemedChart(alt.JupyterChart):
            """Altair's ``JupyterChart`` drawn by Altair's own front end, loaded from a model
            shared by every chart of the kernel, themed by ``static/chart.js``."""

            _esm = _STATIC / "chart.js"
            _altair = T.Instance(VegaBundle, help="Altair's front end with Vega inside").tag(
                sync=True, **W.widget_serialization
            )

            def __init__(self, chart: Any, **kwargs: Any) -> None:
                shared = shared_bundle(altair_bundle(), name="altair")
                super().__init__(chart, _altair=shared, **kwargs)

        class OfflineChart(StaticFallbackMixin, ThemedChart):
            """A ``ThemedChart`` whose saved form is a PNG and a one-line description."""

            def _static_text(self) -> str:
                return f"Chart({_title(self.chart)})"

            def _static_html(self) -> str:
                import vl_convert

                png = base64.b64encode(
                    vl_convert.vegalite_to_png(self.chart.to_dict(), scale=1)
                ).decode("ascii")
                text = escape(self._static_text())
                return f'<img alt="{text}" src="data:image/png;base64,{png}">'

        _CLASSES = (ThemedChart, OfflineChart)
    return _CLASSES
