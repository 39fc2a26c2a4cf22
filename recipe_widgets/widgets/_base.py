"""What every recipe_widgets widget shares: a display bundle that still says something when no
widget code runs (nbval, GitHub, nbviewer, a terminal).

ipywidgets' own bundle is ``text/plain`` (``SomeWidget(...)`` with every trait) plus the
widget-view JSON, which only a live front end can draw. We replace ``text/plain`` with a short,
deterministic summary and add a static ``text/html`` snapshot, so a saved notebook shows the
state the widget had when the notebook was saved.
"""

from __future__ import annotations

from typing import Any


class StaticFallbackMixin:
    """Mix in before the widget class; implement ``_static_text`` and ``_static_html``."""

    def _static_text(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must say what it shows as text")

    def _static_html(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must provide a static HTML snapshot")

    def __repr__(self) -> str:
        return self._static_text()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # ipywidgets answers a dict; anywidget (and Altair's JupyterChart) a (data, metadata)
        # pair. Either way the widget view stays, and text and HTML become ours.
        result = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        pair = isinstance(result, tuple)
        data, meta = result if pair else (result or {}, {})
        data = dict(data)
        data["text/plain"] = self._static_text()
        data["text/html"] = self._static_html()
        return (data, dict(meta)) if pair else data
