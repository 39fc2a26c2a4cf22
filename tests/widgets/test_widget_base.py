"""The static fallback every widget carries: deterministic text/plain and text/html."""

from __future__ import annotations

import ipywidgets as widgets

from recipe_widgets.widgets import StaticFallbackMixin


class _Counter(StaticFallbackMixin, widgets.IntSlider):
    def _static_text(self) -> str:
        return f"Counter(value={self.value})"

    def _static_html(self) -> str:
        return f'<span class="rw-counter">{self.value}</span>'


def test_bundle_keeps_the_live_view_and_adds_static_renderings() -> None:
    w = _Counter(value=3)
    bundle = w._repr_mimebundle_()
    assert bundle["text/plain"] == "Counter(value=3)"
    assert bundle["text/html"] == '<span class="rw-counter">3</span>'
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert repr(w) == "Counter(value=3)"  # not ipywidgets' trait dump with addresses
    w.value = 7
    assert (
        w._repr_mimebundle_()["text/html"] == '<span class="rw-counter">7</span>'
    )  # the state now


def test_a_widget_that_forgets_its_fallback_says_so() -> None:
    class Bare(StaticFallbackMixin, widgets.Label):
        pass

    try:
        Bare()._repr_mimebundle_()
    except NotImplementedError as err:
        assert "Bare must" in str(err)
    else:
        raise AssertionError("expected NotImplementedError")
