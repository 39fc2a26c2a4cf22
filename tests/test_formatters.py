"""The tensor display formatter: added by register, fully undone by unregister, never raising."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import torch
from IPython.core.interactiveshell import InteractiveShell

from recipe_widgets import _formatters
from recipe_widgets.display import _tensor_repr


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    yield shell
    _formatters.unregister(shell)


def _html(shell: InteractiveShell, obj: object) -> str | None:
    data, _ = shell.display_formatter.format(obj)
    assert "text/plain" in data  # the plain repr is always there
    return data.get("text/html")


def test_register_adds_summary_and_unregister_removes_it(ip: InteractiveShell) -> None:
    x = torch.arange(6.0).reshape(2, 3)
    assert _html(ip, x) is None
    _formatters.register(ip)
    _formatters.register(ip)  # loading twice is harmless
    html = _html(ip, x)
    assert html is not None and "tensor[2, 3] float32 cpu 24 B  min 0  max 5  mean 2.5" in html
    assert "rw-tensor" in (_html(ip, torch.nn.Parameter(x)) or "")  # the MRO covers Parameter
    assert repr(x).startswith("tensor(")  # nothing patched
    _formatters.unregister(ip)
    _formatters.unregister(ip)  # unloading twice too
    assert _html(ip, x) is None
    html_formatter = ip.display_formatter.formatters["text/html"]
    assert _formatters.tensor_html_printer not in html_formatter.type_printers.values()
    assert _formatters.tensor_html_printer not in html_formatter.deferred_printers.values()


def test_previous_printer_restored(ip: InteractiveShell) -> None:
    html_formatter = ip.display_formatter.formatters["text/html"]

    def theirs(obj: object) -> str:
        return "<b>theirs</b>"

    html_formatter.for_type(torch.Tensor, theirs)
    try:
        _formatters.register(ip)
        assert "rw-tensor" in (_html(ip, torch.ones(2)) or "")
        _formatters.unregister(ip)
        assert _html(ip, torch.ones(2)) == "<b>theirs</b>"
    finally:
        html_formatter.pop(torch.Tensor, None)
        html_formatter.deferred_printers.pop(("torch", "Tensor"), None)


def test_never_raises_and_opt_out(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    _formatters.register(ip)

    def broken(t: object, stats: object = None) -> str:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(_tensor_repr, "tensor_html", broken)
    assert _html(ip, torch.ones(3)) is None  # falls back to the plain repr, no traceback
    monkeypatch.undo()
    monkeypatch.setattr(_formatters, "rich_tensor_repr", False)
    assert _html(ip, torch.ones(3)) is None
    monkeypatch.setattr(_formatters, "rich_tensor_repr", True)
    assert _html(ip, torch.ones(3)) is not None


def test_registers_by_name_before_torch_is_imported() -> None:
    code = textwrap.dedent(
        """
        import sys
        from IPython.core.interactiveshell import InteractiveShell
        from recipe_widgets import _formatters
        ip = InteractiveShell.instance()
        _formatters.register(ip)
        assert "torch" not in sys.modules, "register must not import torch"
        import torch
        data, _ = ip.display_formatter.format(torch.zeros(2, 2))
        assert "zeros 4" in data["text/html"], data
        _formatters.unregister(ip)
        data, _ = ip.display_formatter.format(torch.zeros(2, 2))
        assert "text/html" not in data, data
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
