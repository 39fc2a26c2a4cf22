"""``rw.watch``: the engine's :class:`Watch` plus, in a notebook, the live panel.

The engine does the listening; this module only hands its rows and findings to a
:class:`LivePlot` (chart, controls and findings in one widget, so one comm to open per watch).
``display=False`` gives the engine watch unchanged (scripts, tests, nbval): same findings, same
history, no widget.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.watch import Watch, WatchConfig


class LiveWatch(Watch):
    """A :class:`Watch` that shows itself while the loop runs."""

    def __init__(self, *args: Any, display: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from recipe_widgets.widgets._watch_plot import LivePlot

        self.plot = LivePlot(summary=lambda: Watch.__repr__(self))
        self._shown = 0
        self._display = display  # injectable for tests; IPython's display() by default
        self.add_listener(self._on_rows)

    @property
    def panel(self) -> Any:
        """What the notebook shows: the live plot with its controls and findings."""
        return self.plot

    def _on_rows(self, rows: list[tuple[int, dict[str, float]]]) -> None:
        self.plot.add_rows(rows)
        n = len(self._findings)
        if n != self._shown:  # findings change rarely: re-render only then
            self._shown = n
            self._render_findings()

    def _render_findings(self, done: bool = False) -> None:
        """The findings under the chart: in full while the loop runs; once it ends, folded
        under their headline. A cell that ends with ``w.report`` then prints them once, and
        the panel still opens them with one click."""
        from recipe_widgets.display._report import report_html, summary_line

        report = self.report
        html = report_html(report) if report.findings else ""
        if done and html:
            html = (
                "<details class='rw-findings-folded'><summary style='cursor:pointer'>"
                f"{escape(summary_line(report))} (w.report shows them)</summary>{html}</details>"
            )
        if html != self.plot.findings:
            self.plot.findings = html

    def _show(self, obj: Any) -> None:
        show = self._display
        if show is None:
            from IPython.display import display as show
        show(obj)

    def __enter__(self) -> LiveWatch:
        super().__enter__()
        self._show(self.plot)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        try:
            return super().__exit__(exc_type, exc, tb)
        finally:
            self.plot.flush()
            self._render_findings(done=True)
            self._show_tracked()

    def _show_tracked(self) -> None:
        """Prediction dynamics (and the overfit view when labels were given) under the plot."""
        if not self.predictions:
            return
        from recipe_widgets.display import _watch as wc
        from recipe_widgets.widgets._chart import show

        try:
            chart = wc.run_prediction_chart(self)
            if isinstance(self.tracked, (tuple, list)) and len(self.tracked) > 1:
                chart = chart & wc.run_overfit_chart(self)  # stacked: side by side overflows
        except (ValueError, TypeError, IndexError) as err:  # odd outputs: say so, keep the run
            print(f"prediction dynamics unavailable: {err}")
            return
        self._show(show(chart))


def watch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | Iterable[torch.optim.Optimizer] | None = None,
    *,
    display: bool | None = None,
    name: str = "run",
    stats_every: int = 25,
    logdir: str | Path | None = None,
) -> Watch:
    """Watch your own training loop: ``with rw.watch(model, optimizer) as w: ... w.log(loss=l)``.

    Hooks on the optimizer step and the model's forward catch the bugs of a hand-written loop
    (forgotten ``zero_grad``, NaN loss, LR decayed to ~0, evaluation in train mode, ...) while
    it runs; ``w.history`` and ``w.report`` hold what was logged and found, also after an error.
    ``logdir="runs/exp1"`` also appends the run to that directory as it goes (history, LR,
    findings, sampled gradient norms; one JSON Lines file per process), for :func:`rw.view
    <recipe_widgets.view>` in a notebook, :func:`rw.load_run <recipe_widgets.load_run>`,
    ``pandas.read_json(path, lines=True)`` or TensorBoard (``w.to_tensorboard``).
    ``display`` defaults to showing the panel in a notebook kernel and nothing elsewhere (a
    script); ``display=False`` for scripts and tests; gradient, update and activation statistics are
    taken in a window of two consecutive steps every ``2 * stats_every`` steps, so each bug is
    reported within that many steps (50 with the default).
    """
    config = WatchConfig(stats_every=stats_every)
    if display is None:
        display = in_kernel()
    if not display:
        return Watch(model, optimizer, config=config, name=name, logdir=logdir)
    return LiveWatch(model, optimizer, config=config, name=name, logdir=logdir)


def in_kernel() -> bool:
    """Is this a Jupyter kernel (where a widget shows), rather than a script or a terminal?"""
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
