"""What both framework callbacks share: requiring the framework, starting and ending a watch."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch
from torch import nn


def require(module: str, extra: str) -> Any:
    """Import ``module`` or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"recipe_widgets.integrations.{extra} needs {module}: "
            f"pip install 'recipe-widgets[{extra}]'."
        ) from err


def unwrap(optimizer: Any) -> torch.optim.Optimizer:
    """The torch optimizer under a framework's wrapper (accelerate's ``AcceleratedOptimizer``,
    Lightning's ``LightningOptimizer``): the one whose step hooks run on every update."""
    seen = 0
    while seen < 8:
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer):
            break
        optimizer, seen = inner, seen + 1
    return optimizer


def start_watch(
    model: nn.Module,
    optimizers: list[Any],
    *,
    name: str,
    logdir: str | Path | None,
    display: bool | None,
    stats_every: int,
) -> Any:
    """``rw.watch`` on the framework's model and (unwrapped) optimizers, not yet entered."""
    from recipe_widgets.widgets._watch import watch

    opts = [unwrap(o) for o in optimizers]
    return watch(model, opts, name=name, logdir=logdir, display=display, stats_every=stats_every)


def numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """The scalar entries of a framework's metrics dict (strings and the like left out)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, torch.Tensor):
            if value.numel() == 1:
                out[key] = float(value.detach().item())
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    return out
