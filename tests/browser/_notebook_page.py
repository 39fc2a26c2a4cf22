"""Driving one notebook in JupyterLab or Notebook 7 the way a person would: open, run all, look.

Every wait has a timeout whose message carries what a person would need to see why: the cells
still pending, the kernel's state, the last console lines and a screenshot's path.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DOCS = ROOT / "docs"

# Console errors that are not ours to fix, each (app, substring, why it is safe to ignore).
# Anything else logged as an error, or thrown, fails the test.
BENIGN = (
    (
        "notebook7",
        "Cannot read properties of undefined (reading 'schema')",
        # Notebook 7.6's shortcuts plugin reads `plugins[id].schema` for every changed plugin,
        # including ones whose settings failed to load ("Settings failed to load for
        # @jupyterlab/metadataform-extension"). Thrown on every notebook page, with or without
        # our package (checked by hand on an empty notebook): its start-up, not our output.
        "Notebook 7.6 start-up: shortcuts plugin reads a missing settings schema",
    ),
    (
        "notebook7",
        "Command 'filebrowser:open-path' not registered.",
        "Notebook 7.6 start-up: the notebook page has no file browser; seen on an empty notebook too",
    ),
)

APPS = {
    # A workspace per page, so Lab does not reopen the tabs (and kernels) of earlier tests.
    "lab": "lab/workspaces/rw-{n}/tree/{nb}",
    "notebook7": "notebooks/{nb}",
}


@dataclass
class Console:
    """Every console line a page logged, and the errors among them that are not benign."""

    app: str
    errors: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def _benign(self, text: str) -> bool:
        return any(app == self.app and s in text for app, s, _why in BENIGN)

    def attach(self, page: Any) -> None:
        def on_console(msg: Any) -> None:
            text = f"{msg.type}: {msg.text}"
            self.lines.append(text)
            if msg.type == "error" and not self._benign(msg.text):
                self.errors.append(text)

        def on_pageerror(err: Any) -> None:
            text = f"pageerror: {err}"
            self.lines.append(text)
            if not self._benign(str(err)):
                self.errors.append(text)

        page.on("console", on_console)
        page.on("pageerror", on_pageerror)

    def tail(self, n: int = 15) -> str:
        return "\n".join(self.lines[-n:]) or "(nothing logged)"


@dataclass
class NotebookPage:
    """One open notebook: the page, its console, and where its screenshot goes."""

    page: Any
    console: Console
    server: Any
    nb: str
    app: str
    shot: Path

    def where(self) -> str:
        """What to look at when an assertion fails: a fresh screenshot and the console tail."""
        try:
            screenshot(self.page, self.shot)
            shot = str(self.shot)
        except Exception as err:  # noqa: BLE001 - a failure report must not hide the failure
            shot = f"(no screenshot: {err})"
        return f"[{self.app} {self.nb}] screenshot: {shot}\nconsole tail:\n{self.console.tail()}"

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def close(self) -> None:
        self.server.shutdown_kernels_of(self.nb)
        self.page.close()


_CURRENT = "window.jupyterapp.shell.currentWidget"


def open_notebook(
    context: Any, server: Any, nb: str, app: str, timeout: float = 60
) -> NotebookPage:
    """Open a fresh copy of ``nb`` (its own file, so its own kernel) in ``app``, kernel idle."""
    copy = server.fresh_copy(nb, app)
    page = context.new_page()
    console = Console(app)
    console.attach(page)
    view = NotebookPage(page, console, server, copy, app, ARTIFACTS / f"{Path(nb).stem}-{app}.png")
    page.goto(server.url(APPS[app].format(nb=copy, n=server._copies)))
    try:
        # The app object exists once the front end has started; the kernel once it says idle.
        page.wait_for_function(
            f"() => window.jupyterapp && {_CURRENT} && {_CURRENT}.content", timeout=timeout * 1000
        )
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout * 1000)
        page.wait_for_function(
            f"""() => {{
                const k = {_CURRENT}.sessionContext.session?.kernel;
                return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
            }}""",
            timeout=timeout * 1000,
        )
    except Exception as err:
        raise AssertionError(
            f"{nb} did not open with an idle kernel in {timeout} s: {err}\n{view.where()}"
        ) from err
    return view


def run_all(view: NotebookPage, timeout: float = 120, sample: str | None = None) -> list[Any]:
    """Run every cell; return once each code cell has an execution count and the kernel rests.

    ``sample``: a JS expression evaluated at every poll while cells run; its values are returned
    (e.g. a live plot's row count, to see it change during the run).
    """
    # Started, not awaited: the command's promise resolves only when every cell has run, and
    # the samples must be taken while they run.
    view.js("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); return true; }")
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    samples: list[Any] = []
    while time.monotonic() < deadline:
        view.page.wait_for_timeout(150 if sample else 400)
        if sample:
            samples.append(view.js(sample))
        state = view.js(
            f"""() => {{
                const w = {_CURRENT};
                const pending = [];
                w.content.widgets.forEach((c, i) => {{
                    // Lab does not send an empty code cell to the kernel: it never gets a count.
                    if (c.model.type !== 'code' || !c.model.sharedModel.getSource().trim()) return;
                    const prompt = c.node.querySelector('.jp-InputPrompt')?.textContent || '';
                    if (c.model.executionCount === null || prompt.includes('*')) pending.push(i);
                }});
                return {{pending, status: w.sessionContext.session?.kernel?.status}};
            }}"""
        )
        if not state["pending"] and state["status"] == "idle":
            return samples
    raise AssertionError(
        f"cells still running after {timeout} s: code cells {state.get('pending')} pending, kernel "
        f"{state.get('status')}\n{view.where()}"
    )


def error_outputs(view: NotebookPage) -> list[str]:
    """Tracebacks and stderr text in any cell, from the outputs' models and from the page."""
    return view.js(
        f"""() => {{
            const found = [];
            {_CURRENT}.content.widgets.forEach((cell, i) => {{
                if (cell.model.type !== 'code') return;
                for (const o of cell.model.outputs.toJSON()) {{
                    if (o.output_type === 'error')
                        found.push(`cell ${{i}}: ${{o.ename}}: ${{o.evalue}}`);
                    else if (o.output_type === 'stream' && o.name === 'stderr')
                        found.push(`cell ${{i}} stderr: ${{String(o.text).slice(0, 300)}}`);
                }}
            }});
            // What the page shows, whatever the models say: Lab renders tracebacks and stderr
            // as stderr-typed output areas.
            for (const el of document.querySelectorAll(
                    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
                found.push('shown: ' + el.textContent.slice(0, 300));
            return found;
        }}"""
    )


def wait_in_output(view: NotebookPage, selector: str, timeout: float = 30) -> None:
    """Wait for ``selector`` inside an output area, e.g. ``[data-rw-ready]`` set by our JS."""
    try:
        view.page.wait_for_selector(
            f".jp-OutputArea-output {selector}", state="attached", timeout=timeout * 1000
        )
    except Exception as err:
        raise AssertionError(
            f"{selector} did not appear in any output within {timeout} s\n{view.where()}"
        ) from err


# Counts the colours in a canvas (read back through toDataURL, so WebGL canvases work too) and
# the marks of an svg with a non-zero box. Blank means one colour, or no visible mark.
_DRAWN_JS = """async (sel) => {
    const out = [];
    for (const root of document.querySelectorAll(sel)) {
        for (const c of root.querySelectorAll('canvas')) {
            if (!c.width || !c.height) { out.push({kind: 'canvas', drawn: false, why: '0x0'}); continue; }
            const img = new Image();
            img.src = c.toDataURL('image/png');
            await img.decode();
            const probe = document.createElement('canvas');
            probe.width = c.width; probe.height = c.height;
            const ctx = probe.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            const colours = new Set();
            for (let i = 0; i < d.length && colours.size < 3; i += 4)
                colours.add((d[i] << 24 | d[i + 1] << 16 | d[i + 2] << 8 | d[i + 3]) >>> 0);
            out.push({kind: 'canvas', drawn: colours.size > 1, why: colours.size + ' colour(s)'});
        }
        for (const svg of root.querySelectorAll('svg')) {
            let marks = 0;
            for (const m of svg.querySelectorAll('path, rect, circle, line, polyline, polygon, text')) {
                const b = m.getBBox();
                if (b.width > 0 || b.height > 0) marks += 1;
            }
            out.push({kind: 'svg', drawn: marks > 1, why: marks + ' mark(s) with a non-zero box'});
        }
    }
    return out;
}"""


def assert_drawn(view: NotebookPage, selector: str, timeout: float = 30) -> None:
    """Every canvas / svg under ``selector`` (in an output area) has drawn something."""
    within = f".jp-OutputArea-output {selector}"
    wait_in_output(view, f"{selector} svg, {within} canvas", timeout)
    found = view.js(_DRAWN_JS, within)
    blank = [f for f in found if not f["drawn"]]
    assert found and not blank, (
        f"blank chart under {selector}: {blank or 'no svg or canvas'}\n{view.where()}"
    )


def screenshot(page: Any, path: Path) -> Path:
    """The whole notebook, not just the viewport: Lab scrolls inside a panel, so grow the window."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    extra = page.evaluate(
        """() => {
            const s = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
            if (!s) return 0;
            s.scrollTop = 0;  // from the top: the grown window then shows every cell
            return Math.max(0, s.scrollHeight - s.clientHeight);
        }"""
    )
    if extra:
        page.set_viewport_size(
            {"width": size["width"], "height": min(size["height"] + extra, 12_000)}
        )
        page.wait_for_timeout(300)  # let the panels lay out at the new size
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if extra:
            page.set_viewport_size(size)
    return path


def save_shot(view: NotebookPage, name: str | None = None) -> Path:
    """Screenshot into test-artifacts/browser/, and into docs/ when ``RW_UPDATE_DOCS=1``."""
    path = screenshot(view.page, ARTIFACTS / f"{name}.png" if name else view.shot)
    if os.environ.get("RW_UPDATE_DOCS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copy(path, DOCS / path.name)
    return path
