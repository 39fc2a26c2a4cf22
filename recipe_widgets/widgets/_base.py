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

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/plain"] = self._static_text()
        bundle["text/html"] = self._static_html()
        return bundle
