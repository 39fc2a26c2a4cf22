"""``rw.view(path)``: the live panel of a run written by another process (``logdir=``).

A background thread polls the run's files (every ``poll_seconds``, 0.5 s by default) and hands
new rows to the same :class:`LivePlot` a watch uses, and the findings to its findings pane. A
folder of runs (``rw.view("runs/")``) is shown in one chart for comparison, each metric named
``<run>/<metric>``, with each run's findings under it; runs that appear later join in.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from recipe_widgets.engine.watch import Run, RunFollower, run_from_state, runs_in


class RunView:
    """Follows one run directory or a folder of them; ``panel`` is the widget."""

    def __init__(self, path: str | Path, *, poll_seconds: float = 0.5) -> None:
        from recipe_widgets.widgets._watch_plot import LivePlot

        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(
                f"rw.view: {self.path} does not exist. Give the logdir= of rw.watch (or "
                "RecipeCallback), or a folder of such run directories."
            )
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be > 0, got {poll_seconds}")
        self.poll_seconds = poll_seconds
        # One run (metrics by their names) or a folder of runs (prefixed by the run): decided
        # by what the path holds when the first run file appears there.
        self.single: bool | None = None
        self.followers: dict[Path, RunFollower] = {}
        # Every poll sends what it read: the view paces itself (poll_seconds) and shares its
        # thread with no training loop, so the panel's send budget does not apply.
        self.plot = LivePlot(summary=self.__repr__, min_interval=0.0, budget=1.0)
        self._shown: tuple[int, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.poll()

    @property
    def panel(self) -> Any:
        return self.plot

    @property
    def runs(self) -> dict[str, Run]:
        """Each followed run as read so far (history, LR, report), by name."""
        with self._lock:
            return {f.state.name: run_from_state(f.state) for f in self.followers.values()}

    def poll(self) -> int:
        """Read what the writers appended since the last poll; returns the number of new rows."""
        with self._lock:
            runs = runs_in(self.path)
            if self.single is None and runs:
                self.single = runs == [self.path]
            for run in runs:
                if run not in self.followers:
                    self.followers[run] = RunFollower(run)
            count = 0
            for follower in self.followers.values():
                rows = follower.poll()
                count += len(rows)
                if not self.single:
                    label = follower.path.name
                    rows = [(s, {f"{label}/{k}": v for k, v in vs.items()}) for s, vs in rows]
                if rows:
                    self.plot.add_rows(rows)
            self._render_findings()
        return count

    def _render_findings(self) -> None:
        shown = tuple(len(f.state.findings) for f in self.followers.values())
        if shown == self._shown:  # findings change rarely: re-render only then
            return
        self._shown = shown
        from recipe_widgets.display._report import report_html

        parts = []
        for follower in self.followers.values():
            report = run_from_state(follower.state).report
            if report.findings:
                parts.append(report_html(report))
        self.plot.findings = "".join(parts)

    def start(self) -> RunView:
        """Follow the files in a background thread until :meth:`stop` (or the panel closes)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._follow, name="rw.view", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _follow(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            if self.plot.comm is None:  # the widget was closed
                return
            self.poll()

    def __repr__(self) -> str:
        names = [f.state for f in self.followers.values()]
        parts = []
        for state in names:
            steps = int(state.rows[-1]["step"]) if state.rows else 0
            parts.append(f"{state.name}: steps={steps}, {len(state.findings)} findings")
        return f"RunView({self.path}; {'; '.join(parts) or 'no runs yet'})"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.plot._repr_mimebundle_(**kwargs)


def view(path: str | Path, *, poll_seconds: float = 0.5, follow: bool = True) -> RunView:
    """Show a run written with ``logdir=`` (by this or any other process, e.g. a training script)
    as the live panel, following its files as they grow: ``rw.view("runs/exp1")``. A folder of
    runs, ``rw.view("runs/")``, overlays all of them. ``follow=False`` reads once (no thread);
    ``v.poll()`` reads again, ``v.stop()`` stops following."""
    v = RunView(path, poll_seconds=poll_seconds)
    return v.start() if follow else v
