"""Single widgets in headless Chromium, without a Jupyter server: what a person reads at a glance.

* The live plot's real front end (static/live_plot.js) drawn by the real Vega bundle, wired to a
  real kernel-side ``LivePlot`` by a small bridge in place of a widget manager: the page's
  ``model.send`` / ``save_changes`` reach the Python widget, and what the widget sends (custom
  messages, trait updates) is delivered back to the page.
* The report and explorer HTML under JupyterLab's light and dark theme variables.
* The explorer's histogram (static/explore_histogram.js): clicks, drags, both themes.

Screenshots (light and dark) go to test-artifacts/browser/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recipe_widgets.display._explore import grid_html
from recipe_widgets.display._report import report_html
from recipe_widgets.engine import Finding, Report
from recipe_widgets.widgets._watch_plot import LivePlot, vega_bundle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
ORIGIN = "http://rw.test"

# JupyterLab's own values of the variables we read (light and dark theme extensions).
THEMES = {
    "light": {
        "--jp-layout-color0": "#ffffff",
        "--jp-ui-font-color1": "rgba(0, 0, 0, 0.87)",
        "--jp-ui-font-color2": "rgba(0, 0, 0, 0.54)",
        "--jp-border-color1": "#bdbdbd",
        "--jp-border-color2": "#e0e0e0",
        "--jp-error-color0": "#b71c1c",
        "--jp-warn-color0": "#e65100",
        "--jp-info-color0": "#006064",
        "--jp-success-color0": "#1b5e20",
        "--jp-error-color1": "#d32f2f",
        "--jp-warn-color1": "#f57c00",
        "--jp-info-color1": "#0288d1",
        "--jp-success-color1": "#388e3c",
        "--jp-brand-color1": "#1976d2",
    },
    "dark": {
        "--jp-layout-color0": "#111111",
        "--jp-ui-font-color1": "rgba(255, 255, 255, 0.87)",
        "--jp-ui-font-color2": "rgba(255, 255, 255, 0.54)",
        "--jp-border-color1": "#616161",
        "--jp-border-color2": "#424242",
        "--jp-error-color0": "#d32f2f",
        "--jp-warn-color0": "#f57c00",
        "--jp-info-color0": "#0097a7",
        "--jp-success-color0": "#388e3c",
        "--jp-error-color1": "#f44336",
        "--jp-warn-color1": "#ff9800",
        "--jp-info-color1": "#03a9f4",
        "--jp-success-color1": "#4caf50",
        "--jp-brand-color1": "#42a5f5",
    },
}


def _page_html(theme: str, body: str) -> str:
    css = ";".join(f"{k}:{v}" for k, v in THEMES[theme].items())
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        f":root{{{css}}} body{{background:var(--jp-layout-color0);"
        "color:var(--jp-ui-font-color1);font:13px sans-serif;margin:12px}</style></head>"
        f"<body data-jp-theme-light='{str(theme == 'light').lower()}'>{body}</body></html>"
    )


def _open(browser: Any, pages: dict[str, tuple[str, str]]) -> tuple[Any, list[str]]:
    """A page whose requests to ORIGIN are answered from ``pages`` (path -> (type, text))."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def answer(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path not in pages:
            return route.fulfill(status=404, body="")
        kind, text = pages[path]
        route.fulfill(status=200, content_type=kind, body=text)

    page.route(f"{ORIGIN}/**", answer)
    return page, errors


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# -- the live plot ---------------------------------------------------------------------------

MODEL_JS = """
import widget from "/live_plot.js";
const code = await (await fetch("/vega.js")).text();
class Model {
  constructor(state) { this.state = state; this.handlers = {}; this.dirty = {};
    this.widget_manager = { get_model: async () => ({ get: () => code }) }; }
  get(key) { return this.state[key]; }
  set(key, value) { this.state[key] = value; this.dirty[key] = value; }
  save_changes() { window.rwSave(JSON.stringify(this.dirty)); this.dirty = {}; }
  send(msg) { window.rwSend(JSON.stringify(msg)); }
  on(event, fn) { (this.handlers[event] ??= []).push(fn); }
  off(event, fn) { this.handlers[event] = (this.handlers[event] ?? []).filter((f) => f !== fn); }
  trigger(event, ...args) { for (const fn of this.handlers[event] ?? []) fn(...args); }
  update(state) { for (const [k, v] of Object.entries(state)) { this.state[k] = v;
    this.trigger(`change:${k}`); } }
}
window.rwModel = new Model(STATE);
await widget.render({ model: window.rwModel, el: document.getElementById("out") });
"""


class RecordingComm:
    """The kernel side of the bridge: keeps what the widget sends until the page takes it."""

    kernel = object()
    comm_id = "bridge"

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, data: dict, buffers: Any = None) -> None:
        self.sent.append(data)

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, *args: Any) -> None:
        pass


class Bridge:
    """The page's model <-> a real ``LivePlot``: a widget manager of two functions."""

    def __init__(self, page: Any, plot: LivePlot) -> None:
        self.page, self.plot, self.comm = page, plot, RecordingComm()
        plot.comm = self.comm
        page.expose_function("rwSend", self._from_page_msg)
        page.expose_function("rwSave", self._from_page_save)

    def _from_page_msg(self, text: str) -> None:
        self.plot._on_front_end(self.plot, json.loads(text), [])

    def _from_page_save(self, text: str) -> None:
        for key, value in json.loads(text).items():
            setattr(self.plot, key, value)

    def pump(self) -> int:
        """Deliver what the widget sent; returns how many messages went."""
        sent, self.comm.sent = self.comm.sent, []
        for msg in sent:
            data = msg.get("data", msg)
            if data.get("method") == "custom":
                self.page.evaluate(
                    "(c) => window.rwModel.trigger('msg:custom', c)", data["content"]
                )
            elif data.get("method") == "update":
                self.page.evaluate("(s) => window.rwModel.update(s)", data["state"])
        return len(sent)

    def until(self, js: str, timeout_s: float = 30) -> None:
        for _ in range(int(timeout_s * 10)):
            self.pump()
            if self.page.evaluate(js):
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"timed out waiting for {js}")


def _run_rows() -> list[tuple[int, dict[str, float]]]:
    rng = np.random.default_rng(0)
    rows = []
    for step in range(1, 301):
        values = {"loss": 2.3 - 0.5 * step / 300 + 0.03 * float(rng.standard_normal())}
        if step % 30 == 0:
            values["val_loss"] = 2.19 + 0.005 * (step % 60 == 0)
        rows.append((step, values))
    return rows


def _live_page(browser: Any, theme: str) -> tuple[Any, Bridge, list[str]]:
    plot = LivePlot(min_interval=0.0)
    state = {k: plot.get_state()[k] for k in ("spec", "dataset", "log_y", "last_n", "findings")}
    html = _page_html(
        theme,
        "<div id='out' style='width:700px'></div><script type='module'>"
        + MODEL_JS.replace("STATE", json.dumps(state))
        + "</script>",
    )
    js = (ROOT / "recipe_widgets" / "static" / "live_plot.js").read_text()
    page, errors = _open(
        browser,
        {
            "/": ("text/html", html),
            "/live_plot.js": ("text/javascript", js),
            "/vega.js": ("text/plain", vega_bundle()),
        },
    )
    bridge = Bridge(page, plot)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("() => window.rwModel !== undefined", timeout=30_000)
    plot.add_rows(_run_rows())
    plot.flush()
    bridge.until("() => document.querySelector('[data-rw-ready]') !== null")
    return page, bridge, errors


def _y_labels(page: Any) -> list[float]:
    texts = page.evaluate(
        "() => [...document.querySelectorAll('.role-axis-label text')].map(t => t.textContent)"
    )
    numbers = [float(t) for t in texts if re.fullmatch(r"\d+(\.\d+)?", t)]
    return [v for v in numbers if 0 < v < 5]  # the y axis; the x axis shows steps 0-300


def test_live_plot_controls_tooltip_and_log_axis_in_chromium(browser: Any) -> None:
    page, bridge, errors = _live_page(browser, "light")
    try:
        # the tooltip names the metric (it read "metric undefined")
        box = page.locator("#out svg").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        page.wait_for_selector("#vg-tooltip-element.visible", timeout=10_000)
        tip = page.inner_text("#vg-tooltip-element")
        assert "undefined" not in tip and re.search(r"metric\s+(val_)?loss", tip), tip
        _shot(page, "live-plot-light")

        # "last N steps" applies on Enter, without leaving the box
        page.fill(".rw-live-last", "50")
        page.press(".rw-live-last", "Enter")
        bridge.until("() => true", timeout_s=0.2)
        page.wait_for_timeout(300)
        assert bridge.plot.last_n == 50
        assert page.evaluate("() => document.activeElement.className") == "rw-live-last"

        # log scale: the axis fits the losses (1.8-2.3), not whole decades (1-10)
        page.fill(".rw-live-last", "0")
        page.press(".rw-live-last", "Enter")
        page.check(".rw-live-log")
        bridge.until("() => document.querySelector('[data-rw-scale=\"log\"]') !== null")
        bridge.until("() => document.querySelectorAll('.role-axis-label text').length > 0")
        labels = _y_labels(page)
        assert labels and 10 not in labels and min(labels) >= 1.5 and max(labels) <= 2.5, labels
        _shot(page, "live-plot-log-light")
        assert errors == [], errors
    finally:
        page.close()


def test_live_plot_follows_the_dark_theme(browser: Any) -> None:
    page, _bridge, errors = _live_page(browser, "dark")
    try:
        assert page.get_attribute("[data-rw-ready]", "data-rw-theme") == "dark"
        _shot(page, "live-plot-dark")
        assert errors == [], errors
    finally:
        page.close()


# -- report and explorer HTML under both themes ------------------------------------------------


def _static_body() -> str:
    report = Report(
        (
            Finding("loss_at_init", "fail", "the loss at init is 9.1", "check the last layer"),
            Finding("outliers", "warn", "item 3 is far brighter", "look at it (rw.explore)"),
            Finding(
                "overfit_one_batch",
                "pass",
                "10 examples overfit",
                evidence={
                    "ladder": [
                        {"examples": 1, "losses": [2.3, 0.5, 0.009], "target": 0.0155},
                        {"examples": 10, "losses": [2.3, 0.9, 0.011], "target": 0.01123},
                    ]
                },
            ),
        ),
        title="Data audit",
    )
    frame = pd.DataFrame({"label": [0, 1, 0], "flags": ["", "outliers", ""]})
    images = np.zeros((3, 8, 8), dtype=np.uint8)
    images[1] = 255
    grid = grid_html(
        frame, [0, 1, 2], images=images, reasons={"outliers": report["outliers"].message}
    )
    return report_html(report) + grid


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_report_and_explorer_read_in_light_and_dark_theme(browser: Any, theme: str) -> None:
    page, errors = _open(browser, {"/": ("text/html", _page_html(theme, _static_body()))})
    try:
        page.goto(f"{ORIGIN}/")
        colour = "(s) => getComputedStyle(document.querySelector(s)).color"
        fill = "(s) => getComputedStyle(document.querySelector(s)).fill"
        want = THEMES[theme]
        assert page.evaluate(colour, ".rw-fail .rw-status") == _rgb(want["--jp-error-color0"])
        assert page.evaluate(colour, ".rw-fix") == want["--jp-ui-font-color2"]
        assert page.evaluate(colour, ".rw-flag") == _rgb(want["--jp-warn-color0"])
        assert page.evaluate(fill, ".rw-tick") == want["--jp-ui-font-color2"]
        assert "3 warnings" not in page.inner_text(".rw-report")
        assert page.inner_text(".rw-report div").startswith("Data audit: FAILED")
        assert page.get_attribute(".rw-flagged .rw-flag", "title") == (
            "outliers: item 3 is far brighter"
        )
        _shot(page, f"report-explorer-{theme}")
        assert errors == [], errors
    finally:
        page.close()


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(h[i : i + 2], 16) for i in (0, 2, 4)))


# -- the explorer's histogram ----------------------------------------------------------------


HIST_JS = """
import widget from "/explore_histogram.js";
class Model {
  constructor(state) { this.state = state; this.handlers = {}; window.rwSaved = []; }
  get(key) { return this.state[key]; }
  set(key, value) { this.state[key] = value; this.trigger(`change:${key}`); }
  save_changes() { window.rwSaved.push(structuredClone(this.state)); }
  on(event, fn) { (this.handlers[event] ??= []).push(fn); }
  off(event, fn) { this.handlers[event] = (this.handlers[event] ?? []).filter((f) => f !== fn); }
  trigger(event) { for (const fn of this.handlers[event] ?? []) fn(); }
}
window.rwModel = new Model(STATE);
widget.render({ model: window.rwModel, el: document.getElementById("out") });
"""


def _histogram_page(browser: Any, theme: str, bars: dict) -> tuple[Any, list[str]]:
    """The explorer's histogram module (static/explore_histogram.js) on a page of its own, its
    model a stand-in that records what the module saves (what the kernel would receive)."""
    state = {"bars": bars, "brush": [], "picked": []}
    html = _page_html(
        theme,
        "<div id='out'></div><script type='module'>"
        + HIST_JS.replace("STATE", json.dumps(state))
        + "</script>",
    )
    js = (ROOT / "recipe_widgets" / "static" / "explore_histogram.js").read_text()
    page, errors = _open(
        browser,
        {"/": ("text/html", html), "/explore_histogram.js": ("text/javascript", js)},
    )
    page.goto(f"{ORIGIN}/")
    page.wait_for_selector(".rw-hist[data-rw-ready='true']", timeout=30_000)
    return page, errors


def _click_bar(page: Any, i: int, modifiers: list[str] | None = None) -> None:
    box = page.locator(f".rw-hist-bar[data-bar='{i}'] .rw-hist-all").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    for key in modifiers or []:
        page.keyboard.down(key)
    page.mouse.down()
    page.mouse.up()
    for key in modifiers or []:
        page.keyboard.up(key)


def test_histogram_click_on_a_numeric_bar_selects_its_bin(browser: Any) -> None:
    # The explorer's own bars: a click on a bar selects its bin (the widget's brush), a second
    # click on it clears it; a drag selects the dragged range. Matching bars over every item's.
    from recipe_widgets.display._explore import histogram_bars, matched_counts
    from recipe_widgets.engine.explore import _queries as ex

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"brightness": rng.random(300), "label": np.arange(300) % 3})
    hist = ex.histogram(frame, "brightness", bins=10)
    matching = matched_counts(hist, np.flatnonzero(frame["label"] == 0), len(frame))
    page, errors = _histogram_page(
        browser, "light", histogram_bars(hist, matched=matching.tolist())
    )
    try:
        assert page.locator(".rw-hist-bar").count() == 10
        heights = page.evaluate(
            "() => [...document.querySelectorAll('.rw-hist-bar')].map(g =>"
            " [g.querySelector('.rw-hist-all').getBBox().height,"
            "  g.querySelector('.rw-hist-match').getBBox().height])"
        )
        assert all(0 < m < a for a, m in heights), heights  # a third of each bar matches
        _click_bar(page, 4)
        assert page.evaluate("() => window.rwModel.get('brush')") == [
            hist.edges[4],
            hist.edges[5],
        ]
        assert page.locator(".rw-hist-brush").count() == 1
        _shot(page, "explorer-histogram-click")
        _click_bar(page, 4)  # again: cleared
        assert page.evaluate("() => window.rwModel.get('brush')") == []
        first = page.locator(".rw-hist-bar[data-bar='2'] .rw-hist-all").bounding_box()
        last = page.locator(".rw-hist-bar[data-bar='6'] .rw-hist-all").bounding_box()
        y = first["y"] + first["height"] - 2
        page.mouse.move(first["x"] + 2, y)
        page.mouse.down()
        page.mouse.move(last["x"] + last["width"] / 2, y, steps=5)
        page.mouse.up()
        lo, hi = page.evaluate("() => window.rwModel.get('brush')")
        assert hist.edges[2] <= lo < hist.edges[3] and hist.edges[6] < hi < hist.edges[7], (lo, hi)
        assert len(page.evaluate("() => window.rwSaved")) == 3  # one message per gesture
        assert errors == [], errors
    finally:
        page.close()


def test_histogram_category_clicks_and_the_dark_theme(browser: Any) -> None:
    from recipe_widgets.display._explore import histogram_bars
    from recipe_widgets.engine.explore import _queries as ex

    frame = pd.DataFrame({"flags": ["", "", "", "outliers", "outliers", "label_noise"]})
    page, errors = _histogram_page(
        browser, "dark", histogram_bars(ex.histogram(frame, "flags"), matched=[3, 2, 1])
    )
    try:
        dark = THEMES["dark"]
        fill = "(s) => getComputedStyle(document.querySelector(s)).fill"
        assert page.evaluate(fill, ".rw-hist-match") == _rgb(dark["--jp-brand-color1"])
        assert page.evaluate(fill, ".rw-hist text") == dark["--jp-ui-font-color2"]
        labels = page.evaluate(
            "() => [...document.querySelectorAll('.rw-hist-bar title')].map(t => t.textContent)"
        )
        assert labels[0] == "(none): 3 of 3 items match", labels
        _click_bar(page, 1)
        assert page.evaluate("() => window.rwModel.get('picked')") == ["outliers"]
        _click_bar(page, 0, ["Shift"])
        assert page.evaluate("() => window.rwModel.get('picked')") == ["outliers", "(none)"]
        _shot(page, "explorer-histogram-dark")
        _click_bar(page, 2)
        assert page.evaluate("() => window.rwModel.get('picked')") == ["label_noise"]
        _click_bar(page, 2)
        assert page.evaluate("() => window.rwModel.get('picked')") == []
        assert errors == [], errors
    finally:
        page.close()
