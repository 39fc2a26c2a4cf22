"""Batch adapters: whatever the user trains on becomes one small in-memory pool of examples.

The checks need a few hundred examples at most, so ``data`` (a ``(inputs, targets)`` tuple, a
``Dataset`` or a ``DataLoader``) is read once into a :class:`Pool`: inputs as a tuple of tensors
(positional arguments of ``model``) or a dict (keyword arguments), and a target tensor, all with
the examples along dim 0. Every check then slices that pool, so none of them reads the user's
data again and none of them can change it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

Inputs = tuple[torch.Tensor, ...] | dict[str, torch.Tensor]


class UnusableInput(ValueError):
    """The setup cannot be checked as given (wrong data type, a model that raises, ...)."""


class NotExampleAligned(UnusableInput):
    """A loader whose batches do not hold the examples along dim 0 (a flat token tensor with
    offsets, as ``nn.EmbeddingBag`` takes): the user's pipeline is fine, the checks cannot
    index its examples. ``rw.check`` reports this instead of raising."""


@dataclass(frozen=True)
class Pool:
    """``n`` examples in memory: ``inputs`` (tuple or dict of tensors) and ``targets``."""

    inputs: Inputs
    targets: torch.Tensor

    @property
    def n(self) -> int:
        return int(self.targets.shape[0])

    def tensors(self) -> list[torch.Tensor]:
        return list(self.inputs.values()) if isinstance(self.inputs, dict) else list(self.inputs)

    def take(self, idx: torch.Tensor | slice) -> Pool:
        if isinstance(self.inputs, dict):
            inputs: Inputs = {k: v[idx] for k, v in self.inputs.items()}
        else:
            inputs = tuple(v[idx] for v in self.inputs)
        return Pool(inputs, self.targets[idx])

    def map_inputs(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Pool:
        if isinstance(self.inputs, dict):
            return Pool({k: fn(v) for k, v in self.inputs.items()}, self.targets)
        return Pool(tuple(fn(v) for v in self.inputs), self.targets)

    def zeroed(self) -> Pool:
        """The same examples with the input signal removed (for the input-independent baseline).

        Float tensors become zeros. Integer inputs (token ids) become id 0, but only when there is
        no float input at all: masks and lengths must stay valid for the model to run.
        """
        floats = [t for t in self.tensors() if t.is_floating_point()]
        if floats:
            return self.map_inputs(lambda t: torch.zeros_like(t) if t.is_floating_point() else t)
        first = self.tensors()[0]
        if isinstance(self.inputs, dict):
            key = next(iter(self.inputs))
            return Pool({**self.inputs, key: torch.zeros_like(first)}, self.targets)
        return Pool((torch.zeros_like(first),) + tuple(self.inputs[1:]), self.targets)


def call_model(model: torch.nn.Module, inputs: Inputs) -> Any:
    return model(**inputs) if isinstance(inputs, dict) else model(*inputs)


def default_output_fn(output: Any) -> torch.Tensor:
    """The tensor the loss sees: the output itself, the first of a tuple, or ``out["logits"]``."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    if isinstance(output, Mapping) and isinstance(output.get("logits"), torch.Tensor):
        return output["logits"]
    raise UnusableInput(
        f"the model returned {type(output).__name__}, which is not a tensor, a tuple starting with"
        " one, or a dict with 'logits'. Pass output_fn=lambda out: ... returning the tensor the"
        " loss is computed on."
    )


def _as_inputs(x: Any) -> Inputs:
    if isinstance(x, torch.Tensor):
        return (x,)
    if isinstance(x, Mapping) and all(isinstance(v, torch.Tensor) for v in x.values()):
        return dict(x)
    if isinstance(x, (tuple, list)) and x and all(isinstance(v, torch.Tensor) for v in x):
        return tuple(x)
    raise UnusableInput(
        f"model inputs must be a tensor, a tuple of tensors (positional) or a dict of tensors"
        f" (keyword arguments); got {type(x).__name__}. Pass batch_fn=lambda batch: (inputs,"
        " targets) to convert your batches."
    )


def default_batch_fn(batch: Any) -> tuple[Any, Any]:
    """``(x, y)`` -> inputs ``x``, targets ``y``; ``(x1, x2, ..., y)`` -> several positional inputs."""
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return (batch[0] if len(batch) == 2 else tuple(batch[:-1])), batch[-1]
    raise UnusableInput(
        f"cannot split a batch of type {type(batch).__name__} into (inputs, targets). Pass"
        " batch_fn=lambda batch: (inputs, targets), e.g. for a dict batch"
        " batch_fn=lambda b: ({'input_ids': b['input_ids']}, b['labels'])."
    )


def _split(batch: Any, batch_fn: Callable[[Any], Any] | None) -> tuple[Inputs, torch.Tensor]:
    inputs, targets = (batch_fn or default_batch_fn)(batch)
    if not isinstance(targets, torch.Tensor):
        targets = torch.as_tensor(targets)
    return _as_inputs(inputs), targets


def _same_shapes(a: Inputs, b: Inputs, ya: torch.Tensor, yb: torch.Tensor) -> bool:
    """Do two batches stack: the same tensors, with the same shapes past dim 0?"""
    ta = list(a.values()) if isinstance(a, dict) else list(a)
    tb = list(b.values()) if isinstance(b, dict) else list(b)
    if len(ta) != len(tb) or ya.shape[1:] != yb.shape[1:]:
        return False
    return all(x.shape[1:] == y.shape[1:] for x, y in zip(ta, tb))


def _cat(parts: list[Inputs]) -> Inputs:
    if isinstance(parts[0], dict):
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}  # type: ignore[index]
    return tuple(torch.cat([p[i] for p in parts]) for i in range(len(parts[0])))


def _stack_items(items: list[Any]) -> Any:
    from torch.utils.data import default_collate

    return default_collate(items)


def make_pool(
    data: Any, *, batch_fn: Callable[[Any], Any] | None = None, limit: int = 512, name: str = "data"
) -> Pool:
    """Read up to ``limit`` examples of ``data`` into a :class:`Pool` (tensors detached, on CPU
    or wherever they already are). Raises :class:`UnusableInput` naming what to pass instead."""
    if isinstance(data, Pool):
        return data
    if isinstance(data, DataLoader):
        parts_in: list[Inputs] = []
        parts_t: list[torch.Tensor] = []
        n = skipped = 0
        for batch in data:
            inputs, targets = _split(batch, batch_fn)
            if parts_t and not _same_shapes(parts_in[0], inputs, parts_t[0], targets):
                # Batches padded to their own longest sequence cannot be stacked: the pool
                # keeps the batches shaped like the first (at worst, the first alone).
                skipped += 1
                if skipped > 64:
                    break
                continue
            parts_in.append(inputs)
            parts_t.append(targets)
            n += int(targets.shape[0]) if targets.dim() else 1
            if n >= limit:
                break
        if not parts_t:
            raise UnusableInput(f"{name}: the DataLoader yielded no batch; give it some examples.")
        pool = Pool(_cat(parts_in), torch.cat(parts_t))
    elif isinstance(data, Dataset) or (
        hasattr(data, "__getitem__")
        and hasattr(data, "__len__")
        and not isinstance(data, (tuple, list, torch.Tensor, Mapping, str))
    ):
        size = len(data)  # type: ignore[arg-type]
        if size == 0:
            raise UnusableInput(f"{name}: the Dataset is empty.")
        # Evenly spaced items: datasets are often sorted by class, so the first items would be
        # one class only. No randomness, so the user's RNG is not consumed.
        step = max(1, size // limit)
        items = [data[i] for i in range(0, size, step)][:limit]  # type: ignore[index]
        pool_inputs, pool_targets = _split(_stack_items(items), batch_fn)
        pool = Pool(pool_inputs, pool_targets)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        inputs, targets = _split(tuple(data), batch_fn)
        pool = Pool(inputs, targets)
    else:
        raise UnusableInput(
            f"{name} must be an (inputs, targets) tuple of tensors, a torch Dataset or a"
            f" DataLoader; got {type(data).__name__}."
        )
    sizes = {int(t.shape[0]) for t in pool.tensors() if t.dim()} | {pool.n}
    if len(sizes) != 1 or pool.targets.dim() == 0:
        aligned = NotExampleAligned if isinstance(data, (DataLoader, Dataset)) else UnusableInput
        raise aligned(
            f"{name}: inputs and targets must have the examples along dim 0 with the same count;"
            f" saw sizes {sorted(sizes)}. Check the order of (inputs, targets)."
        )
    pool = pool.map_inputs(lambda t: t.detach())
    pool = Pool(pool.inputs, pool.targets.detach())
    if pool.n > limit:
        pool = pool.take(slice(0, limit))
    return pool


def to_device(pool: Pool, model: torch.nn.Module) -> Pool:
    """The pool on the model's device (a DataLoader usually yields CPU tensors; the user's loop
    moves them, so the checks must too). Only copies when the devices differ."""
    param = next(iter(model.parameters()), None)
    if param is None:
        return pool
    dev = param.device
    moved = pool.map_inputs(lambda t: t.to(dev))
    return Pool(moved.inputs, pool.targets.to(dev))


def split_pool(pool: Pool, held_fraction: float = 0.25) -> tuple[Pool, Pool]:
    """Train / held-out halves with a fixed, interleaved split (no RNG consumed)."""
    k = max(2, round(1 / held_fraction))
    idx = torch.arange(pool.n)
    held = idx[idx % k == k - 1]
    train = idx[idx % k != k - 1]
    return pool.take(train), pool.take(held)
