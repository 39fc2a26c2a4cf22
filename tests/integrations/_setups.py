"""Bugs each framework allows, as one setup: the raw loop and the framework runs must agree.

A tiny regression net, fixed data in a fixed order (one batch at a time, no shuffling), plain
SGD: the raw loop below is what the frameworks do with it, step for step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from recipe_widgets.engine.watch import watch_loop

BATCH = 8
STEPS = 12


@dataclass(frozen=True)
class Bug:
    name: str
    lr: float = 0.01
    frozen: bool = False  # the first layer left frozen (requires_grad=False)
    nan_batch: int | None = None  # this batch's inputs are NaN


BUGS = [
    Bug("lr_far_too_high", lr=50.0),
    Bug("frozen_layer", frozen=True),
    Bug("nan_inputs", nan_batch=4),
]


def net(bug: Bug) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    if bug.frozen:
        model[0].requires_grad_(False)
    return model


def data(bug: Bug) -> TensorDataset:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH * STEPS, 4, generator=g)
    y = x.sum(dim=1, keepdim=True)
    if bug.nan_batch is not None:
        x[bug.nan_batch * BATCH : (bug.nan_batch + 1) * BATCH] = math.nan
    return TensorDataset(x, y)


def loader(bug: Bug) -> DataLoader:
    return DataLoader(data(bug), batch_size=BATCH, shuffle=False)


def raw_findings(bug: Bug) -> list[tuple[str, int | None]]:
    """The hand-written loop under rw.watch: what every framework must also report."""
    model = net(bug)
    opt = torch.optim.SGD(model.parameters(), lr=bug.lr)
    with watch_loop(model, opt, name="raw") as w:
        for x, y in loader(bug):
            loss = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.log(loss=loss)
    return ids_and_steps(w.report)


def ids_and_steps(report: object) -> list[tuple[str, int | None]]:
    return [(f.check, f.evidence.get("step")) for f in report.findings]  # type: ignore[attr-defined]
