"""What every check shares: the pool of examples, fresh copies of the model, a copied optimizer,
the forward / loss helpers and a small deterministic training loop."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.check._data import Pool, UnusableInput, call_model
from recipe_widgets.engine.check._state import Snapshot, copy_model, release_memory
from recipe_widgets.engine.check._task import TaskInfo
from recipe_widgets.engine.progress import progress
from recipe_widgets.engine.seed import seed_torch

#: Every tolerance and budget a check uses; ``thresholds=`` overrides any of them by name.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "pool_size": 512,  # examples read from `data` (and `val`)
    "batch_size": 32,  # for the checks' own short training runs
    "loss_init_warn": 0.25,  # relative distance from the expected initial loss -> warn
    "loss_init_fail": 1.0,  # ... -> fail (loss more than 2x, or under half, the expected)
    "regression_init_far": 4.0,  # MSE/L1 at init this many times above its range: info below,
    # warn up to 5x this, fail beyond (unstandardized features start a few times too high)
    "init_kl_warn": 0.25,  # KL(label prior || mean prediction) at init, nats -> warn (random
    # inits land up to ~0.1 by chance; a 90/10 prior with uniform outputs is 0.37)
    "init_kl_fail": 1.0,
    "init_gain_warn": 0.4,  # ... and only if the final bias alone would remove this fraction
    # of the initial loss (a 1:10 binary prior: 56%; a character LM's letter frequencies: <10%;
    # a tagger's dominant 'O' tag: ~30%)
    "init_mean_warn": 1.5,  # |mean prediction - mean target| / std target -> warn (regression)
    "init_mean_fail": 3.0,
    "init_bias_steps_warn": 1000,  # ... and only if the optimizer needs this many steps to get
    # the output bias to the target mean (a shorter hockey stick is reported as info)
    "retry_clip": 0.25,  # a short run that diverges is retried with gradients clipped to this
    # norm (tutorials' loops clip at 0.1-1: torchtext 0.1, the transformer LM 0.5, nanoGPT 1)
    "lr_scale": 10.0,  # the checks' short runs first try the user's lr times this (then 1x)
    "overfit_examples": 10,
    "overfit_steps": 300,
    "overfit_ce_target": 0.01,  # cross-entropy-type losses must go below this
    "overfit_rel_target": 0.01,  # other losses below this fraction of the loss at init
    "decrease_steps": 40,
    "decrease_ratio": 0.9,  # loss after / before must be at most this
    "baseline_steps": 120,
    "baseline_ratio": 0.9,  # real held-out loss must be at most this times the zero-input one
    "baseline_weak_ratio": 0.97,  # ... between the two (or a better training loss): 'info'
    "repro_steps": 3,
    "independence_examples": 64,
    "independence_rtol": 0.0,  # 0: calibrated from the dtype (sqrt(eps))
    "input_std_warn": 10.0,  # a float input with std or |mean| beyond this is not normalized
    "dead_relu_warn": 0.9,  # fraction of units dead on the whole batch at init (over half is
    # common in a narrow autoencoder's decoder, which still trains)
    "activation_std_fail": 100.0,  # a layer's output std at init beyond this: badly scaled init
    "grad_ratio_warn": 1e-4,  # smallest / largest per-layer grad norm (vanishing gradients)
    "schedule_floor": 0.01,  # lr below this fraction of its peak ...
    "schedule_before": 0.5,  # ... before this fraction of the planned steps
}


class CannotCopy(Exception):
    """No safe copy of the model exists: a check that would train it is skipped instead."""


def start_lr(group: dict[str, Any]) -> Any:
    """The lr a copy starts from: the ``initial_lr`` a scheduler set (a warm-up from lr 0 would
    otherwise train the copies at lr 0), else the group's current lr."""
    return group.get("initial_lr", group.get("lr"))


def dropout_off(model: nn.Module) -> None:
    """Dropout modules to eval mode (the overfit test needs a deterministic net)."""
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()


class Several:
    """Several optimizers stepped together (a GAN's two, a backbone's and a head's)."""

    def __init__(self, optimizers: list[torch.optim.Optimizer]) -> None:
        self.optimizers = optimizers

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [g for o in self.optimizers for g in o.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for o in self.optimizers:
            o.step()


class DefaultAdam:
    """The checks' optimizer when none is given: Adam at lr 3e-4 with torch's defaults, the
    arithmetic of ``torch.optim.Adam``'s per-tensor loop (what torch runs on the CPU) op for op.

    Not a ``torch.optim.Optimizer``: torch's first optimizer in a process imports its compiler
    stack (``torch._dynamo``, seconds), which a person who passed no optimizer would wait for in
    their first ``rw.check``. tests/engine/test_check_tools.py holds it to torch's Adam, bit for bit.
    """

    def __init__(self, params: list[nn.Parameter], lr: float = 3e-4) -> None:
        self.param_groups = [{"params": list(params), "lr": lr, "betas": (0.9, 0.999), "eps": 1e-8}]
        self.state: dict[nn.Parameter, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in (p for g in self.param_groups for p in g["params"]):
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        for g in self.param_groups:
            lr, (beta1, beta2), eps = g["lr"], g["betas"], g["eps"]
            for p in g["params"]:
                if p.grad is None:
                    continue
                st = self.state.setdefault(
                    p,
                    {"step": 0, "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)},
                )
                st["step"] += 1
                st["exp_avg"].lerp_(p.grad, 1 - beta1)
                st["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                step_size = lr / (1 - beta1 ** st["step"])
                denom = (st["exp_avg_sq"].sqrt() / (1 - beta2 ** st["step"]) ** 0.5).add_(eps)
                p.addcdiv_(st["exp_avg"], denom, value=-step_size)


def default_optimizer(params: list[nn.Parameter]) -> Any:
    """Adam at lr 3e-4 for the checks' copies: :class:`DefaultAdam` for real parameters on the
    CPU; torch's own Adam elsewhere (complex or sparse gradients, and on a GPU, where torch
    steps all tensors at once and so rounds differently)."""
    if all(p.device.type == "cpu" and not p.is_complex() for p in params):
        return DefaultAdam(params)
    return torch.optim.Adam(params, lr=3e-4)


def user_optimizers(optimizer: Any) -> list[torch.optim.Optimizer]:
    several = optimizer if isinstance(optimizer, (list, tuple)) else [optimizer]
    return [o for o in several if isinstance(o, torch.optim.Optimizer)]


def copy_optimizer(optimizer: Any, user_model: nn.Module, copy: nn.Module) -> Any:
    """An optimizer for ``copy`` like the user's: same class, same per-group hyper-parameters,
    the same parameters (matched by name). A factory is called on the copy's parameters; a list
    of optimizers gives a :class:`Several` of copies."""
    if isinstance(optimizer, (list, tuple)):
        names = {id(p) for p in user_model.parameters()}
        mine = [
            o for o in optimizer if any(id(p) in names for g in o.param_groups for p in g["params"])
        ]
        if not mine:
            raise UnusableInput("none of the optimizers holds this model's parameters.")
        return Several([copy_optimizer(o, user_model, copy) for o in mine])
    if optimizer is None:
        return default_optimizer([p for p in copy.parameters() if p.requires_grad])
    if not isinstance(optimizer, torch.optim.Optimizer):
        opt = optimizer([p for p in copy.parameters() if p.requires_grad])
        if not isinstance(opt, torch.optim.Optimizer):
            raise UnusableInput(
                f"optimizer must be a torch Optimizer or a factory params -> Optimizer; the factory"
                f" returned {type(opt).__name__}."
            )
        return opt
    name_of = {id(p): n for n, p in user_model.named_parameters()}
    by_name = dict(copy.named_parameters())
    groups = []
    for g in optimizer.param_groups:
        params = [by_name[name_of[id(p)]] for p in g["params"] if id(p) in name_of]
        if params:
            hp = {k: v for k, v in g.items() if k not in ("params", "initial_lr")}
            if "lr" in g:
                hp["lr"] = start_lr(g)
            groups.append({"params": params, **hp})
    if not groups:
        raise UnusableInput(
            "the optimizer holds none of the model's parameters; pass the optimizer"
            " built on this model's parameters."
        )
    return type(optimizer)(groups, **_init_kwargs(optimizer))


def _init_kwargs(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer's defaults that its constructor accepts (some defaults are derived keys)."""
    try:
        accepted = set(inspect.signature(type(optimizer).__init__).parameters)
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in optimizer.defaults.items() if k in accepted and k != "params"}


#: A copy's leftovers are collected and the heap trimmed (before the next copy, after each
#: check) only for models of at least this many bytes: below it a collection and a trim cost
#: more than the memory they give back, a few copies of a small net (0.7 ms before each copy in a
#: large process; skipping them after each check made a digits-CNN rw.check 1.72 -> 1.60 s).
_RELEASE_BYTES = 4 << 20


@dataclass
class Ctx:
    model: nn.Module
    pool: Pool
    val: Pool | None
    loss_fn: Callable[..., Any]
    output_fn: Callable[[Any], torch.Tensor]
    optimizer: Any
    task: TaskInfo
    snapshot: Snapshot
    seed: int = 0
    quiet: bool = False
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    causal: bool | None = None
    expected_init_loss: float | None = None
    scheduler: Any = None
    steps: int | None = None
    #: why no safe copy exists (training checks skip), or None
    copy_problem: str | None = None
    #: how the copies are made: "" for a deep copy, else why deepcopy failed (rebuilt instead)
    copy_how: str = ""
    raw_data: Any = None
    raw_val: Any = None
    batch_fn: Any = None
    clip_grad_norm: float | None = None  # the user's loop clips gradients to this norm
    #: the loss the checks train on, from the model itself (a LightningModule's
    #: training_step), instead of ``loss_fn(out(model, pool), targets)``
    step_loss: Callable[[nn.Module, Pool], torch.Tensor] | None = None
    #: why the checks that read the output (through ``loss_fn``) cannot run, or None
    no_output: str | None = None
    #: the checks that skip for ``no_output``
    no_output_checks: frozenset[str] = frozenset()
    #: does ``model(*inputs)`` run (a LightningModule without ``forward`` does not)?
    forward_runs: bool = True
    #: where the setup came from (a LightningModule: "optimizer from configure_optimizers")
    source_note: str = ""
    cache: dict[str, Any] = field(default_factory=dict)

    def th(self, name: str) -> float:
        return self.thresholds[name]

    def fresh(self, *, forward_only: bool = False) -> nn.Module:
        """A copy of the model as the user gave it (see ``copy_model``). Raises
        :class:`CannotCopy` when no safe copy exists; with ``forward_only`` (a forward under
        ``no_grad``) the copy is returned anyway, or the original when there is none (the
        caller restores it). The memory of copies no longer referenced is given back first
        (for a model of at least ``_RELEASE_BYTES``): drop the previous copy (``model = None``)
        before asking for the next."""
        if self.copy_problem is not None and not forward_only:
            raise CannotCopy(self.copy_problem)
        self.release_memory()
        clone, self.copy_how = copy_model(self.model)
        if clone is None:
            self.copy_problem = f"the model could not be copied ({self.copy_how})"
            if not forward_only:
                raise CannotCopy(self.copy_problem)
            self.snapshot.restore_model()
            return self.model
        return clone

    def release_memory(self) -> None:
        """Collect the garbage of earlier copies and trim the heap (``release_memory``), for a
        model of at least ``_RELEASE_BYTES``; a no-op for smaller ones."""
        if "model_bytes" not in self.cache:
            tensors = [*self.model.parameters(), *self.model.buffers()]
            self.cache["model_bytes"] = sum(t.numel() * t.element_size() for t in tensors)
        if self.cache["model_bytes"] >= _RELEASE_BYTES:
            release_memory()

    def make_optimizer(self, model: nn.Module, lr_scale: float = 1.0) -> Any:
        opt = copy_optimizer(self.optimizer, self.model, model)
        if lr_scale != 1.0:
            for g in opt.param_groups:
                if isinstance(g.get("lr"), (int, float)):
                    g["lr"] = g["lr"] * lr_scale
        return opt

    def make_optimizer_for_dummy(self, dummy: nn.Module) -> torch.optim.Optimizer:
        """The user's optimizer class and per-group hyper-parameters on throwaway parameters (the
        LR schedule dry run steps this one, never the user's)."""
        opt = self.optimizer
        if isinstance(opt, (list, tuple)):  # the schedule drives the first optimizer
            opt = opt[0] if opt else None
        if opt is None:
            return torch.optim.Adam(dummy.parameters(), lr=3e-4)
        if not isinstance(opt, torch.optim.Optimizer):
            return opt(list(dummy.parameters()))
        groups = [
            {
                "params": [nn.Parameter(torch.zeros(1))],
                **{k: v for k, v in g.items() if k not in ("params", "initial_lr")},
                **({"lr": start_lr(g)} if "lr" in g else {}),
            }
            for g in opt.param_groups
        ]
        return type(opt)(groups, **_init_kwargs(opt))

    def out(self, model: nn.Module, pool: Pool) -> torch.Tensor:
        return self.output_fn(call_model(model, pool.inputs))

    def loss(self, model: nn.Module, pool: Pool) -> torch.Tensor:
        if self.step_loss is not None:
            return self.step_loss(model, pool)
        return self.loss_fn(self.out(model, pool), pool.targets)

    @torch.no_grad()
    def eval_loss(self, model: nn.Module, pool: Pool) -> float:
        was = model.training
        model.eval()
        try:
            total, n = 0.0, 0
            bs = int(self.th("pool_size"))
            for s in range(0, pool.n, bs):
                part = pool.take(slice(s, s + bs))
                total += float(self.loss(model, part)) * part.n
                n += part.n
            return total / max(n, 1)
        finally:
            model.train(was)

    def train(
        self,
        model: nn.Module,
        pool: Pool,
        steps: int,
        *,
        desc: str,
        stop_below: float | None = None,
        full_batch: bool = False,
        lr_scale: float = 1.0,
        stop_fn: Callable[[list[float]], bool] | None = None,
        clip: float | None = None,
    ) -> list[float]:
        """A plain loop of ``steps`` optimizer steps on batches of ``pool`` in a fixed order.

        Seeds torch first so two calls from the same start repeat exactly (the caller's RNG is
        restored by ``rw.check`` at the end). Stops early once the loss is below ``stop_below``.
        Gradients are clipped to ``clip`` (default: the user's ``clip_grad_norm``) as their
        loop does: an RNN or a transformer at the LR its author chose may need it not to diverge.
        """
        clip = self.clip_grad_norm if clip is None else clip
        seed_torch(self.seed)
        opt = self.make_optimizer(model, lr_scale)
        bs = pool.n if full_batch else min(int(self.th("batch_size")), pool.n)
        gen = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(pool.n, generator=gen)
        losses: list[float] = []
        pos = 0
        for _ in progress(range(steps), total=steps, desc=desc, quiet=self.quiet):
            if pos + bs > pool.n:
                order = torch.randperm(pool.n, generator=gen)
                pos = 0
            batch = pool if full_batch else pool.take(order[pos : pos + bs])
            pos += bs
            opt.zero_grad(set_to_none=True)
            loss = self.loss(model, batch)
            value = float(loss.detach())
            losses.append(value)
            if not torch.isfinite(loss):
                break
            if stop_below is not None and value < stop_below:
                break
            if stop_fn is not None and stop_fn(losses):
                break
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
        return losses
