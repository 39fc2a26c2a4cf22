"""Batch independence and causality: "use backprop to chart dependencies".

Batch independence. The output of example i must depend on input i only. A backward of a
random projection ``sum_{i in S} <v_i, f(x)_i>`` through the batched net gives, for each example
k, ``sum_{i in S} J_ik^T v_i``; for k outside S that is exactly zero unless some example's output
reaches into k's input. The sets S must hold, for every ordered pair i != k, one set with i and
without k. Giving every example its own half-size subset of n rows does that (two different
subsets of the same size never contain one another, Sperner's antichain), with n the least for
which C(n, n // 2) >= B: 8 projections for B = 64 (one bit set, one bit clear per bit of the
index would take 12), all in one batched backward (``torch.autograd.grad(...,
is_grads_batched=True)``), instead of B backward passes. The tolerance is sqrt(eps) of the
dtype, relative to the largest gradient an example's input gets from a projection that holds
it. (Per-example gradients through ``torch.func`` would do too, but their first call imports
torch's compiler stack, seconds of a person's first ``rw.check``.)

Randomness that stays on in eval mode (dropout that ignores it) does not disturb the gradient
test: the backward runs through the one forward that was taken, so its Jacobian is that pass's.
Only the perturbation test below, which compares two forward passes, needs them to agree.

Inputs that cannot carry a gradient (token ids), and nets that cannot run so, use a perturbation
test instead: for each bit b of the example index, change the examples whose bit is 1 (then 0)
and require the others' outputs to stay put. 2*log2(B) forward passes cover every pair.

Both run in eval mode: batch norm in train mode mixes the batch by design (batch statistics).
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.check._context import Ctx
from recipe_widgets.engine.check._data import Pool
from recipe_widgets.engine.results import Finding
from recipe_widgets.engine.seed import seed_torch

_BN = (nn.modules.batchnorm._BatchNorm,)


def _tol(dtype: torch.dtype, override: float) -> float:
    return override if override > 0 else math.sqrt(torch.finfo(dtype).eps)


def _replace_examples(pool: Pool, which: torch.Tensor) -> Pool:
    """Examples where ``which`` is True get the inputs of the next example (cyclically)."""

    def swap(t: torch.Tensor) -> torch.Tensor:
        other = t.roll(1, dims=0)
        mask = which.to(t.device).view(-1, *([1] * (t.dim() - 1)))
        return torch.where(mask, other, t)

    return pool.map_inputs(swap)


def _perturbation_mixing(
    ctx: Ctx, model: nn.Module, pool: Pool, tol: float
) -> tuple[list[int], float]:
    with torch.no_grad():
        base = ctx.out(model, pool).float()
        scale = float(base.abs().max()) or 1.0
        b = pool.n
        idx = torch.arange(b, device=base.device)
        leaked: set[int] = set()
        worst = 0.0
        for bit in range(max(1, math.ceil(math.log2(b)))):
            sel = ((idx >> bit) & 1).bool()
            for changed in (sel, ~sel):
                if not changed.any() or changed.all():
                    continue
                out = ctx.out(model, _replace_examples(pool, changed)).float()
                diff = (out - base).abs().reshape(b, -1).amax(1) / scale
                bad = (~changed) & (diff > tol)
                worst = max(worst, float(diff[~changed].max()))
                leaked.update(int(i) for i in idx[bad])
    return sorted(leaked), worst


@functools.lru_cache(maxsize=8)
def _subsets(b: int) -> torch.Tensor:
    """(n, b) bools on the CPU, n the least with C(n, n // 2) >= b: column k is example k's own
    subset of n // 2 rows. No two columns contain one another, so any two examples are apart in
    some row, each way round. Read-only: callers copy it to their device."""
    n = 2
    while math.comb(n, n // 2) < b:
        n += 1
    cols = list(itertools.islice(itertools.combinations(range(n), n // 2), b))
    keep = torch.zeros(b, n, dtype=torch.bool)
    keep[torch.arange(b).repeat_interleave(n // 2), torch.tensor(cols).flatten()] = True
    return keep.T.contiguous()


def _masks(b: int, device: torch.device) -> torch.Tensor:
    """The projections' example sets, ``_subsets(b)`` on ``device``."""
    return _subsets(b).to(device, copy=True)


def _gradient_mixing(ctx: Ctx, model: nn.Module, pool: Pool, tol: float) -> tuple[list[int], float]:
    if isinstance(pool.inputs, dict):
        raise TypeError("dict inputs go through the perturbation test")
    inputs = pool.inputs
    float_pos = tuple(i for i, t in enumerate(inputs) if t.is_floating_point())
    if not float_pos:
        raise TypeError("no input can carry a gradient")
    gen = torch.Generator().manual_seed(ctx.seed)
    xs = [t.clone().requires_grad_(i in float_pos) for i, t in enumerate(inputs)]
    seed_torch(ctx.seed)  # one forward, the same on every run (randomness in eval too)
    out = ctx.out(model, Pool(tuple(xs), pool.targets))
    if out.dim() == 0 or out.shape[0] != pool.n:
        raise TypeError("output has no batch dimension")
    v = torch.randn(out.shape, generator=gen, dtype=out.dtype).to(out.device)
    keep = _masks(pool.n, out.device)
    per_example = max(1, sum(xs[i][0].numel() for i in float_pos))
    chunk = max(1, min(len(keep), (1 << 25) // (pool.n * per_example)))  # <= 32M floats at once
    norms = []
    for start in range(0, len(keep), chunk):
        rows = keep[start : start + chunk]
        grads = torch.autograd.grad(
            out,
            [xs[i] for i in float_pos],
            grad_outputs=v * rows.view(*rows.shape, *([1] * (out.dim() - 1))).to(v.dtype),
            is_grads_batched=True,
            retain_graph=start + chunk < len(keep),
            allow_unused=True,
        )
        sq = torch.zeros(len(rows), pool.n)
        for g in grads:
            if g is not None:
                sq += g.detach().reshape(len(rows), pool.n, -1).float().pow(2).sum(2).cpu()
        norms.append(sq.sqrt())
    norm = torch.cat(norms)
    held = keep.cpu()
    scale = float((norm * held).max()) or 1.0
    # A projection that leaves example k out puts gradient on k's input only through another
    # example's output: exactly zero for a net that keeps examples apart.
    rel = (norm * ~held).amax(0) / scale
    return [int(i) for i in torch.nonzero(rel > tol).flatten()], float(rel.max())


@torch.no_grad()
def _random_in_eval(ctx: Ctx, model: nn.Module, pool: Any) -> bool:
    """Do two eval-mode passes on the same batch differ (dropout that ignores eval mode)? Then a
    change in the output says nothing about which inputs it depends on."""
    seed_torch(ctx.seed)
    a = ctx.out(model, pool)
    seed_torch(ctx.seed + 1)
    b = ctx.out(model, pool)
    return isinstance(a, torch.Tensor) and a.shape == b.shape and not torch.equal(a, b)


def _random_skip(check: str) -> Finding:
    return Finding(
        check,
        "skip",
        "two eval-mode passes on the same batch differ (randomness stays on in eval mode, see"
        " eval_mode), so a changed output cannot show which inputs it depends on.",
        fix="Make evaluation deterministic (nn.Dropout modules, not F.dropout(training=True))"
        " and run the check again.",
    )


def batch_independence(ctx: Ctx) -> Finding:
    n = min(int(ctx.th("independence_examples")), ctx.pool.n)
    if n < 2:
        return Finding("batch_independence", "skip", "needs at least 2 examples.")
    model = ctx.fresh()
    model.eval()
    pool = ctx.pool.take(slice(0, n))
    has_bn = any(isinstance(m, _BN) for m in model.modules())
    dtype = next((t.dtype for t in pool.tensors() if t.is_floating_point()), torch.float32)
    tol = _tol(dtype, ctx.th("independence_rtol"))
    method = "gradient"
    try:
        leaked, worst = _gradient_mixing(ctx, model, pool, tol)
    except Exception:  # noqa: BLE001 - integer inputs, vmap-unsupported ops: use perturbation
        method = "perturbation"
        if _random_in_eval(ctx, model, pool):
            return _random_skip("batch_independence")
        leaked, worst = _perturbation_mixing(ctx, model, pool, tol)
    ev = {
        "examples": n,
        "method": method,
        "mixed_examples": leaked,
        "max_relative_leak": worst,
        "tolerance": tol,
        "has_batch_norm": has_bn,
    }
    bn_note = (
        (
            " Checked in eval mode: batch norm in train mode mixes the batch by design through"
            " its statistics."
        )
        if has_bn
        else ""
    )
    if leaked:
        return Finding(
            "batch_independence",
            "fail",
            f"{len(leaked)} of {n} examples"
            f" ({', '.join(map(str, leaked[:8]))}{', ...' if len(leaked) > 8 else ''})"
            f" get output from other examples of the batch (relative leak up to"
            f" {worst:.3g}, tolerance {tol:.1g}): the net mixes information across the"
            f" batch, typically a view/reshape where a permute/transpose was meant.{bn_note}",
            fix="Find the reshape that moves the batch dimension: use x.permute(...) or"
            " x.transpose(...) to reorder axes, keep the batch first, and add a shape"
            " comment like # (B, T, C) on every reshape.",
            evidence=ev,
        )
    return Finding(
        "batch_independence",
        "pass",
        f"every one of {n} examples depends only on its"
        f" own input ({method} test, largest relative leak {worst:.2g} <= {tol:.1g}).{bn_note}",
        evidence=ev,
    )


def _is_causal(ctx: Ctx) -> bool | None:
    if ctx.causal is not None:
        return ctx.causal
    for attr in ("causal", "is_causal"):
        val = getattr(ctx.model, attr, None)
        if isinstance(val, bool):
            return val
    return True if next_token_data(ctx) else None


def _declared(ctx: Ctx) -> bool:
    return any(isinstance(getattr(ctx.model, a, None), bool) for a in ("causal", "is_causal"))


def next_token_data(ctx: Ctx) -> bool:
    """Are the targets the input sequence shifted by one (``y[:, t] == x[:, t + 1]``)? Then the
    model predicts the next token and must be causal, whether or not ``causal=`` was passed."""
    tensors = ctx.pool.tensors()
    y = ctx.pool.targets
    if not tensors or y.is_floating_point() or y.dim() != 2 or y.shape[1] < 3:
        return False
    x = tensors[0]
    if x.is_floating_point() or x.shape != y.shape:
        return False
    same = (y[:, :-1] == x[:, 1:]).float().mean()
    return bool(same >= 0.95)


def causality(ctx: Ctx) -> Finding:
    causal = _is_causal(ctx)
    if not causal:
        why = (
            "the model is declared not causal"
            if causal is False
            else ("the model does not say it is causal")
        )
        return Finding(
            "causality",
            "skip",
            f"{why}; pass causal=True for a sequence model whose"
            " output at step t must not see inputs after t.",
        )
    pool = ctx.pool.take(slice(0, min(16, ctx.pool.n)))
    model = ctx.fresh()
    model.eval()
    if _random_in_eval(ctx, model, pool):
        return _random_skip("causality")
    first = pool.tensors()[0]
    with torch.no_grad():
        base = ctx.out(model, pool).float()
    if first.dim() < 2 or base.dim() < 2 or base.shape[1] != first.shape[1]:
        return Finding(
            "causality",
            "skip",
            f"cannot find the time axis: input {tuple(first.shape)},"
            f" output {tuple(base.shape)}; expected (B, T, ...) for both.",
        )
    t_len = first.shape[1]
    scale = float(base.abs().max()) or 1.0
    tol = _tol(base.dtype, ctx.th("independence_rtol"))
    positions = sorted(
        {p for p in (1, t_len // 4, t_len // 2, 3 * t_len // 4, t_len - 1) if 0 < p < t_len}
    )
    violations: list[dict] = []
    with torch.no_grad():
        for t0 in positions:

            def future(t: torch.Tensor, t0: int = t0) -> torch.Tensor:
                if t.dim() < 2 or t.shape[1] != t_len:
                    return t
                t = t.clone()
                t[:, t0:] = t.roll(1, dims=0)[:, t0:] if t.shape[0] > 1 else t[:, t0:].flip(1)
                return t

            out = ctx.out(model, pool.map_inputs(future)).float()
            leak = float((out[:, :t0] - base[:, :t0]).abs().max()) / scale
            if leak > tol:
                violations.append({"changed_from": t0, "relative_change_before": leak})
    ev = {"positions": positions, "violations": violations, "tolerance": tol, "length": t_len}
    inferred = (
        ""
        if ctx.causal or _declared(ctx)
        else (
            "The targets are the inputs shifted by one (next-token prediction), so the model must"
            " be causal; "
        )
    )
    if violations:
        v = violations[0]
        return Finding(
            "causality",
            "fail",
            f"{inferred}changing the inputs from step {v['changed_from']} on"
            f" changes the outputs at earlier steps (relative change {v['relative_change_before']:.3g}):"
            " the model sees the future, so its training loss is a lie and generation"
            " will fail.",
            fix="Apply a causal mask (e.g. torch.triu(ones(T, T),"
            " diagonal=1).bool() as attn_mask, or is_causal=True), and check that no"
            " layer pools over the whole sequence.",
            evidence=ev,
        )
    return Finding(
        "causality",
        "pass",
        f"outputs before step t do not change when inputs from t on change (t in {positions}).",
        evidence=ev,
    )
