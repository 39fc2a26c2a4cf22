"""What kind of problem is this? Inferred from the loss function and the targets.

The loss-at-init and init-well checks need to know the expected value of the loss for an
uninformed net, which depends on the loss: ``log C`` for cross-entropy, ``log 2`` for a balanced
binary cross-entropy, the target variance for a mean-squared error. A loss given as a module or
as a ``torch.nn.functional`` function is recognised by identity; a lambda is recognised by
evaluating the candidate losses on the same output and targets and seeing which one it equals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

TASKS = ("classification", "binary", "regression", "sequence", "other")

_BY_TYPE: dict[type, str] = {
    nn.CrossEntropyLoss: "ce",
    nn.NLLLoss: "nll",
    nn.BCEWithLogitsLoss: "bce_logits",
    nn.BCELoss: "bce",
    nn.MSELoss: "mse",
    nn.L1Loss: "l1",
    nn.SmoothL1Loss: "l1",
    nn.HuberLoss: "l1",
}
_BY_FUNCTION: dict[Any, str] = {
    F.cross_entropy: "ce",
    F.nll_loss: "nll",
    F.binary_cross_entropy_with_logits: "bce_logits",
    F.binary_cross_entropy: "bce",
    F.mse_loss: "mse",
    F.l1_loss: "l1",
    F.smooth_l1_loss: "l1",
    F.huber_loss: "l1",
}
_TASK_OF_KIND = {
    "ce": "classification",
    "nll": "classification",
    "bce_logits": "binary",
    "bce": "binary",
    "mse": "regression",
    "l1": "regression",
}


@dataclass(frozen=True)
class TaskInfo:
    task: str  # one of TASKS
    loss_kind: str  # ce, nll, bce_logits, bce, mse, l1, unknown
    n_classes: int | None = None
    class_dim: int = (
        -1
    )  # where the classes are in the output (1 for nn.CrossEntropyLoss on (B,C,T))
    ignore_index: int = -100


def _class_dim(out: torch.Tensor, y: torch.Tensor) -> int | None:
    if out.dim() == y.dim() + 1:
        if tuple(out.shape[:-1]) == tuple(y.shape):
            return -1
        if out.shape[0] == y.shape[0] and tuple(out.shape[2:]) == tuple(y.shape[1:]):
            return 1
    return None


def _candidates(out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Each known loss evaluated on (out, y), where it makes sense."""
    vals: dict[str, float] = {}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not y.is_floating_point():
            cdim = _class_dim(out, y)
            if cdim is not None:
                flat = out.movedim(cdim, -1).reshape(-1, out.shape[cdim])
                try:  # labels out of range raise here; input sanity reports them
                    vals["ce"] = float(F.cross_entropy(flat, y.reshape(-1)))
                    vals["nll"] = float(F.nll_loss(flat, y.reshape(-1)))
                except (IndexError, RuntimeError):
                    pass
        yf = y.float()
        for o in (out, out.reshape(y.shape) if out.numel() == y.numel() else None):
            if o is None:
                continue
            try:
                vals.setdefault("mse", float(F.mse_loss(o, yf)))
                vals.setdefault("l1", float(F.l1_loss(o, yf)))
                if ((yf == 0) | (yf == 1)).all():
                    vals.setdefault("bce_logits", float(F.binary_cross_entropy_with_logits(o, yf)))
                    if ((o >= 0) & (o <= 1)).all():
                        vals.setdefault("bce", float(F.binary_cross_entropy(o, yf)))
            except (RuntimeError, ValueError):
                continue
    return vals


def loss_kind_of(
    loss_fn: Callable[..., Any], out: torch.Tensor, y: torch.Tensor, value: float
) -> str:
    for cls, kind in _BY_TYPE.items():
        if type(loss_fn) is cls:
            return kind
    kind = _BY_FUNCTION.get(loss_fn)
    if kind is not None:
        return kind
    for name, v in _candidates(out, y).items():
        if math.isfinite(v) and math.isclose(v, value, rel_tol=1e-4, abs_tol=1e-6):
            return name
    return "unknown"


def infer_task(
    loss_fn: Callable[..., Any],
    out: torch.Tensor,
    y: torch.Tensor,
    value: float,
    task: str | None = None,
) -> TaskInfo:
    """The task and loss kind of this setup; ``task`` given by the user wins."""
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    kind = loss_kind_of(loss_fn, out, y, value)
    ignore = int(getattr(loss_fn, "ignore_index", -100))
    cdim = _class_dim(out, y) if not y.is_floating_point() else None
    if task is None:
        if kind in ("ce", "nll") or (kind == "unknown" and cdim is not None):
            task = "sequence" if y.dim() >= 2 else "classification"
        elif kind == "unknown":
            task = "other"
        else:
            task = _TASK_OF_KIND[kind]
    n_classes = None
    if (
        kind in ("ce", "nll")
        and y.is_floating_point()
        and tuple(y.shape) == tuple(out.shape)
        and out.dim() >= 2
    ):
        cdim = 1  # soft labels (probabilities per class), as cross_entropy takes them
        task = "classification" if task == "sequence" else task
    if task in ("classification", "sequence") and cdim is not None:
        n_classes = int(out.shape[cdim])
    elif task == "binary":
        n_classes = 2
    return TaskInfo(task, kind, n_classes, cdim if cdim is not None else -1, ignore)
