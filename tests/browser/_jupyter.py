"""A throwaway Jupyter server and Chromium's settings, for tests that look at what a person sees.

The server binds 127.0.0.1 with a random token, serves a temp copy of the notebooks, keeps its
config, runtime files, settings, workspaces and kernel spec in a temp home, and never reaches
the network (news and update checks off). Chromium is Debian's (Playwright cannot download its
own here), started with the flags that keep it from calling home.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
LAB_SETTINGS = {
    # Lab would otherwise ask about (and then fetch) news and updates from the internet.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # By default cells outside the viewport are skipped by the browser's renderer; the tests
    # measure charts anywhere in the notebook and screenshot all of it, so attach every cell.
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JupyterServer:
    """``jupyter lab`` (which also serves Notebook 7's pages) run from this interpreter."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root, self.home = root, home
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = home / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._copies = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def _write_home(self) -> dict[str, str]:
        settings = self.home / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            package, name = plugin.split(":")
            path = settings / package / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        # A kernel spec naming this very interpreter, found before any user or system one, so
        # the notebooks run against the package under test whatever else is installed.
        spec = self.home / "jupyter-path" / "kernels" / "python3"
        spec.mkdir(parents=True, exist_ok=True)
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "Python 3 (recipe_widgets tests)",
                    "language": "python",
                }
            )
        )
        return dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            JUPYTER_PATH=str(self.home / "jupyter-path"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"),
            IPYTHONDIR=str(self.home / "ipython"),
            MPLCONFIGDIR=str(self.home / "matplotlib"),
            RW_PROGRESS="0",
            PYTHONHASHSEED="0",
        )

    def start(self, timeout: float = 90) -> None:
        env = self._write_home()
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            f"--IdentityProvider.token={self.token}",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.open_browser=False",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")  # Jupyter refuses to start as root without it
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                if self.api("GET", "api/status", timeout=2) is not None:
                    return
            except (OSError, ValueError):
                time.sleep(0.3)  # not listening yet
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, timeout: float = 10) -> Any:
        req = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else {}

    def add_notebook(self, name: str, sources: list[str]) -> str:
        """Write a notebook of code cells into the served folder; returns its name."""
        cells = [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(sources)
        ]
        nb = {
            "cells": cells,
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
        }
        (self.root / name).write_text(json.dumps(nb, indent=1))
        return name

    def fresh_copy(self, nb: str, tag: str) -> str:
        """A copy of ``nb`` under a new name: its own file, session and fresh kernel."""
        self._copies += 1
        name = f"{Path(nb).stem}-{tag}-{self._copies}.ipynb"
        shutil.copy(self.root / nb, self.root / name)
        return name

    def shutdown_kernels_of(self, nb: str) -> None:
        """End the sessions (and kernels) opened on ``nb``, so memory stays flat across tests."""
        try:
            for s in self.api("GET", "api/sessions"):
                if Path(s.get("path", "")).name == nb:
                    self.api("DELETE", f"api/sessions/{s['id']}")
        except (OSError, ValueError):
            pass  # the server is gone or busy: stop() at session end ends every kernel anyway

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # on SIGTERM the server shuts its kernels down, then exits
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def copy_notebooks(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for nb in src.glob("*.ipynb"):
        shutil.copy(nb, dst / nb.name)
