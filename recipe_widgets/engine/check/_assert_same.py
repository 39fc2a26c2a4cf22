"""``rw.assert_same``: the recipe's "generalize a special case" made safe.

Write the loopy version first, then the vectorized one, and prove they agree: same outputs and
same gradients with respect to every floating input (through one random projection of the
outputs, the cost of a single backward each). The first differing element is named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from recipe_widgets.engine.validate import number


def _tensors(x: Any) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _tensors(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _tensors(v)]
    raise TypeError(f"outputs must be tensors (or tuples / dicts of them), got {type(x).__name__}")


def _first_difference(
    what: str, a: torch.Tensor, b: torch.Tensor, rtol: float, atol: float
) -> str | None:
    if a.shape != b.shape:
        return f"{what}: shape {tuple(a.shape)} (reference) vs {tuple(b.shape)} (candidate)"
    if a.dtype.is_floating_point or b.dtype.is_floating_point:
        close = torch.isclose(
            a.detach(), b.detach().to(a.dtype), rtol=rtol, atol=atol, equal_nan=True
        )
    else:
        close = a == b
    if bool(close.all()):
        return None
    idx = tuple(int(i) for i in torch.nonzero(~close)[0])
    n_bad = int((~close).sum())
    return (
        f"{what}{list(idx)}: reference {a[idx].item():.6g}, candidate {b[idx].item():.6g}"
        f" ({n_bad} of {close.numel()} elements differ beyond rtol={rtol}, atol={atol})"
    )


def assert_same(
    reference_fn: Callable[..., Any],
    candidate_fn: Callable[..., Any],
    *inputs: Any,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    grad: bool = True,
) -> None:
    """Raise ``AssertionError`` naming the first element where the two functions disagree.

    Outputs are compared element by element; with ``grad=True`` so are the gradients of
    ``sum(v * output)`` (``v`` random, seeded privately) with respect to every floating-point
    tensor input. The global RNG is not touched; the inputs are not modified.
    """
    if not callable(reference_fn) or not callable(candidate_fn):
        raise TypeError("reference_fn and candidate_fn must be callables (functions or modules)")
    number("rtol", rtol, least=0)
    number("atol", atol, least=0)
    gen = torch.Generator().manual_seed(0)

    def run(fn: Callable[..., Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        args = [
            t.detach().clone().requires_grad_(grad and t.is_floating_point())
            if isinstance(t, torch.Tensor)
            else t
            for t in inputs
        ]
        with torch.set_grad_enabled(grad):
            outs = _tensors(fn(*args))
        return args, outs

    ref_args, ref_out = run(reference_fn)
    cand_args, cand_out = run(candidate_fn)
    if len(ref_out) != len(cand_out):
        raise AssertionError(
            f"reference returns {len(ref_out)} tensor(s), candidate {len(cand_out)}"
        )
    for i, (a, b) in enumerate(zip(ref_out, cand_out)):
        if a.dtype != b.dtype:
            raise AssertionError(f"output {i}: reference is {a.dtype}, candidate {b.dtype}")
        msg = _first_difference(f"output {i} at ", a, b, rtol, atol)
        if msg:
            raise AssertionError(msg)
    if not grad:
        return
    leaves = [i for i, t in enumerate(ref_args) if isinstance(t, torch.Tensor) and t.requires_grad]
    diff_outs = [i for i, t in enumerate(ref_out) if t.requires_grad and cand_out[i].requires_grad]
    if not leaves or not diff_outs:
        return
    vs = [
        torch.randn(ref_out[i].shape, generator=gen, dtype=ref_out[i].dtype).to(ref_out[i].device)
        for i in diff_outs
    ]
    grads = []
    for args, outs in ((ref_args, ref_out), (cand_args, cand_out)):
        s = sum((outs[i] * v).sum() for i, v in zip(diff_outs, vs))
        g = torch.autograd.grad(s, [args[i] for i in leaves], allow_unused=True)
        grads.append([torch.zeros_like(args[i]) if x is None else x for i, x in zip(leaves, g)])
    for j, (a, b) in enumerate(zip(*grads)):
        msg = _first_difference(f"gradient of input {leaves[j]} at ", a, b, rtol, atol)
        if msg:
            raise AssertionError(msg)
