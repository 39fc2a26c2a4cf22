"""The notebooks as a person sees them, in JupyterLab and in Notebook 7 (headless Chromium).

Each test opens its own copy of a notebook (its own kernel), runs all cells, and asserts what a
person would see: no error output, each widget drawn (markers our front-end code sets only once
it has drawn; charts not blank), no console errors. A screenshot per notebook and app is kept in
test-artifacts/browser/.
"""

from __future__ import annotations

import pytest
from _notebook_page import (
    assert_drawn,
    error_outputs,
    open_notebook,
    run_all,
    save_shot,
    wait_in_output,
)

pytestmark = pytest.mark.browser

# (notebook, selectors that must be present in its outputs once it has run)
NOTEBOOKS = {
    "00_tour.ipynb": [".rw-recipe", ".rw-report", ".rw-decode", ".rw-grid"],
    "widget_gallery.ipynb": [".rw-report", ".rw-grid", ".rw-card", ".rw-hb-progress", ".rw-decode"],
}
# charts that must have drawn (svg or canvas not blank), per notebook
CHARTS = {
    "00_tour.ipynb": ["[data-rw-ready='true']", ".vega-embed", ".rw-hist"],
    "widget_gallery.ipynb": ["[data-rw-ready='true']", ".vega-embed", ".rw-hist"],
}
# the live plot's row count as the page shows it, sampled while cells run
LIVE_ROWS = "() => document.querySelector('.jp-OutputArea [data-rw-rows]')?.getAttribute('data-rw-rows') ?? null"
HOSTILE_TEXT = '<img src=x onerror="window.__rw_pwned=1">'


# The tour in JupyterLab is test_tour_themes.py's (light and dark, network cut off): the same
# assertions and more, so the browser phase runs it once.
RUNS = [(nb, app) for nb in sorted(NOTEBOOKS) for app in ("lab", "notebook7")]
RUNS.remove(("00_tour.ipynb", "lab"))


@pytest.mark.parametrize(("nb", "app"), RUNS)
def test_notebook_runs_and_renders(jupyter, browser, nb: str, app: str) -> None:
    view = open_notebook(browser, jupyter, nb, app)
    try:
        rows_seen = run_all(view, sample=LIVE_ROWS)
        for selector in CHARTS[nb]:
            assert_drawn(view, selector, timeout=60)
        for selector in NOTEBOOKS[nb]:
            wait_in_output(view, selector, timeout=10)
        save_shot(view, f"{nb.removesuffix('.ipynb')}-{app}")
        assert error_outputs(view) == [], f"error output in {nb}\n{view.where()}"
        rows = view.page.locator(".jp-OutputArea [data-rw-rows]").first.get_attribute(
            "data-rw-rows"
        )
        assert rows is not None and int(rows) > 0, f"the live plot received no rows\n{view.where()}"
        if nb == "widget_gallery.ipynb":
            # the gallery's loop runs for seconds: the plot must have grown while it ran
            growing = sorted({int(r) for r in rows_seen if r is not None})
            assert len(growing) >= 3, (
                f"live plot did not update during the run: {growing}\n{view.where()}"
            )
            assert view.js("() => window.__rw_pwned") is None, (
                f"a data string ran as script\n{view.where()}"
            )
            texts = "\n".join(view.page.locator(".jp-OutputArea").all_inner_texts())
            assert HOSTILE_TEXT in texts, f"the hostile string is not shown as text\n{view.where()}"
            # the panel's own controls: the kernel rebuilds the spec, the chart is drawn again
            live = view.page.locator(".jp-OutputArea [data-rw-rows]").first
            assert live.get_attribute("data-rw-scale") == "linear"
            live.locator(".rw-live-log").check()
            view.page.wait_for_selector(".jp-OutputArea [data-rw-scale='log']", timeout=30_000)
            assert live.locator(".rw-live-last").input_value() == "0"
        assert view.console.errors == [], f"browser console errors\n{view.where()}"
    finally:
        view.close()
