"""``rw.init_final_bias``: start the net at the prior (the recipe's "init well")."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn


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
    if isinstance(layer, str):
        layer = dict(model.named_modules())[layer]
    name, mod = ("layer", layer) if layer is not None else final_layer(model)
    bias = getattr(mod, "bias", None)
    if not isinstance(bias, torch.Tensor):
        raise ValueError(f"{name} ({type(mod).__name__}) has no bias; create it with bias=True.")
    y = torch.as_tensor(targets).detach().cpu()
    if y.numel() == 0:
        raise ValueError("targets is empty; pass the training targets.")
    k = bias.numel()
    binary_values = bool(((y == 0) | (y == 1)).all())
    if kind == "auto":
        if not y.is_floating_point() and k > 1:
            kind = "classification"
        elif binary_values and k == (y[0].numel() if y.dim() > 1 else 1):
            kind = "binary"
        else:
            kind = "regression"
    if kind == "classification":
        labels = y.reshape(-1).long()
        labels = labels[labels >= 0]  # ignore_index (-100) and padding
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
    if not bool(torch.isfinite(value).all()) or any(math.isnan(v) for v in value.tolist()):
        raise ValueError("the targets hold NaN/Inf; clean them first.")
    bias.copy_(value.to(device=bias.device, dtype=bias.dtype).reshape(bias.shape))
    return mod
