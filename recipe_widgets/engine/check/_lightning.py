"""``rw.check`` on a LightningModule: its ``configure_optimizers`` and ``training_step``.

Recognised by duck typing (a module with ``training_step`` and ``configure_optimizers`` whose
class descends from one named ``LightningModule``): Lightning itself is never imported here.

The user's module is never touched. One copy is made (without its Trainer, with ``self.log``
silenced: outside a Trainer Lightning warns on every call and records nothing), and
``configure_optimizers`` runs on that copy, so the optimizers and schedulers it returns hold
the copy's parameters. The checks then treat the copy as the user's model:

- every loss the checks train on is ``training_step(batch, batch_idx)`` (a tensor, or a dict
  with ``"loss"``), the batch rebuilt as ``(inputs..., targets)``;
- the checks that read the model's output (the loss at init, batch independence, ...) call
  ``forward`` and need the loss as a function of that output: ``training_step`` run on a
  second copy whose ``forward`` returns the given output. That is only right when
  ``training_step`` calls ``self(x)`` once and its loss depends on the batch through that
  output alone; it is verified on two examples, and when it does not hold those checks skip
  and say why (the training checks still run).
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from recipe_widgets.engine.check._data import Pool, UnusableInput, call_model
from recipe_widgets.engine.check._state import RngState

#: the checks that need ``forward``'s output (not only training_step's loss)
NEEDS_FORWARD = frozenset(
    {"input_sanity", "loss_at_init", "init_well", "batch_independence", "causality", "eval_mode"}
)


def is_lightning_module(model: Any) -> bool:
    return (
        isinstance(model, nn.Module)
        and callable(getattr(model, "training_step", None))
        and callable(getattr(model, "configure_optimizers", None))
        and any(c.__name__ == "LightningModule" for c in type(model).__mro__)
    )


def is_datamodule(data: Any) -> bool:
    """A LightningDataModule (or anything shaped like one): ``setup`` and ``train_dataloader``."""
    return (
        not isinstance(data, (DataLoader, Dataset, tuple, list, torch.Tensor, Mapping))
        and callable(getattr(data, "train_dataloader", None))
        and callable(getattr(data, "setup", None))
    )


def _no_log(*args: Any, **kwargs: Any) -> None:
    """``self.log`` / ``self.log_dict`` on the checks' copies: nothing to log to."""


def _private_copy(module: nn.Module, optimizer: Any = None) -> tuple[nn.Module, Any]:
    """A deep copy without the Trainer (or Fabric) the module may hold, logging silenced; with
    it, a copy of the user's optimizer (or list of them) holding the copy's parameters (a
    factory is returned as it is)."""
    several = isinstance(optimizer, (list, tuple))
    if not (isinstance(optimizer, torch.optim.Optimizer) or several):
        optimizer, factory = None, optimizer
    else:
        factory = None
    memo: dict[int, Any] = {
        id(obj): None
        for obj in (module.__dict__.get("_trainer"), module.__dict__.get("_fabric"))
        if obj is not None
    }
    try:
        clone, opt = copy.deepcopy((module, optimizer), memo)
    except Exception as exc:
        raise UnusableInput(
            f"the LightningModule could not be copied ({type(exc).__name__}: {exc}); rw.check"
            " trains copies only, never your module."
        ) from exc
    clone.log = _no_log
    clone.log_dict = _no_log
    return clone, (factory if optimizer is None else opt)


def _scheduler_of(entry: Any) -> tuple[Any, str]:
    """A scheduler entry of configure_optimizers (a scheduler or a dict with "scheduler")."""
    if isinstance(entry, Mapping):
        if "scheduler" not in entry:
            raise UnusableInput(
                'configure_optimizers: an lr_scheduler dict must hold the key "scheduler".'
            )
        return entry["scheduler"], str(entry.get("interval", "epoch"))
    return entry, "epoch"


def read_configure_optimizers(conf: Any) -> tuple[list[torch.optim.Optimizer], list[Any]]:
    """Optimizers and ``(scheduler, interval)`` pairs from every form Lightning documents: an
    optimizer; a list of them; ``([optimizers], [schedulers])``; a dict with ``"optimizer"``
    and an optional ``"lr_scheduler"`` (a scheduler or a dict with ``"scheduler"``); a list of
    such dicts."""
    opts: list[Any] = []
    scheds: list[Any] = []
    if isinstance(conf, torch.optim.Optimizer):
        opts = [conf]
    elif isinstance(conf, Mapping):
        opts = [conf.get("optimizer")]
        if conf.get("lr_scheduler") is not None:
            scheds = [_scheduler_of(conf["lr_scheduler"])]
    elif isinstance(conf, (list, tuple)) and len(conf) == 2 and isinstance(conf[0], list):
        opts = list(conf[0])
        found = conf[1] if isinstance(conf[1], (list, tuple)) else [conf[1]]
        scheds = [_scheduler_of(s) for s in found]
    elif isinstance(conf, (list, tuple)) and conf and all(isinstance(d, Mapping) for d in conf):
        for d in conf:
            o, s = read_configure_optimizers(d)
            opts += o
            scheds += s
    elif isinstance(conf, (list, tuple)):
        opts = list(conf)
    if not opts or not all(isinstance(o, torch.optim.Optimizer) for o in opts):
        raise UnusableInput(
            "configure_optimizers() must return a torch Optimizer, a list of them,"
            " ([optimizers], [schedulers]) or a dict with 'optimizer' (and 'lr_scheduler');"
            f" it returned {type(conf).__name__}. Pass optimizer= to check with another."
        )
    return opts, scheds


def _scheduler_factory(sched: Any) -> Callable[[torch.optim.Optimizer], Any]:
    """The dry run's factory: a copy of the configured scheduler, moved onto the dry run's
    optimizer (so the configured one, on the check's copy, never steps)."""

    def make(opt: torch.optim.Optimizer) -> Any:
        return copy.deepcopy(sched, {id(sched.optimizer): opt})

    return make


def _train_loader(module: nn.Module, data: Any, datamodule: Any) -> Any:
    if data is not None and datamodule is not None:
        raise TypeError("pass the data as data= or datamodule=, not both")
    source = datamodule if datamodule is not None else data
    if source is None:
        own = getattr(type(module), "train_dataloader", None)  # the module's own loader?
        if own is None or own.__module__.split(".")[0] in ("lightning", "pytorch_lightning"):
            raise TypeError(
                "data= is required: a DataLoader, a LightningDataModule (or datamodule=), or"
                " an (inputs, targets) tuple"
            )
        return module.train_dataloader()
    if not is_datamodule(source):
        if datamodule is not None:
            raise TypeError(
                "datamodule= takes a LightningDataModule (with setup() and train_dataloader()),"
                f" got {type(datamodule).__name__}"
            )
        return source
    if callable(getattr(source, "prepare_data", None)):
        source.prepare_data()
    source.setup("fit")
    return source.train_dataloader()


def _takes_batch_idx(module: nn.Module) -> bool:
    try:
        params = inspect.signature(module.training_step).parameters.values()
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 2


def training_step_loss(module: nn.Module, pool: Pool) -> torch.Tensor:
    """``training_step`` on ``pool`` rebuilt as the batch ``[inputs..., targets]``: its loss."""
    if isinstance(pool.inputs, dict):
        raise UnusableInput(
            "rw.check on a LightningModule takes batches of tensors (x, y) or (x1, ..., y);"
            " these batches hold a dict of inputs."
        )
    batch = [*pool.inputs, pool.targets]
    out = (
        module.training_step(batch, 0) if _takes_batch_idx(module) else module.training_step(batch)
    )
    loss = out.get("loss") if isinstance(out, Mapping) else out
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise UnusableInput(
            "training_step must return the loss: a scalar tensor or a dict with 'loss';"
            f" it returned {type(out).__name__} on the batch (inputs..., targets)."
        )
    return loss.reshape(())


class StepLoss:
    """``training_step``'s loss as ``loss_fn(output, targets)``: training_step run on a private
    copy whose ``forward`` returns ``output`` (the inputs it is given are the batch's first
    example repeated: only their shape can matter, which :meth:`verify` checks)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.template = Pool((torch.zeros(1),), torch.zeros(1))  # set from the pool: see verify
        self.forward_ok = True
        self.calls = 0
        self.output: Any = None
        module.forward = self._forward  # the copy's own; the user's module is not this one

    def _forward(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.output

    def __call__(self, output: Any, targets: torch.Tensor) -> torch.Tensor:
        n = int(targets.shape[0])
        inputs = tuple(t.expand(n, *t.shape[1:]) for t in self.template.tensors())
        self.calls, self.output = 0, output
        try:
            loss = training_step_loss(self.module, Pool(inputs, targets))
        finally:
            self.output = None
        if self.calls != 1:
            raise UnusableInput(
                f"training_step called self(...) {self.calls} times (once is needed to read its"
                " loss as a function of forward's output)"
            )
        return loss

    def verify(self, model: nn.Module, pool: Pool) -> str | None:
        """Why this loss is not training_step's on ``pool`` (two examples), or None; sets
        ``forward_ok`` (does ``forward`` run on the inputs at all?)."""
        self.template = pool.take(slice(0, 1))
        probe = pool.take(slice(0, 2))
        model.eval()
        self.module.eval()
        try:
            with torch.no_grad():
                out = call_model(model, probe.inputs)
        except Exception as exc:  # noqa: BLE001 - no forward defined, or one taking other inputs
            self.forward_ok = False
            return f"forward raised {type(exc).__name__}: {exc}"
        try:
            with torch.no_grad():
                whole = float(training_step_loss(model, probe))
                separate = float(self(out, probe.targets))
        except Exception as exc:  # noqa: BLE001 - named in the skipped checks' findings
            return str(exc) if isinstance(exc, UnusableInput) else f"{type(exc).__name__}: {exc}"
        if math.isfinite(whole) and not math.isclose(whole, separate, rel_tol=1e-4, abs_tol=1e-6):
            return (
                "training_step's loss depends on the batch through more than self(x) (it reads"
                " the inputs again, or calls the network's layers directly)"
            )
        return None


@dataclass
class LightningSetup:
    """A LightningModule turned into what ``rw.check`` takes."""

    model: nn.Module
    data: Any
    optimizer: Any
    scheduler: Any
    loss_fn: Any
    note: str

    def arguments(self, scheduler: Any) -> tuple[Any, Any, Any, Any, Any]:
        """model, data, loss_fn, optimizer and scheduler (``scheduler=`` given wins)."""
        chosen = self.scheduler if scheduler is None else scheduler
        return self.model, self.data, self.loss_fn, self.optimizer, chosen


def from_lightning(
    module: nn.Module, data: Any, datamodule: Any, loss_fn: Any, optimizer: Any, batch_fn: Any
) -> LightningSetup:
    """The copy, its data, optimizers and scheduler from configure_optimizers, and the separate
    loss (``loss_fn`` if given, else :class:`StepLoss`). The global RNG is put back after
    (configure_optimizers and a datamodule's setup may draw from it)."""
    if batch_fn is not None:
        raise TypeError(
            "batch_fn= is not taken with a LightningModule: training_step receives the batches"
            " as the loader yields them, (x, y) or (x1, ..., y)"
        )
    if getattr(module, "automatic_optimization", True) is False:
        raise UnusableInput(
            "this LightningModule uses manual optimization (automatic_optimization = False):"
            " its training_step steps its optimizers itself, which needs a Trainer; rw.check"
            " reads the loss that training_step returns"
        )
    rng = RngState.capture()
    try:
        model, optimizer = _private_copy(module, optimizer)
        loader = _train_loader(model, data, datamodule)
        scheduler, note = None, "optimizer= as given"
        if optimizer is None:
            try:
                conf = model.configure_optimizers()
            except Exception as exc:
                raise UnusableInput(
                    f"configure_optimizers() raised {type(exc).__name__}: {exc} outside a"
                    " Trainer; pass optimizer= (and scheduler=) to check with them instead"
                ) from exc
            opts, scheds = read_configure_optimizers(conf)
            optimizer = opts[0] if len(opts) == 1 else opts
            note = "optimizer" + (" and scheduler" if scheds else "") + " from configure_optimizers"
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau
            if scheds and isinstance(scheds[0][0], plateau):
                note += " (a ReduceLROnPlateau follows a logged metric: no schedule dry run)"
            elif scheds:
                scheduler = _scheduler_factory(scheds[0][0])
    finally:
        rng.restore()
    if loss_fn is None:
        loss_fn = StepLoss(_private_copy(module)[0])
    return LightningSetup(model, loader, optimizer, scheduler, loss_fn, note)
