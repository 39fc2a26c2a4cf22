"""``rw.lr_find``: the LR range test of the recipe's "tune" stage, on a copy of the model.

The learning rate grows exponentially from ``start_lr`` to ``end_lr`` over ``steps`` optimizer
steps (Smith 2015, "Cyclical Learning Rates"; fastai's ``lr_find``), the loss is smoothed with
a bias-corrected exponential moving average, and the sweep stops once the smoothed loss passes
``diverge`` times its best. The suggestion uses fastai's ``valley`` rule: the middle of the
longest stretch over which the smoothed loss keeps falling, which sits where the loss falls
fastest and reliably below the LR at which it blows up.

The user's model, optimizer and random number generators are left as they were: the sweep
trains a deep copy, under a forked RNG.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine import rendering

VALLEY = (
    "valley rule (fastai's default): the middle of the longest stretch over which the smoothed"
    " loss keeps falling"
)


@dataclass(frozen=True)
class LRFind:
    """What the sweep saw: learning rates, the smoothed and raw losses, the suggested LR."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]  # smoothed (bias-corrected EMA), what the rule reads
    raw: tuple[float, ...]
    suggestion: float | None
    rule: str
    stopped: str  # why the sweep ended early, "" when it ran every step

    def __str__(self) -> str:
        return rendering.render(self) or repr(self)

    def __repr__(self) -> str:
        lr = "none" if self.suggestion is None else f"{self.suggestion:.3g}"
        return f"LRFind(steps={len(self.lrs)}, suggestion={lr})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return rendering.mimebundle(self)


def valley(losses: list[float]) -> int | None:
    """Index of fastai's ``valley`` point: a third and a half into the longest strictly
    decreasing subsequence of ``losses`` (O(n^2), n is a few hundred at most)."""
    n = len(losses)
    if n < 2:
        return None
    longest = [1] * n
    start = end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
        if longest[end] < longest[i]:
            end = i
            start = end - longest[end]
    if end == 0:
        return None  # the loss never fell
    third = (end - start) / 3
    return min(n - 1, start + int(third) + int(third / 2))


def _batches(data: Any, batch_size: int, generator: torch.Generator) -> Iterator[Any]:
    """Endless batches: a ``(inputs, targets)`` pair of tensors is shuffled into mini-batches;
    anything else (a DataLoader, a list of batches) is iterated again and again."""
    if (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(t, torch.Tensor) for t in data)
    ):
        x, y = data
        if len(x) != len(y):
            raise ValueError(f"{len(x)} inputs and {len(y)} targets: they must match one to one")
        while True:
            order = torch.randperm(len(x), generator=generator)
            for k in range(0, len(x), batch_size):
                pick = order[k : k + batch_size]
                yield x[pick], y[pick]
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty:
            raise ValueError("the data yielded no batch")


def _to(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to(b, device) for b in batch)
    return batch


def lr_find(
    model: nn.Module,
    data: Any,
    loss_fn: Callable[..., torch.Tensor],
    *,
    optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    batch_size: int = 64,
    smoothing: float = 0.98,
    diverge: float = 4.0,
    seed: int = 0,
) -> LRFind:
    """Sweep the learning rate on a copy of ``model`` and suggest one (fastai's valley rule).

    ``data``: an ``(inputs, targets)`` pair of tensors or an iterable of such batches (a
    DataLoader). ``optimizer``: a factory ``params -> Optimizer`` (default Adam); its LR is
    overwritten at every step. Your model, its mode and your RNG states are left untouched.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr; got {start_lr} and {end_lr}")
    if steps < 5:
        raise ValueError(f"steps must be at least 5 for a curve; got {steps}")
    try:
        net = copy.deepcopy(model)
    except Exception as err:  # any reason a copy fails is reported the same way
        raise TypeError(
            f"lr_find trains a copy of the model, and copying it failed ({err}); make the model "
            "deep-copyable (no open files or locks as attributes)"
        ) from err
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    device = params[0].device
    opt = (optimizer or (lambda ps: torch.optim.Adam(ps, lr=start_lr)))(params)
    lrs, raw, smooth = [], [], []
    avg, best, stopped = 0.0, math.inf, ""
    net.train()
    cuda = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # the user's RNG states are restored on exit
        torch.random.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        batches = _batches(data, batch_size, generator)
        for i in range(steps):
            lr = start_lr * (end_lr / start_lr) ** (i / (steps - 1))
            for group in opt.param_groups:
                group["lr"] = lr
            x, y = _to(next(batches), device)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            value = float(loss.detach())
            if not math.isfinite(value):
                stopped = f"the loss became {value} at lr {lr:.3g}"
                break
            loss.backward()
            opt.step()
            avg = smoothing * avg + (1 - smoothing) * value
            smoothed = avg / (1 - smoothing ** (i + 1))
            lrs.append(lr)
            raw.append(value)
            smooth.append(smoothed)
            best = min(best, smoothed)
            if smoothed > diverge * best:
                stopped = f"the smoothed loss passed {diverge:g}x its best at lr {lr:.3g}"
                break
    # fastai reads the curve without its first tenth (the EMA still warming up) and its last
    # 5 points (the blow-up).
    lo, hi = steps // 10, max(len(smooth) - 5, 0)
    index = valley(smooth[lo:hi]) if hi - lo >= 2 else None
    suggestion = lrs[lo + index] if index is not None else None
    return LRFind(tuple(lrs), tuple(smooth), tuple(raw), suggestion, VALLEY, stopped)
