"""``rw.evaluate``: the recipe's "add significant digits to your eval".

The whole set, in eval mode under ``no_grad``, every module's mode restored; each figure is a
mean over examples with its standard error (std / sqrt(n)), so two runs can be told apart from
noise.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from recipe_widgets.engine.check._data import (
    UnusableInput,
    _as_inputs,
    _split,
    call_model,
    default_output_fn,
)
from recipe_widgets.engine.check._state import RngState
from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.validate import names, not_text, whole

Metric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Evaluation:
    """``figures``: name -> (mean, standard error) over ``n`` examples."""

    n: int
    figures: dict[str, tuple[float, float]]

    def __getitem__(self, name: str) -> tuple[float, float]:
        return self.figures[name]

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={_pm(v, se)}" for k, (v, se) in self.figures.items())
        return f"Evaluation(n={self.n}, {parts})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "figures": {k: {"mean": v, "stderr": se} for k, (v, se) in self.figures.items()},
        }


def _pm(v: float, se: float) -> str:
    if not math.isfinite(se) or se == 0:
        return fmt(v)
    digits = max(0, 1 - int(math.floor(math.log10(se))))  # two significant digits of the error
    return f"{v:.{digits}f} ± {se:.{digits}f}"


def accuracy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example accuracy: argmax over the last dim, or a 0 threshold for one logit."""
    if out.dim() == y.dim() + 1 and out.shape[-1] > 1:
        hit = (out.argmax(-1) == y).float()
    else:
        hit = ((out.reshape(y.shape) > 0).long() == y.long()).float()
    return hit.reshape(len(y), -1).mean(1)


_NAMED: dict[str, Metric] = {"accuracy": accuracy}


def _per_example_loss(
    loss_fn: Callable[..., torch.Tensor], out: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    if isinstance(getattr(loss_fn, "reduction", None), str):
        unreduced = copy.copy(loss_fn)
        unreduced.reduction = "none"
        v = unreduced(out, y)
        if v.dim() >= 1 and v.shape[0] == len(y):
            return v.reshape(len(y), -1).float().mean(1)
    # an opaque loss: evaluate it per example (correct, slower)
    return torch.stack(
        [loss_fn(out[i : i + 1], y[i : i + 1]).float().reshape(()) for i in range(len(y))]
    )


def _batches(
    data: Any, batch_fn: Callable[[Any], Any] | None, batch_size: int
) -> Iterator[tuple[Any, torch.Tensor]]:
    if isinstance(data, DataLoader):
        for b in data:
            yield _split(b, batch_fn)
    elif isinstance(data, Dataset):
        for b in DataLoader(data, batch_size=batch_size, shuffle=False):
            yield _split(b, batch_fn)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        inputs, y = _split(tuple(data), batch_fn)
        for s in range(0, len(y), batch_size):
            part = (
                {k: v[s : s + batch_size] for k, v in inputs.items()}
                if isinstance(inputs, dict)
                else tuple(v[s : s + batch_size] for v in inputs)
            )
            yield _as_inputs(part), y[s : s + batch_size]
    else:
        raise UnusableInput(
            f"data must be an (inputs, targets) tuple, a Dataset or a DataLoader;"
            f" got {type(data).__name__}."
        )


def evaluate(
    model: nn.Module,
    data: Any,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    *,
    metrics: Mapping[str, Metric] | list[str] | tuple[str, ...] = ("accuracy",),
    batch_fn: Callable[[Any], Any] | None = None,
    output_fn: Callable[[Any], torch.Tensor] | None = None,
    batch_size: int = 256,
) -> Evaluation:
    """Evaluate on the whole of ``data``; every figure comes with its standard error.

    ``metrics``: names (``"accuracy"``) or ``name -> fn(output, targets)`` returning one value
    per example. The model's modes and every global RNG are as before afterwards.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    not_text("data", data, "an (inputs, targets) tuple of tensors, a Dataset or a DataLoader")
    whole("batch_size", batch_size)
    if isinstance(metrics, Mapping):
        fns = dict(metrics)
    else:
        metrics = names("metrics", metrics)
        unknown = [m for m in metrics if m not in _NAMED]
        if unknown:
            raise ValueError(
                f"unknown metric(s) {unknown}; named ones: {list(_NAMED)}; or pass"
                " a dict name -> fn(output, targets) giving one value per example."
            )
        fns = {m: _NAMED[m] for m in metrics}
    output_fn = output_fn or default_output_fn
    modes = [(m, m.training) for m in model.modules()]
    rng = RngState.capture()
    values: dict[str, list[torch.Tensor]] = {"loss": []} if loss_fn is not None else {}
    values.update({k: [] for k in fns})
    try:
        model.eval()
        with torch.no_grad():
            for inputs, y in _batches(data, batch_fn, batch_size):
                out = output_fn(call_model(model, inputs))
                if out.is_floating_point() and not bool(torch.isfinite(out).all()):
                    raise ValueError(_NOT_FINITE.format(n=int((~torch.isfinite(out)).sum())))
                if loss_fn is not None:
                    values["loss"].append(_per_example_loss(loss_fn, out, y).cpu())
                for k, fn in fns.items():
                    v = torch.as_tensor(fn(out, y)).float().reshape(-1).cpu()
                    if v.numel() != len(y):
                        raise ValueError(
                            f"metric {k!r} returned {v.numel()} values for a batch of"
                            f" {len(y)}; return one value per example."
                        )
                    values[k].append(v)
    finally:
        for m, flag in modes:
            m.training = flag
        rng.restore()
    figures = {}
    n = 0
    for k, parts in values.items():
        v = torch.cat(parts).double() if parts else torch.zeros(0, dtype=torch.float64)
        n = v.numel()
        se = float(v.std() / math.sqrt(n)) if n > 1 else math.nan
        figures[k] = (float(v.mean()) if n else math.nan, se)
    if n == 0:
        raise ValueError("data= holds no examples: nothing to evaluate.")
    return Evaluation(n, figures)


_NOT_FINITE = (
    "the model's output on data= holds {n} NaN/Inf value(s) (NaN in the inputs, or a diverged"
    " model): no metric is meaningful; clean the data or check the model."
)
