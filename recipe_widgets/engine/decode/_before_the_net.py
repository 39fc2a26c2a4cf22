"""``rw.before_the_net(model)``: capture the exact tensors entering ``model.forward`` and decode them.

A forward pre-hook sees the arguments after every transform, collate and ``.to(device)``: the
only source of truth for what the net is fed. The hook records copies of the tensors as they
entered (a loader that refills its buffer, or a model that normalises its input in place, does
not change what was captured), at most ``max_bytes`` per call: beyond that only the first
examples are kept and the call says so. It never changes the inputs and is removed on exit,
also when the block raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine import rendering
from recipe_widgets.engine.decode._api import DecodedBatch, decode


@dataclass(frozen=True)
class ForwardCall:
    """One captured call: ``index`` counts every forward call made inside the block (from 0)."""

    index: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: "first k of n examples" per tensor cut to fit ``max_bytes`` (empty: captured whole)
    truncated: tuple[str, ...] = ()


#: bytes of tensor data copied per captured call by default
MAX_BYTES = 64 * 2**20


def _capture(value: Any, budget: list[int], cut: list[str], depth: int = 0) -> Any:
    """A copy of ``value`` as it is now: tensors detached and cloned (cut along the first
    dimension once ``budget`` bytes are used up), containers rebuilt, anything else kept."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        size = t.element_size() * t.numel()
        if size > budget[0] and t.dim() > 0 and t.shape[0] > 1:
            row = max(1, size // t.shape[0])
            keep = max(1, budget[0] // row)
            cut.append(f"first {keep} of {t.shape[0]} examples of a {tuple(t.shape)} tensor")
            t = t[:keep]
            size = row * keep
        budget[0] = max(0, budget[0] - size)
        return t.clone()
    if depth < 3 and isinstance(value, (tuple, list)):
        return type(value)(_capture(v, budget, cut, depth + 1) for v in value)
    if depth < 3 and isinstance(value, dict):
        return {k: _capture(v, budget, cut, depth + 1) for k, v in value.items()}
    return value


class BeforeTheNet:
    """The context manager and its result: ``seen.inputs``, ``seen.calls``, ``seen.decoded``.

    ``every=None`` captures the first call only; ``every=k`` captures calls 0, k, 2k, ...
    (at most ``max_calls``, so a long loop does not keep every batch alive).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        every: int | None = None,
        max_calls: int = 16,
        max_bytes: int = MAX_BYTES,
        **decode_options: Any,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"before_the_net needs an nn.Module, got {type(model).__name__}")
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, int) or every < 1
        ):
            raise ValueError(
                f"every must be a positive int (capture every k-th call) or None; got {every!r}"
            )
        for name, v, least in (("max_calls", max_calls, 1), ("max_bytes", max_bytes, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < least:
                raise ValueError(f"{name} must be an int >= {least}; got {v!r}")
        self.model = model
        self.every = every
        self.max_calls = max_calls
        self.max_bytes = max_bytes
        self.decode_options = decode_options
        self._calls: list[ForwardCall] = []
        self._seen = 0
        self._handle: Any = None
        self._decoded: DecodedBatch | None = None

    # -- the hook -------------------------------------------------------------------------
    def _hook(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        index = self._seen
        self._seen += 1
        wanted = index == 0 if self.every is None else index % self.every == 0
        if wanted and len(self._calls) < self.max_calls:
            budget, cut = [self.max_bytes], []
            args = _capture(tuple(args), budget, cut)
            kwargs = _capture(dict(kwargs), budget, cut)
            self._calls.append(ForwardCall(index, args, kwargs, tuple(cut)))
            self._decoded = None
        return None  # never replace the inputs

    def __enter__(self) -> BeforeTheNet:
        if self._handle is not None:
            raise RuntimeError("before_the_net is already active; use a new one per with-block")
        self._handle = self.model.register_forward_pre_hook(self._hook, with_kwargs=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.remove()

    # -- results ----------------------------------------------------------------------------
    @property
    def calls(self) -> tuple[ForwardCall, ...]:
        return tuple(self._calls)

    @property
    def inputs(self) -> tuple[Any, ...]:
        """The positional arguments of the first captured call, as they entered (copies)."""
        if not self._calls:
            raise LookupError(
                f"no forward call of {type(self.model).__name__} was captured; call the model "
                "inside the with-block"
            )
        return self._calls[0].args

    @property
    def decoded(self) -> DecodedBatch:
        """The first tensor of the first captured call, decoded with the options given."""
        if self._decoded is None:
            args = self.inputs
            kwargs = self._calls[0].kwargs
            tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
            if not tensors:
                raise LookupError("the captured call has no tensor argument to decode")
            self._decoded = decode(tensors[0], **self.decode_options)
        return self._decoded

    @property
    def findings(self) -> Any:
        return self.decoded.findings

    def __repr__(self) -> str:
        name = type(self.model).__name__
        if not self._calls:
            return f"BeforeTheNet({name}, no call captured)"
        n = len(self._calls)
        cut = self._calls[0].truncated
        note = f" (truncated: {'; '.join(cut)})" if cut else ""
        return (
            f"BeforeTheNet({name}, {n} call{'s' if n != 1 else ''} captured{note};"
            f" {self.decoded!r})"
        )

    @property
    def captured(self) -> bool:
        """Whether a forward call was captured (only then is there a batch to show)."""
        return bool(self._calls)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return rendering.mimebundle(self)


def before_the_net(
    model: nn.Module,
    *,
    every: int | None = None,
    max_calls: int = 16,
    max_bytes: int = MAX_BYTES,
    **decode_options: Any,
) -> BeforeTheNet:
    """``with rw.before_the_net(model, labels=y) as seen: model(x)``; then ``seen`` shows the batch.

    ``decode_options`` are those of :func:`rw.decode` (``mean``, ``std``, ``labels``, ``classes``...).
    The inputs are copied as they enter, up to ``max_bytes`` per call (then the first examples
    only, said in ``seen.calls[i].truncated`` and the repr).
    """
    return BeforeTheNet(
        model, every=every, max_calls=max_calls, max_bytes=max_bytes, **decode_options
    )
