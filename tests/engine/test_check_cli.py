"""``python -m recipe_widgets check module:factory``: exit 0 clean, 1 failures, 2 unusable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recipe_widgets.__main__ import main

SETUPS = textwrap.dedent("""
    import torch
    from torch import nn

    def _data():
        g = torch.Generator().manual_seed(0)
        x = torch.randn(200, 4, generator=g)
        return x, (x[:, 0] + x[:, 1] > 0).long()

    def clean():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        return {"model": model, "data": _data(), "loss_fn": nn.CrossEntropyLoss(),
                "checks": ["input_sanity", "loss_at_init", "overfit_one_batch"]}

    def broken():
        args = clean()
        args["model"] = nn.Sequential(*args["model"], nn.Softmax(-1))
        return args

    def unusable():
        args = clean()
        args["data"] = "not data"
        return args

    def not_a_dict():
        return 3
""")


@pytest.fixture
def setups_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "rw_cli_setups.py").write_text(SETUPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return str(tmp_path)


def test_exit_statuses_and_json(setups_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "rw_cli_setups:clean", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert [f["check"] for f in data["findings"]] == [
        "setup",
        "input_sanity",
        "loss_at_init",
        "overfit_one_batch",
    ]
    assert main(["check", "rw_cli_setups:broken"]) == 1
    assert "overfit_one_batch" in capsys.readouterr().out
    assert main(["check", "rw_cli_setups:unusable"]) == 2
    assert "Dataset or a DataLoader" in capsys.readouterr().err
    assert main(["check", "rw_cli_setups:not_a_dict"]) == 2
    assert main(["check", "rw_cli_setups"]) == 2
    assert "module:factory" in capsys.readouterr().err
    assert main(["check", "no_such_module_xyz:f"]) == 2


def test_python_dash_m_runs(setups_module: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([setups_module, str(Path.cwd())])}
    proc = subprocess.run(
        [sys.executable, "-m", "recipe_widgets", "check", "rw_cli_setups:broken"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "fail" in proc.stdout


def test_check_engine_imports_no_display_stack() -> None:
    code = (
        "import sys, recipe_widgets.engine.check as c; c.check; "
        "bad = [m for m in ('IPython', 'ipywidgets', 'altair', 'anywidget') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
