"""Snapshot and restore: ``rw.check`` leaves the user's world bit-identical.

Captured: every parameter and buffer (values, ``requires_grad``, ``.grad``), every module's
``.training`` flag, the optimizer's state dict and hyper-parameters, and the global RNG states
(python, numpy, torch CPU and CUDA). Checks work on deep copies; where a model cannot be copied
they work on the original, which is restored from the snapshot after each use and at the end.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass
class RngState:
    python: Any
    numpy: Any
    torch: torch.Tensor
    cuda: list[torch.Tensor] | None

    @classmethod
    def capture(cls) -> RngState:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        return cls(random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda)

    def restore(self) -> None:
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


def _clone(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach().clone()


class Snapshot:
    """Everything of the user's that a check could touch, to put back exactly."""

    def __init__(
        self, model: torch.nn.Module, optimizer: Any = None, data: tuple[Any, ...] = ()
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.rng = RngState.capture()
        # A DataLoader with its own generator (or a sampler with one) advances it when iterated.
        self.generators = [(g, g.get_state()) for g in _data_generators(data)]
        self.training = [(m, m.training) for m in model.modules()]
        self.params = [
            (p, _clone(p.data), p.requires_grad, _clone(p.grad)) for p in model.parameters()
        ]
        self.buffers = [(b, _clone(b.data)) for b in model.buffers()]
        several = optimizer if isinstance(optimizer, (list, tuple)) else [optimizer]
        self.optimizers = [
            (
                o,
                copy.deepcopy(o.state_dict()),
                [
                    {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
                    for g in o.param_groups
                ],
            )
            for o in several
            if isinstance(o, torch.optim.Optimizer)
        ]

    @torch.no_grad()
    def restore_model(self) -> None:
        for m, flag in self.training:
            m.training = flag
        for p, data, req, grad in self.params:
            if p.data.shape != data.shape or p.data.dtype != data.dtype:
                p.data = data.clone()
            else:
                p.data.copy_(data)
            p.requires_grad_(req)
            p.grad = None if grad is None else grad.clone()
        for b, data in self.buffers:
            if b.data.shape != data.shape:
                b.data = data.clone()
            else:
                b.data.copy_(data)

    def restore(self) -> None:
        self.restore_model()
        for opt, state, groups in self.optimizers:
            opt.load_state_dict(copy.deepcopy(state))
            for g, saved in zip(opt.param_groups, groups):
                g.update(copy.deepcopy(saved))
        for gen, state in self.generators:
            gen.set_state(state)
        self.rng.restore()


def _data_generators(data: tuple[Any, ...]) -> list[torch.Generator]:
    found: dict[int, torch.Generator] = {}
    for d in data:
        sampler = getattr(d, "sampler", None)
        batch_sampler = getattr(d, "batch_sampler", None)
        for holder in (d, sampler, getattr(batch_sampler, "sampler", None)):
            g = getattr(holder, "generator", None)
            if isinstance(g, torch.Generator):
                found[id(g)] = g
    return list(found.values())


def try_deepcopy(model: torch.nn.Module) -> torch.nn.Module | None:
    """A deep copy of ``model``, or None when it cannot be copied (hooks holding lambdas over
    external state, compiled modules, ...). Grads are dropped from the copy."""
    try:
        clone = copy.deepcopy(model)
    except Exception:  # noqa: BLE001 - any failure means: fall back to snapshot-and-restore
        return None
    for p in clone.parameters():
        p.grad = None
    return clone
