"""``rw.check``: every step of the recipe as a verdict, on copies of the user's setup."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.check import _coverage, _static, _structure, _training
from recipe_widgets.engine.check._context import DEFAULT_THRESHOLDS, Ctx
from recipe_widgets.engine.check._data import UnusableInput, default_output_fn, make_pool, to_device
from recipe_widgets.engine.check._state import Snapshot, try_deepcopy
from recipe_widgets.engine.check._task import infer_task
from recipe_widgets.engine.results import Finding, Report
from recipe_widgets.engine.threads import small_work

#: Stable check ids, in the order they run (cheap ones first).
CHECKS: tuple[str, ...] = (
    "input_sanity",
    "loss_at_init",
    "init_well",
    "health_at_init",
    "parameter_coverage",
    "eval_mode",
    "batch_independence",
    "causality",
    "reproducibility",
    "overfit_one_batch",
    "decreasing_loss",
    "input_independent_baseline",
    "lr_schedule",
)


def _select(checks: Iterable[str] | None, skip: Iterable[str] | None) -> list[str]:
    for name, ids in (("checks", checks), ("skip", skip)):
        if isinstance(ids, str):
            raise TypeError(f"{name}= takes a list of check ids, e.g. {name}=[{ids!r}]")
        unknown = sorted(set(ids or ()) - set(CHECKS))
        if unknown:
            raise ValueError(
                f"unknown check id(s) in {name}=: {', '.join(unknown)}; known: {', '.join(CHECKS)}"
            )
    chosen = [c for c in CHECKS if checks is None or c in set(checks)]
    return [c for c in chosen if c not in set(skip or ())]


def _probe(ctx: Ctx) -> tuple[torch.Tensor, float]:
    """One forward of a fresh copy in train mode: the output and loss every init check reads."""
    model = ctx.fresh()
    model.train()
    batch = _static.probe_pool(ctx)
    try:
        with torch.no_grad():
            out = ctx.out(model, batch)
    except UnusableInput:
        raise
    except Exception as exc:
        shapes = ", ".join(str(tuple(t.shape)) for t in batch.tensors())
        raise UnusableInput(
            f"the model raised {type(exc).__name__}: {exc} on a batch with input"
            f" shape(s) {shapes}. Fix the model or pass batch_fn= so that"
            " model(*inputs) runs."
        ) from exc
    try:
        with torch.no_grad():
            loss = ctx.loss_fn(out, batch.targets)
    except Exception as exc:
        raise UnusableInput(
            f"loss_fn raised {type(exc).__name__}: {exc} on output"
            f" {tuple(out.shape)} and targets {tuple(batch.targets.shape)}."
            f"{_label_hint(out, ctx.pool.targets)}"
        ) from exc
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise UnusableInput(
            f"loss_fn must return a scalar tensor; got {type(loss).__name__}"
            f"{'' if not isinstance(loss, torch.Tensor) else ' of shape ' + str(tuple(loss.shape))}."
            " Use reduction='mean' (or .mean() the result)."
        )
    return out.detach(), float(loss)


def _label_hint(out: torch.Tensor, y: torch.Tensor) -> str:
    """Name the usual cause of a loss that raises: integer labels outside 0..C-1."""
    if y.is_floating_point() or y.numel() == 0 or out.dim() < 2:
        return ""
    valid = y[y != -100]
    if not valid.numel():
        return ""
    lo, hi = int(valid.min()), int(valid.max())
    for c in {out.shape[-1], out.shape[1]}:
        if lo >= 0 and hi < c:
            return ""
    c = out.shape[-1]
    return (
        f" The labels range {lo}..{hi} but the output has {c} classes (valid labels 0..{c - 1}):"
        " relabel to 0..C-1 or widen the final layer."
    )


@small_work()  # tiny-model training: one intra-op thread, the user's count restored after
def check(
    model: nn.Module,
    data: Any,
    loss_fn: Callable[..., torch.Tensor],
    *,
    optimizer: Any = None,
    val: Any = None,
    task: str | None = None,
    checks: Iterable[str] | None = None,
    skip: Iterable[str] | None = None,
    thresholds: dict[str, float] | None = None,
    batch_fn: Callable[[Any], Any] | None = None,
    output_fn: Callable[[Any], torch.Tensor] | None = None,
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    steps: int | None = None,
    causal: bool | None = None,
    expected_init_loss: float | None = None,
    seed: int = 0,
    quiet: bool = False,
) -> Report:
    """Run the recipe's checks on copies of ``model`` and return a :class:`Report`.

    ``data`` / ``val``: an ``(inputs, targets)`` tuple, a ``Dataset`` or a ``DataLoader`` (a few
    hundred examples are read). ``optimizer``: your ``Optimizer`` (coverage is checked against
    it, its class and hyper-parameters are reused on copies), a list of optimizers stepped
    together, or a factory ``params -> Optimizer``; default Adam, lr 3e-4. ``checks`` / ``skip``: check ids (see ``CHECKS``); ``thresholds``:
    overrides of ``DEFAULT_THRESHOLDS``. Your model, optimizer, data and every global RNG are
    bit-identical afterwards, also when a check fails or raises. The checks train small copies
    on one intra-op thread (many tiny ops: several threads make them several times slower when
    other processes share the cores); ``torch.get_num_threads()`` is yours again afterwards.

    Raises ``UnusableInput`` (a ``ValueError``) when the setup cannot run at all.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be callable (e.g. nn.CrossEntropyLoss()), got {type(loss_fn).__name__}"
        )
    if isinstance(optimizer, (list, tuple)):
        if not optimizer or not all(isinstance(o, torch.optim.Optimizer) for o in optimizer):
            raise TypeError(
                "optimizer= as a list must hold torch Optimizers (several optimizers"
                " stepped together)"
            )
    elif optimizer is not None and not (
        isinstance(optimizer, torch.optim.Optimizer) or callable(optimizer)
    ):
        raise TypeError(
            "optimizer must be a torch Optimizer, a list of them, or a factory params -> Optimizer"
        )
    chosen = _select(checks, skip)
    th = dict(DEFAULT_THRESHOLDS)
    unknown = sorted(set(thresholds or {}) - set(th))
    if unknown:
        raise ValueError(f"unknown threshold(s): {', '.join(unknown)}; known: {', '.join(th)}")
    th.update({k: float(v) for k, v in (thresholds or {}).items()})
    if expected_init_loss is not None and not math.isfinite(float(expected_init_loss)):
        raise ValueError("expected_init_loss must be a finite number")

    snapshot = Snapshot(model, optimizer, data=(data, val))
    try:
        pool = to_device(
            make_pool(data, batch_fn=batch_fn, limit=int(th["pool_size"]), name="data"), model
        )
        val_pool = (
            None
            if val is None
            else to_device(
                make_pool(val, batch_fn=batch_fn, limit=int(th["pool_size"]), name="val"), model
            )
        )
        ctx = Ctx(
            model=model,
            pool=pool,
            val=val_pool,
            loss_fn=loss_fn,
            output_fn=output_fn or default_output_fn,
            optimizer=optimizer,
            task=None,  # type: ignore[arg-type] - set right below, from the probe
            snapshot=snapshot,
            seed=int(seed),
            quiet=quiet,
            thresholds=th,
            causal=causal,
            expected_init_loss=expected_init_loss,
            scheduler=scheduler,
            steps=steps,
            copyable=try_deepcopy(model) is not None,
            raw_data=data,
        )
        out, loss = _probe(ctx)
        ctx.task = infer_task(loss_fn, out, pool.targets[: out.shape[0]], loss, task)
        runners: dict[str, Callable[[], Finding]] = {
            "input_sanity": lambda: _static.input_sanity(ctx, out),
            "loss_at_init": lambda: _static.loss_at_init(ctx, out, loss),
            "init_well": lambda: _static.init_well(ctx, out),
            "health_at_init": lambda: _static.health_at_init(ctx),
            "parameter_coverage": lambda: _coverage.parameter_coverage(ctx),
            "eval_mode": lambda: _coverage.eval_mode(ctx),
            "batch_independence": lambda: _structure.batch_independence(ctx),
            "causality": lambda: _structure.causality(ctx),
            "reproducibility": lambda: _training.reproducibility(ctx),
            "overfit_one_batch": lambda: _training.overfit_one_batch(ctx),
            "decreasing_loss": lambda: _training.decreasing_loss(ctx),
            "input_independent_baseline": lambda: _training.input_independent_baseline(ctx),
            "lr_schedule": lambda: _training.lr_schedule(ctx),
        }
        findings = []
        for cid in chosen:
            try:
                findings.append(runners[cid]())
            except UnusableInput:
                raise
            except Exception as exc:  # noqa: BLE001 - one check's crash must not hide the others
                findings.append(
                    Finding(
                        cid,
                        "fail",
                        f"the check could not run: the setup raised {type(exc).__name__}: {exc}",
                        fix="Run one training step by hand on a batch to find the"
                        " error; the other checks ran.",
                        evidence={"error": repr(exc)},
                    )
                )
            if not ctx.copyable:  # the original was used in place: put it back between checks
                snapshot.restore_model()
        evidence = {
            "task": ctx.task.task,
            "loss_kind": ctx.task.loss_kind,
            "n_classes": ctx.task.n_classes,
            "examples": pool.n,
        }
        findings.insert(
            0,
            Finding(
                "setup",
                "info",
                f"task {ctx.task.task!r}"
                f" (loss {ctx.task.loss_kind}"
                f"{', ' + str(ctx.task.n_classes) + ' classes' if ctx.task.n_classes else ''}),"
                f" {pool.n} examples read"
                f"{'' if val_pool is None else f', {val_pool.n} validation examples'}"
                f"{'' if ctx.copyable else '; the model could not be copied, so checks ran on it and it was restored'}.",
                evidence=evidence,
            ),
        )
        return Report(tuple(findings), title="Recipe check")
    finally:
        snapshot.restore()
