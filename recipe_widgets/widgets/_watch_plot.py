"""``LivePlot``: the watch's training chart, appended to as the loop runs.

Why our own anywidget: Altair's ``JupyterChart`` can only replace its data, so every update
would re-send the whole history. Here the spec is sent once, and each update is a custom
message carrying only the new points (``{"series": {metric: [steps, values]}}``), which the
front end applies as a Vega changeset. Updates are throttled (at most one message per
``min_interval`` seconds) and thinned once a series passes ``max_points`` rows, so a 100k-step
run costs the browser what a few thousand do.

Each message costs the training loop a fixed price, whatever it carries: the kernel's message
layers run on the loop's thread, and the IOPub thread that ships it takes the GIL. Timed around
``send`` in a kernel on a shared 2-core machine: about 0.3 ms quiet, 1.5-2 ms when another process
keeps the cores busy. So the panel times its own sends and spends at most ``budget`` of
the loop's wall time on them (a token bucket): on a quiet machine that is every ``min_interval``,
on a busy one fewer messages (never under one per ``max_interval``), each carrying more points.
A view that appears later (page reload, second display) asks for a one-off ``replay``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from html import escape
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as W
import pandas as pd
import traitlets as T

from recipe_widgets.display._watch import DATASET, decimate, training_chart
from recipe_widgets.widgets._base import StaticFallbackMixin

_STATIC = Path(__file__).resolve().parent.parent / "static"
# The most send credit the budget saves up (seconds): one dear message after a pause, so that a
# machine turning busy is throttled within a message or two.
_CREDIT_CAP = 0.002


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one ES module, built once per kernel (takes ~2 s)."""
    import vl_convert

    return vl_convert.javascript_bundle("export { vegaEmbed, vega, vegaLite };")


class VegaBundle(anywidget.AnyWidget):
    """Vega's code, sent to the browser once per kernel and shared by every widget that draws
    with it (each holds a reference to this model, not its own 1-2 MB copy)."""

    _esm = "export default { render() {} };"
    bundle = T.Unicode(help="an ES module with Vega in it (no CDN)").tag(sync=True)


_shared: dict[str, VegaBundle] = {}


def shared_bundle(code: str | None = None, *, name: str = "vega") -> VegaBundle:
    """The kernel's one VegaBundle of that ``name`` (``"vega"``: the live plot's Vega and
    vega-embed; ``"altair"``: Altair's chart front end), re-made if it was closed, or when other
    code is given."""
    code = vega_bundle() if code is None else code
    current = _shared.get(name)
    if current is None or current.comm is None or current.bundle != code:
        current = _shared[name] = VegaBundle(bundle=code)
    return current


@functools.lru_cache(maxsize=8)
def _empty_spec(log_y: bool, last_n: int | None) -> str:
    """The live chart's spec without data, built (and validated) once per view option: Altair
    takes ~0.2 s per chart, which a short training loop should not pay for every watch."""
    import json

    return json.dumps(training_chart(None, log_y=log_y, last_n=last_n).to_dict())


def _spec(*, log_y: bool, last_n: int | None) -> dict[str, Any]:
    """A fresh copy of the live chart's spec for these view options (each plot owns its own)."""
    import json

    return json.loads(_empty_spec(log_y, last_n))


class LivePlot(StaticFallbackMixin, anywidget.AnyWidget):
    """The live panel: a log-scale toggle and a last-N box, an Altair chart of ``step, metric,
    value`` rows (see :meth:`add_rows`), and the findings so far. One widget, one comm: the
    controls are drawn by its own front end, not by ipywidgets of their own.

    ``min_interval`` / ``max_interval``: seconds between messages while rows come, at least /
    at most (the budget decides in between); ``budget``: the fraction of wall time sending may
    take; ``max_points``: points per series before thinning; ``clock``: the time source, for
    pacing and for timing sends (tests pass a fake one)."""

    _esm = _STATIC / "live_plot.js"
    _vega = T.Instance(VegaBundle, help="the kernel's shared Vega code").tag(
        sync=True, **W.widget_serialization
    )
    spec = T.Dict(help="the Vega-Lite spec (data empty: rows arrive as appends)").tag(sync=True)
    dataset = T.Unicode(DATASET, help="name of the Vega dataset the rows go to").tag(sync=True)
    log_y = T.Bool(False, help="log-scale value axis").tag(sync=True)
    last_n = T.Int(None, allow_none=True, help="show only the last N steps").tag(sync=True)
    findings = T.Unicode("", help="the findings so far, as HTML (shown under the chart)").tag(
        sync=True
    )

    def __init__(
        self,
        *,
        min_interval: float = 0.15,
        max_interval: float = 1.0,
        budget: float = 0.003,
        max_points: int = 2000,
        summary: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        bundle: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not 0 <= min_interval <= max_interval:
            raise ValueError(
                f"min_interval and max_interval must satisfy 0 <= min_interval <= max_interval, "
                f"got {min_interval} and {max_interval}"
            )
        if not 0 < budget <= 1:
            raise ValueError(f"budget is a fraction of the loop's time in (0, 1], got {budget}")
        plain = "log_y" not in kwargs and "last_n" not in kwargs
        if plain:  # the spec goes out with the widget's open message, not in an update after it
            kwargs.setdefault("spec", _spec(log_y=False, last_n=None))
        super().__init__(_vega=shared_bundle(bundle), **kwargs)
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.budget = budget
        self.max_points = max_points
        self._clock = clock
        self._summary = summary
        # Per series, the points kept (point n of a series is kept when n % stride(n) == 0,
        # the same points the browser gets: memory O(max_points * log n), not O(n)), how many
        # of them have been sent, how many points came in all, and the latest one.
        self._steps: dict[str, list[int]] = {}
        self._values: dict[str, list[float]] = {}
        self._sent: dict[str, int] = {}
        self._count: dict[str, int] = {}
        self._every: dict[str, int] = {}  # the series' stride now
        self._latest: dict[str, tuple[int, float]] = {}
        self._last_send = -float("inf")
        self.messages_sent = 0
        # The send budget: credit (seconds of sending allowed) earns ``budget`` per second of
        # wall time, up to one dear message's worth; each send costs what it took.
        self._credit = _CREDIT_CAP
        self._credit_at = clock()
        if not plain:
            self._rebuild()
        self.on_msg(self._on_front_end)

    @T.observe("log_y", "last_n")
    def _on_view_options(self, change: dict[str, Any]) -> None:
        if change["name"] == "last_n" and change["new"] is not None and change["new"] <= 0:
            self.last_n = None  # 0 (or less) in the box means all steps
            return
        self._rebuild()

    def _rebuild(self) -> None:
        self.spec = _spec(log_y=self.log_y, last_n=self.last_n)

    # -- feeding ------------------------------------------------------------------------------

    def add_rows(self, rows: Iterable[tuple[int, dict[str, float]]]) -> None:
        """Take ``(step, {metric: value})`` pairs (what the watch hands its listeners) and send
        what is due. NaN and Inf are left out: the report says so, and a point at infinity
        would wreck the axis."""
        steps_of, values_of, count, every = self._steps, self._values, self._count, self._every
        cap = self.max_points
        for step, values in rows:
            for metric, value in values.items():
                if value is None or value - value != 0.0:
                    continue
                n = count.get(metric)
                if n is None:
                    n = 0
                    steps_of[metric], values_of[metric] = [], []
                    self._sent[metric], every[metric] = 0, 1
                stride = every[metric]
                if n >= cap * stride:  # 1 up to max_points points, then 2, 4, ...: the
                    # browser and this list hold O(max_points * log n) points per series
                    stride = every[metric] = stride * 2
                count[metric] = n + 1
                self._latest[metric] = (step, float(value))
                if n % stride == 0:
                    steps_of[metric].append(step)
                    values_of[metric].append(float(value))
        if self._may_send():
            self.flush()

    def _may_send(self) -> bool:
        """Is a message due: ``min_interval`` since the last one, and either the send budget
        has credit or ``max_interval`` has passed (the plot stays live on any machine)?"""
        now = self._clock()
        waited = now - self._last_send
        if waited < self.min_interval:
            return False
        credit = self._credit + self.budget * (now - self._credit_at)
        self._credit, self._credit_at = min(credit, _CREDIT_CAP), now
        return self._credit >= 0 or waited >= self.max_interval

    def add_row(self, row: dict[str, Any]) -> None:
        """One history row, ``{"step": 3, "loss": 0.4, ...}``."""
        self.add_rows([(row["step"], {k: v for k, v in row.items() if k != "step"})])

    def _due(self) -> dict[str, list[list[float]]]:
        """The kept points not yet sent (point ``n`` of a series is kept if ``n % stride(n) ==
        0``), per series as ``[steps, values]``: flat lists cost a fraction of per-row objects
        to encode, and the front end makes the rows."""
        out: dict[str, list[list[float]]] = {}
        for metric, steps in self._steps.items():
            start, end = self._sent[metric], len(steps)
            if start == end:
                continue
            self._sent[metric] = end
            out[metric] = [steps[start:end], self._values[metric][start:end]]
        return out

    def flush(self) -> None:
        """Send what is pending now (the watch calls this when the loop ends)."""
        series = self._due()
        if not series:
            return
        start = self._clock()
        self.send({"type": "append", "series": series})
        self._last_send = end = self._clock()
        self._credit -= end - start
        self.messages_sent += 1

    def _on_front_end(self, widget: Any, content: Any, buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "replay":
            for metric, steps in self._steps.items():
                self._sent[metric] = len(steps)
            snap = self._snapshot()
            series = {
                str(metric): [part["step"].tolist(), part["value"].tolist()]
                for metric, part in snap.groupby("metric", sort=False)
            }
            self.send({"type": "replay", "series": series})
            self.messages_sent += 1
            self._last_send = self._clock()

    def _snapshot(self) -> pd.DataFrame:
        """The kept points and each series' latest one, at most ``max_points`` per series."""
        steps, metrics, values = [], [], []
        for m, kept in self._steps.items():
            tail = [self._latest[m]] if kept[-1] != self._latest[m][0] else []
            steps += kept + [s for s, _ in tail]
            values += self._values[m] + [v for _, v in tail]
            metrics += [m] * (len(kept) + len(tail))
        long = pd.DataFrame(
            {"step": steps, "metric": metrics, "value": values},
            columns=["step", "metric", "value"],
        )
        return decimate(long, self.max_points)

    # -- display without a front end ----------------------------------------------------------

    def _static_text(self) -> str:
        if self._summary is not None:
            return self._summary()
        points = sum(self._count.values())
        return f"LivePlot({points} points, {len(self._steps)} series)"

    def _static_html(self) -> str:
        """A PNG of the chart as it stands (for GitHub / nbviewer) and the findings."""
        text = escape(self._static_text())
        if not any(self._steps.values()):
            return f"<div><pre>{text}</pre>{self.findings}</div>"
        import base64

        import vl_convert

        chart = training_chart(self._snapshot(), log_y=self.log_y, last_n=self.last_n)
        png = base64.b64encode(vl_convert.vegalite_to_png(chart.to_dict())).decode("ascii")
        return f'<div><pre>{text}</pre><img alt="{text}" src="data:image/png;base64,{png}">{self.findings}</div>'
