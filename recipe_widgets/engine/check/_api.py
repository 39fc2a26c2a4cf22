"""``rw.check``: every step of the recipe as a verdict, on copies of the user's setup."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.check import _coverage, _static, _structure, _training
from recipe_widgets.engine.check._context import (
    DEFAULT_THRESHOLDS,
    CannotCopy,
    Ctx,
    start_lr,
    user_optimizers,
)
from recipe_widgets.engine.check._cost import CostMeter
from recipe_widgets.engine.check._data import (
    NotExampleAligned,
    UnusableInput,
    call_model,
    default_batch_fn,
    default_output_fn,
    make_pool,
    to_device,
)
from recipe_widgets.engine.check._lightning import (
    NEEDS_FORWARD,
    LightningSetup,
    StepLoss,
    from_lightning,
    is_lightning_module,
    training_step_loss,
)
from recipe_widgets.engine.check._state import Snapshot, global_hooks_off
from recipe_widgets.engine.check._task import TaskInfo, infer_task
from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding, Report
from recipe_widgets.engine.threads import small_work
from recipe_widgets.engine.validate import not_text, whole

#: Checks that read the values of the model's output (not only the loss).
_READS_OUTPUT = frozenset(
    {"input_sanity", "loss_at_init", "init_well", "batch_independence", "causality"}
)

#: Stable check ids, in the order they run (cheap ones first).
CHECKS: tuple[str, ...] = (
    "input_sanity",
    "data_order",
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


def _probe(ctx: Ctx) -> tuple[torch.Tensor | None, float]:
    """One forward of a fresh copy in train mode: the output and loss every init check reads."""
    model = ctx.fresh(forward_only=True)
    model.train()
    batch = _static.probe_pool(ctx)
    if ctx.no_output:  # a LightningModule whose loss is not a function of forward's output
        try:
            with torch.no_grad():
                return None, float(ctx.loss(model, batch))
        except UnusableInput:
            raise
        except Exception as exc:
            raise UnusableInput(
                f"training_step raised {type(exc).__name__}: {exc} on a batch (inputs..., targets)"
            ) from exc
    try:
        with torch.no_grad():
            out = ctx.out(model, batch)
    except UnusableInput:
        raise
    except Exception as exc:
        if _runs_whole(ctx):
            raise NotExampleAligned(
                "the model runs on a whole batch of the loader but not on a slice of its"
                " examples (a graph given whole, with its adjacency indexed by node?): the"
                f" checks take examples apart along dim 0 ({type(exc).__name__}: {exc})"
            ) from exc
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
        hint = _label_hint(out, ctx.pool.targets) if isinstance(out, torch.Tensor) else ""
        if hint:
            raise LabelsRefused(hint.strip(), f"{type(exc).__name__}: {exc}") from exc
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UnusableInput(
            f"loss_fn raised {type(exc).__name__}: {exc} on output"
            f" {shape} and targets {tuple(batch.targets.shape)}."
        ) from exc
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise UnusableInput(
            f"loss_fn must return a scalar tensor; got {type(loss).__name__}"
            f"{'' if not isinstance(loss, torch.Tensor) else ' of shape ' + str(tuple(loss.shape))}."
            " Use reduction='mean' (or .mean() the result)."
        )
    return _detached(out), float(loss)


def _runs_whole(ctx: Ctx) -> bool:
    """Does the model run on the loader's first batch as it comes (the user's own call)?"""
    loader = ctx.raw_data
    if not isinstance(loader, torch.utils.data.DataLoader):
        return False
    try:
        batch = next(iter(loader))
        inputs, _ = (ctx.batch_fn or default_batch_fn)(batch)
        with torch.no_grad():
            if isinstance(inputs, list):
                inputs = tuple(inputs)
            call_model(
                ctx.fresh(forward_only=True),
                inputs if isinstance(inputs, (tuple, dict)) else (inputs,),
            )
    except Exception:  # noqa: BLE001 - it does not run either: the usual error is raised
        return False
    return True


def _detached(out: Any) -> Any:
    """The probe's output without its graph: a tensor, or a tuple / list / dict of them (a VAE's
    ``(reconstruction, mu, logvar)`` given to a loss that takes all three)."""
    if isinstance(out, torch.Tensor):
        return out.detach()
    if isinstance(out, (tuple, list)):
        return type(out)(_detached(o) for o in out) if type(out) in (tuple, list) else out
    if isinstance(out, dict):
        return {k: _detached(v) for k, v in out.items()}
    return out


class LabelsRefused(UnusableInput):
    """The loss raised on labels outside 0..C-1: reported as a finding, not raised."""

    def __init__(self, labels: str, error: str) -> None:
        super().__init__(f"{labels} ({error})")
        self.labels = labels.rstrip(".")
        self.error = error


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


def _catching_warnings(run: Callable[[], Finding], seen: set[str]) -> Finding:
    """Run one check with the warnings raised inside it (PyTorch's broadcast ``UserWarning``
    from the user's loss, once per training step of a copy) caught: each distinct warning is
    kept once, with its count, as evidence of the first finding it came with."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        finding = run()
    new = _distinct(caught, seen)
    if not new:
        return finding
    return dataclasses.replace(finding, evidence={**finding.evidence, "warnings": new})


def _distinct(caught: list[warnings.WarningMessage], seen: set[str]) -> list[str]:
    """``"UserWarning: ... (x7)"`` per warning not ``seen`` before (then marked seen). One
    warning is one place in the code: its text varies with the batch size between rungs."""
    where = Counter(f"{w.category.__name__}@{w.filename}:{w.lineno}" for w in caught)
    first = {f"{w.category.__name__}@{w.filename}:{w.lineno}": w for w in reversed(caught)}
    new = []
    for key, n in where.items():
        if key not in seen:
            text = f"{first[key].category.__name__}: {first[key].message}"
            new.append(f"{text} (x{n})" if n > 1 else text)
    seen.update(where)
    return new


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


def _checked_scheduler(factory: Any) -> Any:
    """The user's factory, refusing a result that is not a scheduler (``lambda o: None``); no
    scheduler, or a scheduler object, as it is."""
    if factory is None or isinstance(factory, torch.optim.lr_scheduler.LRScheduler):
        return factory

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


@small_work()  # tiny-model training: one intra-op thread, the user's count restored after
def check(
    model: nn.Module,
    data: Any = None,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    *,
    datamodule: Any = None,
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
    clip_grad_norm: float | None = None,
    seed: int = 0,
    quiet: bool = False,
) -> Report:
    """Run the recipe's checks on copies of ``model`` and return a :class:`Report`.

    ``data`` / ``val``: an ``(inputs, targets)`` tuple, a ``Dataset`` or a ``DataLoader`` (a few
    hundred examples are read). ``optimizer``: your ``Optimizer`` (coverage is checked against
    it, its class and hyper-parameters are reused on copies), a list of optimizers stepped
    together, or a factory ``params -> Optimizer``; default Adam, lr 3e-4. ``checks`` / ``skip``:
    check ids (see ``CHECKS``); ``thresholds``: overrides of ``DEFAULT_THRESHOLDS``.
    ``clip_grad_norm``: the max norm your loop clips gradients to (else a short run that
    diverges is retried once, clipped at norm 1, and the finding says so). Your model,
    optimizer (the same group and state objects), data and every global RNG are bit-identical
    afterwards, also when a check fails or raises. The checks train copies, without your hooks
    (module and global); a model ``copy.deepcopy`` refuses is rebuilt from its parameters,
    buffers and modes, and when no safe copy exists (a stored function that reaches your
    modules) the training checks skip and say why. Copies start from a scheduler's
    ``initial_lr``; under ``torch.no_grad()`` the checks run with gradients enabled, on one
    intra-op thread. A LightningModule with a loader or ``datamodule=``: optimizers from
    ``configure_optimizers()`` on a copy, every loss from ``training_step``. ``Report.cost``:
    time and peak memory. Raises ``UnusableInput`` (a ``ValueError``) when the setup cannot
    run at all; labels the loss refuses are a failed ``input_sanity`` finding instead.
    """
    lit = _lightning_setup(model, data, loss_fn, datamodule, optimizer, batch_fn)
    if lit is not None:
        model, data, loss_fn, optimizer, scheduler = lit.arguments(scheduler)
    _validate(model, loss_fn, optimizer, expected_init_loss, clip_grad_norm)
    _validate_more(data, val, seed, steps, scheduler)
    grad_was = torch.is_grad_enabled()  # the setup finding says when the check enabled grads
    with CostMeter(model, user_optimizers(optimizer)) as meter:
        snapshot = Snapshot(model, optimizer, data=(data, val), scheduler=scheduler)
        scheduler = _checked_scheduler(scheduler)
        try:
            with torch.enable_grad(), global_hooks_off():
                report = _setup_and_check(
                    model,
                    data,
                    loss_fn,
                    optimizer,
                    val,
                    task,
                    _select(checks, skip),
                    _thresholds(thresholds),
                    batch_fn,
                    output_fn,
                    scheduler,
                    steps,
                    causal,
                    expected_init_loss,
                    clip_grad_norm,
                    seed,
                    quiet,
                    snapshot,
                    grad_was,
                    lit,
                )
        finally:
            snapshot.restore()  # and drops its spill file
    return dataclasses.replace(report, cost=meter.cost)


def _setup_and_check(
    model: nn.Module,
    data: Any,
    loss_fn: Any,
    optimizer: Any,
    val: Any,
    task: str | None,
    chosen: list[str],
    th: dict[str, float],
    batch_fn: Any,
    output_fn: Any,
    scheduler: Any,
    steps: int | None,
    causal: bool | None,
    expected_init_loss: float | None,
    clip_grad_norm: float | None,
    seed: int,
    quiet: bool,
    snapshot: Snapshot,
    grad_was: bool,
    lit: LightningSetup | None = None,
) -> Report:
    if scheduler is not None and not isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler):
        scheduler = _checked_scheduler(scheduler)
    try:
        pool = make_pool(data, batch_fn=batch_fn, limit=int(th["pool_size"]), name="data")
    except NotExampleAligned as exc:
        return _all_skipped(str(exc), chosen)
    pool = to_device(pool, model)
    if pool.n < 2:
        raise UnusableInput(
            f"data= holds {pool.n} example(s); the checks need at least 2 (a few hundred is best)."
        )
    ctx = Ctx(
        model=model,
        pool=pool,
        val=_val_pool(val, batch_fn, th, model),
        loss_fn=loss_fn,
        output_fn=output_fn or default_output_fn,
        optimizer=optimizer,
        task=TaskInfo(task or "other", "unknown"),  # replaced below, from the probe
        snapshot=snapshot,
        seed=int(seed),
        quiet=quiet,
        thresholds=th,
        causal=causal,
        expected_init_loss=expected_init_loss,
        scheduler=scheduler,
        steps=steps,
        raw_data=data,
        raw_val=val,
        batch_fn=batch_fn,
        clip_grad_norm=None if clip_grad_norm is None else float(clip_grad_norm),
    )
    if lit is not None:
        _from_training_step(ctx, lit)
    return _checked(ctx, chosen, task, grad_was)


def _from_training_step(ctx: Ctx, lit: LightningSetup) -> None:
    """A LightningModule: every loss from training_step; the output checks only when its loss
    is verified to be a function of forward's output (or a loss_fn was given)."""
    ctx.step_loss = training_step_loss
    ctx.source_note = f"; a LightningModule: {lit.note}, every loss from training_step"
    if not isinstance(ctx.loss_fn, StepLoss):
        return
    why = ctx.loss_fn.verify(ctx.fresh(forward_only=True), ctx.pool)
    ctx.snapshot.restore_model()  # the copy verified on is the checks' own; make sure
    if why is None:
        return
    ctx.forward_runs = ctx.loss_fn.forward_ok
    ctx.no_output_checks = NEEDS_FORWARD if not ctx.forward_runs else _READS_OUTPUT
    needs = (
        "pass loss_fn= (the loss of forward's output)"
        if ctx.forward_runs
        else "define forward (what self(x) returns: the model's output)"
    )
    ctx.no_output = (
        f"{why}. This check needs forward's output and training_step's loss of it; {needs}"
        " to run it"
    )


def _checked(ctx: Ctx, chosen: list[str], task: str | None, grad_was: bool) -> Report:
    """The probe (one forward and loss, whose warnings are the setup's evidence), then every
    chosen check."""
    try:
        with warnings.catch_warnings(record=True) as probed:
            warnings.simplefilter("always")
            out, loss = _probe(ctx)
    except LabelsRefused as exc:
        return _labels_refused(exc, chosen)
    except NotExampleAligned as exc:
        return _all_skipped(str(exc), chosen)
    ctx.snapshot.restore_model()  # the probe ran on the original when no copy exists
    if ctx.copy_problem is None:
        with warnings.catch_warnings():  # the probe's warnings are already counted
            warnings.simplefilter("ignore")
            ctx.copy_problem = _copy_leak(ctx)
    if isinstance(out, torch.Tensor):
        targets = ctx.pool.targets[: out.shape[0]]
        ctx.task = infer_task(ctx.loss_fn, out, targets, loss, task)
    seen: set[str] = set()
    probe_warnings = _distinct(probed, seen)
    findings = _run_checks(ctx, chosen, out, loss, seen)
    findings.insert(0, _setup_finding(ctx, probe_warnings, grad_was))
    return Report(tuple(findings), title="Recipe check")


def _val_pool(val: Any, batch_fn: Any, th: dict[str, float], model: nn.Module) -> Any:
    if val is None:
        return None
    pool = make_pool(val, batch_fn=batch_fn, limit=int(th["pool_size"]), name="val")
    return to_device(pool, model)


def _validate(
    model: Any, loss_fn: Any, optimizer: Any, expected_init_loss: Any, clip_grad_norm: Any
) -> None:
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
    if expected_init_loss is not None and not math.isfinite(float(expected_init_loss)):
        raise ValueError("expected_init_loss must be a finite number")
    if clip_grad_norm is not None and not (
        isinstance(clip_grad_norm, (int, float)) and clip_grad_norm > 0
    ):
        raise ValueError(f"clip_grad_norm must be a positive number, got {clip_grad_norm!r}")


def _runners(ctx: Ctx, out: Any, loss: float) -> dict[str, Callable[[], Finding]]:
    return {
        "input_sanity": lambda: _static.input_sanity(ctx, out),
        "loss_at_init": lambda: _static.loss_at_init(ctx, out, loss),
        "init_well": lambda: _static.init_well(ctx, out, loss),
        "health_at_init": lambda: _static.health_at_init(ctx),
        "data_order": lambda: _coverage.data_order(ctx),
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


def _run_checks(
    ctx: Ctx, chosen: list[str], out: Any, loss: float, seen: set[str]
) -> list[Finding]:
    runners = _runners(ctx, out, loss)
    not_finite = _not_finite(ctx.pool, loss)
    findings = []
    for cid in chosen:
        if not_finite and cid in _TRAINING:
            findings.append(Finding(cid, "skip", f"not run: {not_finite}."))
            continue
        if ctx.no_output and cid in ctx.no_output_checks:
            findings.append(Finding(cid, "skip", f"not run: {ctx.no_output}."))
            continue
        if cid in _READS_OUTPUT and not isinstance(out, torch.Tensor):
            findings.append(
                Finding(
                    cid,
                    "skip",
                    f"the output the loss takes is a {type(out).__name__}, not a tensor:"
                    " this check reads the output's values.",
                    fix="Pass output_fn= returning the tensor of predictions, and a loss"
                    " that takes it, to run this check too.",
                )
            )
            continue
        try:
            findings.append(_catching_warnings(runners[cid], seen))
        except UnusableInput:
            raise
        except CannotCopy as exc:
            findings.append(Finding(cid, "skip", f"not run, to leave your model untouched: {exc}."))
        except Exception as exc:  # noqa: BLE001 - one check's crash must not hide the others
            # The probe ran the user's model and loss, so what raises here is what the check
            # did to the setup (zeroed inputs, one example, a permuted batch): the check
            # cannot judge it, which is not a verdict on the setup.
            findings.append(
                Finding(
                    cid,
                    "skip",
                    f"the check could not run: the setup raised {type(exc).__name__}: {exc}",
                    fix="Run one training step by hand on a batch to see whether your"
                    " setup raises too; the other checks ran.",
                    evidence={"error": repr(exc)},
                )
            )
        ctx.snapshot.restore_model()  # a check's forward never changes the original; make sure
        ctx.release_memory()  # the check's copies are garbage now: the next check starts lean
    return findings


def _setup_finding(ctx: Ctx, probe_warnings: list[str], grad_was: bool) -> Finding:
    """What was read and how the checks ran (copies, gradients, the lr the copies used)."""
    several = ctx.optimizer if isinstance(ctx.optimizer, (list, tuple)) else [ctx.optimizer]
    evidence = {
        "task": ctx.task.task,
        "loss_kind": ctx.task.loss_kind,
        "n_classes": ctx.task.n_classes,
        "examples": ctx.pool.n,
        "copy": "none" if ctx.copy_problem else ("rebuilt" if ctx.copy_how else "deep copy"),
        "grad_enabled_by_check": not grad_was,
        "copies_lr": [
            float(start_lr(g))
            for o in several
            if isinstance(o, torch.optim.Optimizer)
            for g in o.param_groups
            if isinstance(start_lr(g), (int, float))
        ],
        **({"warnings": probe_warnings} if probe_warnings else {}),
    }
    classes = f", {ctx.task.n_classes} classes" if ctx.task.n_classes else ""
    val = "" if ctx.val is None else f", {ctx.val.n} validation examples"
    return Finding(
        "setup",
        "info",
        f"task {ctx.task.task!r} (loss {ctx.task.loss_kind}{classes}),"
        f" {ctx.pool.n} examples read{val}{_how_notes(ctx, grad_was)}.",
        evidence=evidence,
    )


def _how_notes(ctx: Ctx, grad_was: bool) -> str:
    notes = ""
    if ctx.copy_problem:
        notes += f"; training checks skipped: {ctx.copy_problem}"
    elif ctx.copy_how:
        notes += (
            f"; the model could not be deep-copied ({ctx.copy_how}), so the checks ran on a"
            " rebuilt copy of its parameters, buffers and modes (attributes that cannot be"
            " copied are shared)"
        )
    if not grad_was:
        notes += "; called under torch.no_grad(): the checks ran with gradients enabled"
    return notes + _lr_note(ctx.optimizer) + ctx.source_note


def _lightning_setup(
    model: Any, data: Any, loss_fn: Any, datamodule: Any, optimizer: Any, batch_fn: Any
) -> LightningSetup | None:
    """A LightningModule as what the checks take, or None for a plain module (whose data and
    loss_fn are then required; datamodule= is Lightning's)."""
    if is_lightning_module(model):
        return from_lightning(model, data, datamodule, loss_fn, optimizer, batch_fn)
    if datamodule is not None:
        raise TypeError(
            "datamodule= goes with a LightningModule (its training_step and"
            " configure_optimizers); for a plain nn.Module pass data="
        )
    if data is None:
        raise TypeError("data= is required: an (inputs, targets) tuple, a Dataset or a DataLoader")
    if loss_fn is None:
        raise TypeError(
            "loss_fn= is required for a plain nn.Module (e.g. nn.CrossEntropyLoss());"
            " a LightningModule's loss comes from its training_step"
        )
    return None


def _validate_more(data: Any, val: Any, seed: Any, steps: Any, scheduler: Any) -> None:
    whole("seed", seed, least=0)
    kinds = "an (inputs, targets) tuple of tensors, a Dataset or a DataLoader"
    not_text("data", data, kinds)
    not_text("val", val, kinds)
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps= must be a whole number >= 1, got {steps!r}")
    if scheduler is not None and not callable(scheduler):
        raise TypeError(
            f"scheduler= takes a factory optimizer -> scheduler, got {type(scheduler).__name__}"
        )


def _all_skipped(why: str, chosen: list[str]) -> Report:
    """Batches the checks cannot take apart into examples: every check says so and how to
    give them per-example tensors."""
    fix = (
        "Pass batch_fn= returning inputs with the examples along dim 0 (e.g. padded token ids"
        " and lengths instead of a flat tensor with offsets)."
    )
    findings = [Finding("setup", "skip", f"the checks cannot run on these batches: {why}", fix=fix)]
    findings += [
        Finding(c, "skip", "the batches are not example-aligned (see setup).") for c in chosen
    ]
    return Report(tuple(findings), title="Recipe check")


def _labels_refused(exc: LabelsRefused, chosen: list[str]) -> Report:
    """The loss raises on the labels (1..C for C outputs): that is the finding, and every other
    check, which needs the loss, says it waits for the fix."""
    findings = [
        Finding(
            "input_sanity",
            "fail",
            f"{exc.labels}. The loss refuses them ({exc.error}).",
            fix="Relabel the targets to 0..C-1 (e.g. y - 1 for labels 1..C), or widen the"
            " final layer to the largest label + 1.",
            evidence={"error": exc.error},
        )
    ]
    findings += [
        Finding(c, "skip", "the loss cannot run on these labels; fix them first.")
        for c in chosen
        if c != "input_sanity"
    ]
    return Report(tuple(findings), title="Recipe check")
