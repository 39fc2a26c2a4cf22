"""``rw.init_final_bias``: start the net at the prior (the recipe's "init well")."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from recipe_widgets.engine.validate import not_text, one_of


def final_layer(model: nn.Module) -> tuple[str, nn.Module]:
    """The last ``nn.Linear`` (else the last module with a ``bias``) in registration order."""
    linear = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    biased = [
        (n, m)
        for n, m in model.named_modules()
        if isinstance(getattr(m, "bias", None), nn.Parameter)
    ]
    found = linear or biased
    if not found:
        raise ValueError(
            f"{type(model).__name__} has no layer with a bias to initialise; pass"
            " layer= (the output layer, created with bias=True)."
        )
    return found[-1]


def _targets(targets: Any) -> torch.Tensor:
    not_text("targets", targets)
    try:
        y = torch.as_tensor(targets).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(
            f"targets= must be a tensor or array of labels / values, got {type(targets).__name__}"
            f" ({exc})"
        ) from None
    if y.dtype == torch.bool:
        y = y.long()
    if y.numel() == 0 or y.dim() == 0:
        raise ValueError("targets= is empty or a single number; pass the training targets.")
    if y.is_floating_point() and not bool(torch.isfinite(y).all()):
        raise ValueError("targets= hold NaN/Inf; clean them first.")
    return y


def _layer(model: nn.Module, layer: nn.Module | str | None) -> nn.Module | None:
    """``layer=`` as a module (a name is looked up), checked."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(layer, str):
        named = dict(model.named_modules())
        if layer not in named:
            raise ValueError(
                f"layer={layer!r} is not a module of the model; names: {', '.join(list(named)[1:8])}"
            )
        layer = named[layer]
    elif layer is not None and not isinstance(layer, nn.Module):
        raise TypeError(f"layer= must be a module or its name, got {type(layer).__name__}")
    return layer


@torch.no_grad()
def init_final_bias(
    model: nn.Module,
    targets: Any,
    *,
    layer: nn.Module | str | None = None,
    kind: Literal["auto", "classification", "binary", "regression"] = "auto",
) -> nn.Module:
    """Set the output layer's bias so that the untrained net predicts the prior.

    Classification: ``log`` of the class frequencies (softmax gives the label prior); binary
    (one output, 0/1 targets): the log-odds of the positive rate; regression: the target mean
    per output. The first steps then learn from the inputs instead of spending themselves on
    the bias (the "hockey stick" loss curve). An explicit user action: ``rw.check`` never calls
    it. ``layer`` (a module or its name) overrides the guess (the last ``nn.Linear``). Returns
    the layer.
    """
    layer = _layer(model, layer)
    one_of("kind", kind, ("auto", "classification", "binary", "regression"))
    name, mod = ("layer", layer) if layer is not None else final_layer(model)
    bias = getattr(mod, "bias", None)
    if not isinstance(bias, torch.Tensor):
        raise ValueError(f"{name} ({type(mod).__name__}) has no bias; create it with bias=True.")
    y = _targets(targets)
    k = bias.numel()
    binary_values = bool(((y == 0) | (y == 1)).all())
    if kind == "auto":
        if y.is_floating_point() and k > 1 and y.dim() == 1 and bool((y == y.round()).all()):
            raise ValueError(
                "targets= are floats holding whole numbers, one per example, and the layer has"
                f" {k} outputs: class ids stored as floats? Pass targets.long() for"
                " classification, or kind='regression'."
            )
        if not y.is_floating_point() and k > 1:
            kind = "classification"
        elif binary_values and k == (y[0].numel() if y.dim() > 1 else 1):
            kind = "binary"
        else:
            kind = "regression"
    if kind == "classification":
        if y.is_floating_point() and not bool((y == y.round()).all()):
            raise ValueError(
                "targets= holds fractional values; classification needs integer class ids"
            )
        labels = y.reshape(-1).long()
        labels = labels[labels >= 0]  # ignore_index (-100) and padding
        if not labels.numel():
            raise ValueError(
                "targets= holds no class id >= 0 (all ignore_index / padding): no prior to set"
            )
        if labels.numel() and int(labels.max()) >= k:
            raise ValueError(f"labels go up to {int(labels.max())} but the layer has {k} outputs.")
        counts = torch.bincount(labels, minlength=k).double().clamp_min(0.5)  # unseen class: finite
        value = (counts / counts.sum()).log()
    elif kind == "binary":
        p = y.double().reshape(len(y), -1).mean(0).clamp(1e-6, 1 - 1e-6)
        value = (p / (1 - p)).log()
    else:
        value = y.double().reshape(len(y), -1).mean(0)
        if value.numel() == 1 and k > 1:
            value = value.expand(k)
    if value.numel() != k:
        raise ValueError(
            f"the targets give {value.numel()} value(s) per example but the layer has"
            f" {k} outputs; pass layer= or kind=."
        )
    if not bool(torch.isfinite(value.to(bias.dtype)).all()):
        raise ValueError(
            "targets= hold NaN/Inf, or values too large for the bias's dtype; clean them first."
        )
    bias.copy_(value.to(device=bias.device, dtype=bias.dtype).reshape(bias.shape))
    return mod
