"""``rw.watch``: the engine's :class:`Watch` plus, in a notebook, the live plot and findings.

The engine does the listening; this module only wires its rows to a :class:`LivePlot` and its
findings to an HTML line under it. ``display=False`` gives the engine watch unchanged (scripts,
tests, nbval): same findings, same history, no widget.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.watch import Watch, WatchConfig
from recipe_widgets.widgets._base import StaticFallbackMixin


def _panel_class() -> type:
    import ipywidgets as W

    class WatchPanel(StaticFallbackMixin, W.VBox):
        """Controls, the live plot, the findings, and (after the loop) the tracked-batch charts."""

        def __init__(self, plot: Any, findings: Any) -> None:
            self.log_y = W.Checkbox(description="log scale", indent=False, layout=W.Layout(width="110px"))
            self.last_n = W.BoundedIntText(
                0, min=0, max=10**9, description="last N steps (0: all)", style={"description_width": "initial"},
                layout=W.Layout(width="230px"),
            )
            self.extra = W.Output()  # prediction dynamics / overfit view, filled when the loop ends
            super().__init__([W.HBox([self.log_y, self.last_n]), plot, findings, self.extra])
            self.plot, self.findings = plot, findings
            W.link((self.log_y, "value"), (plot, "log_y"))
            self.last_n.observe(self._on_last_n, "value")

        def _on_last_n(self, change: dict[str, Any]) -> None:
            self.plot.last_n = change["new"] or None

        def _static_text(self) -> str:
            return self.plot._static_text()

        def _static_html(self) -> str:
            return self.plot._static_html() + self.findings.value

    return WatchPanel


class LiveWatch(Watch):
    """A :class:`Watch` that shows itself while the loop runs."""

    def __init__(self, *args: Any, display: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import ipywidgets as W

        from recipe_widgets.widgets._live_plot import LivePlot

        self.plot = LivePlot(summary=lambda: Watch.__repr__(self))
        self.findings_html = W.HTML()
        self.panel = _panel_class()(self.plot, self.findings_html)
        self._shown = 0
        self._display = display  # injectable for tests; IPython's display() by default
        self.add_listener(self._on_row)

    def _on_row(self, row: dict[str, Any]) -> None:
        self.plot.add_row(row)
        n = len(self._findings)
        if n != self._shown:  # findings change rarely: re-render only then
            self._shown = n
            self._render_findings()

    def _render_findings(self) -> None:
        from recipe_widgets.display._report import report_html

        report = self.report
        self.findings_html.value = report_html(report) if report.findings else ""

    def __enter__(self) -> LiveWatch:
        super().__enter__()
        show = self._display
        if show is None:
            from IPython.display import display as show
        show(self.panel)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        try:
            return super().__exit__(exc_type, exc, tb)
        finally:
            self.plot.flush()
            self._render_findings()
            self._show_tracked()

    def _show_tracked(self) -> None:
        """Prediction dynamics (and the overfit view when labels were given) under the plot."""
        if not self.predictions:
            return
        from recipe_widgets import charts

        try:
            chart = charts.predictions(self)
            if isinstance(self.tracked, (tuple, list)) and len(self.tracked) > 1:
                chart = chart | charts.overfit(self)
        except (ValueError, TypeError, IndexError) as err:  # odd outputs: say so, keep the run
            self.panel.extra.append_stdout(f"prediction dynamics unavailable: {err}\n")
            return
        self.panel.extra.append_display_data(charts.show(chart))


def watch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | Iterable[torch.optim.Optimizer] | None = None,
    *,
    display: bool = True,
    name: str = "run",
    stats_every: int = 25,
) -> Watch:
    """Watch your own training loop: ``with rw.watch(model, optimizer) as w: ... w.log(loss=l)``.

    Hooks on the optimizer step and the model's forward catch the bugs of a hand-written loop
    (forgotten ``zero_grad``, NaN loss, LR decayed to ~0, evaluation in train mode, ...) while
    it runs; ``w.history`` and ``w.report`` hold what was logged and found, also after an error.
    ``display=False`` for scripts and tests; ``stats_every`` sets how often gradient, update
    and activation statistics are sampled (every bug is still reported within 50 steps).
    """
    config = WatchConfig(stats_every=stats_every)
    if not display:
        return Watch(model, optimizer, config=config, name=name)
    return LiveWatch(model, optimizer, config=config, name=name)
