"""``rw.check``: every step of the recipe as a verdict, on copies of the user's setup."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.check import _coverage, _static, _structure, _training
from recipe_widgets.engine.check._context import DEFAULT_THRESHOLDS, CannotCopy, Ctx, start_lr
from recipe_widgets.engine.check._data import UnusableInput, default_output_fn, make_pool, to_device
from recipe_widgets.engine.check._state import Snapshot, global_hooks_off
from recipe_widgets.engine.check._task import infer_task
from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding, Report
from recipe_widgets.engine.validate import not_text, whole

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
        if ids is not None and (
            not isinstance(ids, (list, tuple, set, frozenset))
            or not all(isinstance(i, str) for i in ids)
        ):
            raise TypeError(f"{name}= takes a list of check ids (strings), got {ids!r}")
        unknown = sorted(set(ids or ()) - set(CHECKS))
        if unknown:
            raise ValueError(
                f"unknown check id(s) in {name}=: {', '.join(unknown)}; known: {', '.join(CHECKS)}"
            )
    chosen = [c for c in CHECKS if checks is None or c in set(checks)]
    return [c for c in chosen if c not in set(skip or ())]


def _probe(ctx: Ctx) -> tuple[torch.Tensor, float]:
    """One forward of a fresh copy in train mode: the output and loss every init check reads."""
    model = ctx.fresh(forward_only=True)
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


#: checks that train and compare losses: meaningless when inputs or the loss are NaN / Inf
_TRAINING = (
    "reproducibility",
    "overfit_one_batch",
    "decreasing_loss",
    "input_independent_baseline",
)


def _not_finite(pool: Any, loss: float) -> str | None:
    """Why losses cannot be compared (NaN != NaN would read as 'not reproducible'), or None."""
    bad = sum(int((~torch.isfinite(t)).sum()) for t in pool.tensors() if t.is_floating_point())
    if bad:
        return f"the inputs hold {bad} NaN/Inf value(s) (see input_sanity); clean them first"
    if not math.isfinite(loss):
        return f"the loss at init is {loss} (see loss_at_init); no training run can be compared"
    return None


def _checked_scheduler(factory: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The user's factory, refusing a result that is not a scheduler (``lambda o: None``)."""

    def make(opt: Any) -> Any:
        sched = factory(opt)
        if not callable(getattr(sched, "step", None)):
            raise UnusableInput(
                f"scheduler= must be a factory optimizer -> scheduler (an object with .step());"
                f" it returned {type(sched).__name__}."
            )
        return sched

    return make


def _copy_leak(ctx: Ctx) -> str | None:
    """Why the copies are not safe to train, or None: one backward on a copy must reach only the
    copy's parameters (a function stored on the model that captured the original's submodules
    would send gradients, and steps, to the user's model). ``autograd.grad`` computes without
    accumulating, so the user's ``.grad`` is never written."""
    mine = [p for p in ctx.model.parameters() if p.requires_grad]
    if not mine:
        return None
    try:
        model = ctx.fresh(forward_only=True)
        if model is ctx.model:
            return None
        model.train()
        loss = ctx.loss(model, _static.probe_pool(ctx))
        if not loss.requires_grad:
            return None
        grads = torch.autograd.grad(loss, mine, allow_unused=True)  # None where not reached
    except Exception:  # noqa: BLE001 - a model that cannot do this fails in the checks, named there
        return None
    reached = sum(g is not None for g in grads)
    if reached:
        return (
            f"a copy of the model still computes with {reached} of your model's parameters"
            " (a function stored on the model, e.g. self.fn = lambda x: self.ln(x), captured"
            " the original submodules), so training a copy would change your model. Define"
            " such functions as methods, or call them through the module, to run these checks"
        )
    return None


#: thresholds that count something: whole numbers, at least 1
_COUNTS = {
    "pool_size",
    "batch_size",
    "overfit_examples",
    "overfit_steps",
    "decrease_steps",
    "baseline_steps",
    "repro_steps",
    "independence_examples",
}


def _thresholds(thresholds: Any) -> dict[str, float]:
    th = dict(DEFAULT_THRESHOLDS)
    if thresholds is None:
        return th
    if not isinstance(thresholds, dict):
        raise TypeError(
            f"thresholds= takes a dict {{name: number}}, got {type(thresholds).__name__}"
        )
    unknown = sorted(set(thresholds) - set(th), key=str)
    if unknown:
        raise ValueError(
            f"unknown threshold(s) in thresholds=: {', '.join(map(str, unknown))};"
            f" known: {', '.join(th)}"
        )
    for k, v in thresholds.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"thresholds={{{k!r}: ...}} must be a finite number, got {v!r}")
        if k in _COUNTS and (v < 1 or v != int(v)):
            raise ValueError(
                f"thresholds={{{k!r}: ...}} counts something: a whole number >= 1, got {v!r}"
            )
        if v < 0:
            raise ValueError(f"thresholds={{{k!r}: ...}} must be >= 0, got {v!r}")
        th[k] = float(v)
    return th


def _lr_note(optimizer: Any) -> str:
    """Which lr the copies train at, when a scheduler's ``initial_lr`` differs from the current."""
    several = optimizer if isinstance(optimizer, (list, tuple)) else [optimizer]
    pairs = [
        (g.get("lr"), start_lr(g))
        for o in several
        if isinstance(o, torch.optim.Optimizer)
        for g in o.param_groups
    ]
    if not any(cur != start for cur, start in pairs):
        return ""
    starts = ", ".join(fmt(float(s)) for _, s in pairs)
    now = ", ".join(fmt(float(c)) for c, _ in pairs)
    return f"; the copies train from lr {starts} (the initial_lr your scheduler set; your optimizer's lr now is {now})"


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
    bit-identical afterwards, also when a check fails or raises: the optimizer's groups and
    state tensors are the same objects (values put back in place). The checks train copies,
    never your model: your forward / backward hooks (module and global) do not fire on them, a
    model ``copy.deepcopy`` refuses is rebuilt from its parameters, buffers and modes, and when
    no safe copy exists (a stored function that reaches your modules) the training checks skip
    and say why. Copies start from a scheduler's ``initial_lr`` (a warm-up from lr 0 would not
    train them); called under ``torch.no_grad()``, the checks run with gradients enabled.

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
    whole("seed", seed, least=0)
    kinds = "an (inputs, targets) tuple of tensors, a Dataset or a DataLoader"
    not_text("data", data, kinds)
    not_text("val", val, kinds)
    th = _thresholds(thresholds)
    if expected_init_loss is not None and not math.isfinite(float(expected_init_loss)):
        raise ValueError("expected_init_loss must be a finite number")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps= must be a whole number >= 1, got {steps!r}")
    if scheduler is not None and not callable(scheduler):
        raise TypeError(
            f"scheduler= takes a factory optimizer -> scheduler, got {type(scheduler).__name__}"
        )

    grad_was = torch.is_grad_enabled()
    snapshot = Snapshot(model, optimizer, data=(data, val), scheduler=scheduler)
    try:
        with torch.enable_grad(), global_hooks_off():
            return _run(
                model=model,
                data=data,
                loss_fn=loss_fn,
                optimizer=optimizer,
                val=val,
                task=task,
                chosen=chosen,
                th=th,
                batch_fn=batch_fn,
                output_fn=output_fn,
                scheduler=scheduler,
                steps=steps,
                causal=causal,
                expected_init_loss=expected_init_loss,
                seed=seed,
                quiet=quiet,
                snapshot=snapshot,
                grad_was=grad_was,
            )
    finally:
        snapshot.restore()


def _run_checks(
    ctx: Ctx, chosen: list[str], runners: dict[str, Callable[[], Finding]], not_finite: str | None
) -> list[Finding]:
    """Each chosen check in turn; a crash becomes that check's finding, the others still run."""
    findings = []
    for cid in chosen:
        if not_finite and cid in _TRAINING:
            findings.append(Finding(cid, "skip", f"not run: {not_finite}."))
            continue
        try:
            findings.append(runners[cid]())
        except UnusableInput:
            raise
        except CannotCopy as exc:
            findings.append(Finding(cid, "skip", f"not run, to leave your model untouched: {exc}."))
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
        ctx.snapshot.restore_model()  # a check's forward never changes the original; make sure
    return findings


def _setup_finding(ctx: Ctx, val_pool: Any, how: str, grad_was: bool) -> Finding:
    """What was read and how the checks ran (copies, gradients, the lr the copies used)."""
    evidence = {
        "task": ctx.task.task,
        "loss_kind": ctx.task.loss_kind,
        "n_classes": ctx.task.n_classes,
        "examples": ctx.pool.n,
        "copy": "none" if ctx.copy_problem else ("rebuilt" if how else "deep copy"),
        "grad_enabled_by_check": not grad_was,
        "copies_lr": [
            float(start_lr(g))
            for o in (
                [ctx.optimizer] if not isinstance(ctx.optimizer, (list, tuple)) else ctx.optimizer
            )
            if isinstance(o, torch.optim.Optimizer)
            for g in o.param_groups
            if isinstance(start_lr(g), (int, float))
        ],
    }
    notes = ""
    if ctx.copy_problem:
        notes += f"; training checks skipped: {ctx.copy_problem}"
    elif how:
        notes += (
            f"; the model could not be deep-copied ({how}), so the checks ran on a rebuilt"
            " copy of its parameters, buffers and modes (attributes that cannot be copied"
            " are shared)"
        )
    if not grad_was:
        notes += "; called under torch.no_grad(): the checks ran with gradients enabled"
    notes += _lr_note(ctx.optimizer)
    return Finding(
        "setup",
        "info",
        f"task {ctx.task.task!r}"
        f" (loss {ctx.task.loss_kind}"
        f"{', ' + str(ctx.task.n_classes) + ' classes' if ctx.task.n_classes else ''}),"
        f" {ctx.pool.n} examples read"
        f"{'' if val_pool is None else f', {val_pool.n} validation examples'}"
        f"{notes}.",
        evidence=evidence,
    )


def _run(
    *,
    model: nn.Module,
    data: Any,
    loss_fn: Callable[..., torch.Tensor],
    optimizer: Any,
    val: Any,
    task: str | None,
    chosen: list[str],
    th: dict[str, float],
    batch_fn: Callable[[Any], Any] | None,
    output_fn: Callable[[Any], torch.Tensor] | None,
    scheduler: Any,
    steps: int | None,
    causal: bool | None,
    expected_init_loss: float | None,
    seed: int,
    quiet: bool,
    snapshot: Snapshot,
    grad_was: bool,
) -> Report:
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
    if pool.n < 2:
        raise UnusableInput(
            f"data= holds {pool.n} example(s); the checks need at least 2 (a few hundred is best)."
        )
    if scheduler is not None and not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
        scheduler = _checked_scheduler(scheduler)
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
        raw_data=data,
    )
    out, loss = _probe(ctx)
    how = ctx.copy_how
    snapshot.restore_model()  # the probe ran on the original when no copy exists
    if ctx.copy_problem is None:
        ctx.copy_problem = _copy_leak(ctx)
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
    findings = _run_checks(ctx, chosen, runners, _not_finite(pool, loss))
    findings.insert(0, _setup_finding(ctx, val_pool, how, grad_was))
    return Report(tuple(findings), title="Recipe check")
