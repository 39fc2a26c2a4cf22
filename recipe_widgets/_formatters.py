"""The optional rich notebook repr of torch tensors, as IPython display formatters.

Registered by ``%load_ext recipe_widgets`` and removed by ``%unload_ext``: nothing is patched
(``torch.Tensor.__repr__`` is untouched, so ``print(x)`` and ``repr(x)`` are torch's own); only the
``text/html`` formatter gains a printer, and the printer that was there before is put back.

The printer never raises: IPython would show the error as a traceback, which nbval counts as a
failed cell. On any error it returns ``None`` and IPython falls back to the plain repr.

Switch it off without unloading the extension::

    import recipe_widgets._formatters as f
    f.rich_tensor_repr = False
"""

from __future__ import annotations

import sys
from typing import Any

#: Opt-out flag, read at display time: ``False`` leaves tensors to IPython's default repr.
rich_tensor_repr: bool = True

_STATE_ATTR = "_recipe_widgets_tensor_formatter"
_KEY = ("torch", "Tensor")


def tensor_html_printer(obj: Any) -> str | None:
    """The ``text/html`` printer: the tensor summary, or ``None`` (default repr) on any error."""
    if not rich_tensor_repr:
        return None
    try:
        from recipe_widgets.display._tensor_repr import tensor_html

        return tensor_html(obj)
    except Exception:  # noqa: BLE001 - a repr must never break a cell; fall back to the plain one
        return None


def _html_formatter(ip: Any) -> Any:
    return ip.display_formatter.formatters["text/html"]


def register(ip: Any) -> None:
    """Add the tensor printer to ``ip``'s HTML formatter; a second call changes nothing."""
    if ip is None or getattr(ip, _STATE_ATTR, None) is not None:
        return
    html = _html_formatter(ip)
    torch = sys.modules.get("torch")
    if torch is not None:
        # torch is already imported: a printer cached in type_printers would shadow a deferred
        # one, so register on the class itself (no import happens here).
        previous = html.type_printers.get(torch.Tensor)
        if previous is None:
            previous = html.deferred_printers.get(_KEY)
        html.for_type(torch.Tensor, tensor_html_printer)
    else:
        previous = html.for_type_by_name(*_KEY, tensor_html_printer)
    setattr(ip, _STATE_ATTR, {"previous": previous})


def unregister(ip: Any) -> None:
    """Remove our printer (wherever IPython moved it) and restore the previous one, if any."""
    if ip is None:
        return
    state = getattr(ip, _STATE_ATTR, None)
    if state is None:
        return
    html = _html_formatter(ip)
    for cls, printer in list(html.type_printers.items()):
        if printer is tensor_html_printer:
            del html.type_printers[cls]
    if html.deferred_printers.get(_KEY) is tensor_html_printer:
        del html.deferred_printers[_KEY]
    previous = state.get("previous")
    if previous is not None:
        html.for_type_by_name(*_KEY, previous)
        torch = sys.modules.get("torch")
        if torch is not None:
            html.for_type(torch.Tensor, previous)
            html.deferred_printers.pop(_KEY, None)
    delattr(ip, _STATE_ATTR)
