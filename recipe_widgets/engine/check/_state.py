"""Snapshot and restore: ``rw.check`` leaves the user's world bit-identical.

Captured: every parameter and buffer (values, ``requires_grad``, ``.grad``), every module's
``.training`` flag, the optimizer's state dict and hyper-parameters, and the global RNG states
(python, numpy, torch CPU and CUDA); an optimizer and a scheduler come back in place (same
objects). Checks work on copies made by :func:`copy_model`, without the user's hooks; the
original is never trained.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import random
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.modules.module as _module_mod


@dataclass
class RngState:
    python: Any
    numpy: Any
    torch: torch.Tensor
    cuda: list[torch.Tensor] | None

    @classmethod
    def capture(cls) -> RngState:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        return cls(random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda)

    def restore(self) -> None:
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


def _clone(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach().clone()


class Snapshot:
    """Everything of the user's that a check could touch, to put back exactly.

    The optimizer and a scheduler object are restored in place: the same ``param_groups`` dicts,
    the same state tensors (values copied back), so references the user holds keep working.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: Any = None,
        data: tuple[Any, ...] = (),
        scheduler: Any = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.rng = RngState.capture()
        # A DataLoader with its own generator (or a sampler with one) advances it when iterated.
        self.generators = [(g, g.get_state()) for g in _data_generators(data)]
        self.training = [(m, m.training) for m in model.modules()]
        self.params = [
            (
                p,
                _clone(p.data),
                p.requires_grad,
                None if p.grad is None else (p.grad, _clone(p.grad)),
            )
            for p in model.parameters()
        ]
        self.buffers = [(b, _clone(b.data)) for b in model.buffers()]
        several = optimizer if isinstance(optimizer, (list, tuple)) else [optimizer]
        self.optimizers = [
            _OptimizerState(o) for o in several if isinstance(o, torch.optim.Optimizer)
        ]
        self.scheduler = (
            (scheduler, _copy_values(scheduler.__dict__))
            if isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler)
            else None
        )

    @torch.no_grad()
    def restore_model(self) -> None:
        for m, flag in self.training:
            m.training = flag
        for p, data, req, grad in self.params:
            if p.data.shape != data.shape or p.data.dtype != data.dtype:
                p.data = data.clone()
            else:
                p.data.copy_(data)
            p.requires_grad_(req)
            if grad is None:
                p.grad = None
            else:  # the same gradient tensor the user may hold, its values put back
                obj, value = grad
                if obj.shape == value.shape and obj.dtype == value.dtype:
                    obj.copy_(value)
                p.grad = obj if obj.shape == value.shape else value.clone()
        for b, data in self.buffers:
            if b.data.shape != data.shape:
                b.data = data.clone()
            else:
                b.data.copy_(data)

    def restore(self) -> None:
        self.restore_model()
        for saved in self.optimizers:
            saved.restore()
        if self.scheduler is not None:
            sched, values = self.scheduler
            _put_back(sched.__dict__, values)
        for gen, state in self.generators:
            gen.set_state(state)
        self.rng.restore()


def _copy_values(d: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{key: (object, deep copy of its value)}``: restoring puts the same object back and its
    value into it (dicts and lists in place, tensors by copy)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, torch.Tensor):
            out[k] = (v, v.detach().clone())
        elif isinstance(v, (dict, list)):
            try:
                out[k] = (v, copy.deepcopy(v))
            except Exception:  # noqa: BLE001 - not copyable (a bound method, a handle): identity only
                out[k] = (v, _SAME)
        elif isinstance(v, (int, float, str, bool, type(None))):
            out[k] = (v, v)
        else:
            out[k] = (v, _SAME)
    return out


_SAME = object()


@torch.no_grad()
def _copy_into(obj: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``value`` into the same tensor object (its storage replaced if the shape changed)."""
    if obj.shape == value.shape and obj.dtype == value.dtype:
        obj.copy_(value)
    else:
        obj.data = value.clone()
    return obj


@torch.no_grad()
def _put_back(d: dict[str, Any], saved: dict[str, tuple[Any, Any]]) -> None:
    for k in [k for k in d if k not in saved]:
        del d[k]
    for k, (obj, value) in saved.items():
        if value is _SAME or obj is value:
            d[k] = obj
        elif isinstance(obj, torch.Tensor):
            d[k] = _copy_into(obj, value)
        elif isinstance(obj, dict):
            obj.clear()
            obj.update(copy.deepcopy(value))
            d[k] = obj
        elif isinstance(obj, list):
            obj[:] = copy.deepcopy(value)
            d[k] = obj
        else:
            d[k] = obj


class _OptimizerState:
    """An optimizer's groups, per-parameter state and attributes, restored into the same
    objects."""

    def __init__(self, opt: torch.optim.Optimizer) -> None:
        self.opt = opt
        self.group_list = opt.param_groups
        self.groups = [
            (
                g,
                g["params"],
                list(g["params"]),
                {k: copy.deepcopy(v) for k, v in g.items() if k != "params"},
            )
            for g in opt.param_groups
        ]
        self.state_obj = opt.state
        self.state = [
            (
                p,
                s,
                {
                    k: (v, v.detach().clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v))
                    for k, v in s.items()
                },
            )
            for p, s in opt.state.items()
        ]
        self.defaults = (opt.defaults, copy.deepcopy(opt.defaults))
        self.attrs = dict(opt.__dict__)

    @torch.no_grad()
    def restore(self) -> None:
        opt = self.opt
        for k in [k for k in opt.__dict__ if k not in self.attrs]:  # e.g. a scheduler's patch
            del opt.__dict__[k]
        opt.__dict__.update(self.attrs)
        self.group_list[:] = [g for g, *_ in self.groups]
        for g, plist, params, hp in self.groups:
            g.clear()
            plist[:] = params
            g["params"] = plist
            g.update(copy.deepcopy(hp))
        self.state_obj.clear()
        for p, s, values in self.state:
            for k in [k for k in s if k not in values]:
                del s[k]
            for k, (obj, value) in values.items():
                if isinstance(obj, torch.Tensor):
                    s[k] = _copy_into(obj, value)
                else:
                    s[k] = copy.deepcopy(value)
            self.state_obj[p] = s
        d, values = self.defaults
        d.clear()
        d.update(copy.deepcopy(values))


def _data_generators(data: tuple[Any, ...]) -> list[torch.Generator]:
    found: dict[int, torch.Generator] = {}
    for d in data:
        sampler = getattr(d, "sampler", None)
        batch_sampler = getattr(d, "batch_sampler", None)
        for holder in (d, sampler, getattr(batch_sampler, "sampler", None)):
            g = getattr(holder, "generator", None)
            if isinstance(g, torch.Generator):
                found[id(g)] = g
    return list(found.values())


#: A module's own hook tables: the user's hooks stay on the user's model, never on a copy.
_HOOK_TABLES = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)

#: torch's global module hooks (``register_module_forward_hook`` and friends).
_GLOBAL_HOOK_TABLES = (
    "_global_forward_hooks",
    "_global_forward_hooks_with_kwargs",
    "_global_forward_hooks_always_called",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)


@contextlib.contextmanager
def global_hooks_off() -> Iterator[None]:
    """The user's global module hooks do not fire inside; the same tables, with the same
    entries, are back afterwards."""
    saved = []
    for name in _GLOBAL_HOOK_TABLES:
        table = getattr(_module_mod, name, None)
        if isinstance(table, dict):
            saved.append((table, dict(table)))
            table.clear()
    try:
        yield
    finally:
        for table, entries in saved:
            table.clear()
            table.update(entries)


def copy_model(model: torch.nn.Module) -> tuple[torch.nn.Module | None, str]:
    """A copy of ``model`` that shares nothing trainable with it, without the user's hooks and
    without gradients, and how it was made (``""`` for a plain deep copy).

    A model that ``copy.deepcopy`` refuses (a lock, an open file, a C++ handle) is rebuilt module
    by module: parameters, buffers and modes copied, other attributes copied where they can be
    and shared where they cannot. Functions stored as attributes (``self.fn = lambda x:
    self.ln(x)``, ``functools.partial`` of a bound method) are re-pointed at the copy's modules.
    ``(None, why)`` when neither works.
    """
    memo: dict[int, Any] = {}
    how = ""
    try:
        clone = copy.deepcopy(model, memo)
    except Exception as exc:  # noqa: BLE001 - any failure: rebuild another way
        memo = {}
        how = f"copy.deepcopy raised {type(exc).__name__}: {exc}"
        try:
            clone = _rebuild(model, memo)
        except Exception as exc2:  # noqa: BLE001
            return None, f"{how}; rebuilding it raised {type(exc2).__name__}: {exc2}"
    for m in clone.modules():
        _rebind_functions(m, memo)
        for name in _HOOK_TABLES:
            table = m.__dict__.get(name)
            if isinstance(table, dict) and table:
                m.__dict__[name] = type(table)()
        if "_is_full_backward_hook" in m.__dict__:
            m._is_full_backward_hook = None
    for p in clone.parameters():
        p.grad = None
    return clone, how


def _rebuild(module: torch.nn.Module, memo: dict[int, Any]) -> torch.nn.Module:
    if id(module) in memo:
        return memo[id(module)]
    new = type(module).__new__(type(module))
    memo[id(module)] = new
    d: dict[str, Any] = {}
    src = module.__dict__
    params = type(src["_parameters"])()
    for n, p in src["_parameters"].items():
        if p is not None and id(p) not in memo:
            memo[id(p)] = torch.nn.Parameter(p.detach().clone(), requires_grad=p.requires_grad)
        params[n] = None if p is None else memo[id(p)]
    buffers = type(src["_buffers"])()
    for n, b in src["_buffers"].items():
        if b is not None and id(b) not in memo:
            memo[id(b)] = b.detach().clone()
        buffers[n] = None if b is None else memo[id(b)]
    modules = type(src["_modules"])()
    for n, m in src["_modules"].items():
        modules[n] = None if m is None else _rebuild(m, memo)
    d.update(_parameters=params, _buffers=buffers, _modules=modules)
    for k, v in src.items():
        if k in d:
            continue
        if k in _HOOK_TABLES and isinstance(v, dict):
            d[k] = type(v)()
            continue
        try:
            d[k] = copy.deepcopy(v, memo)
        except Exception:  # noqa: BLE001 - a lock, a file: the copy shares it
            d[k] = v
    new.__dict__.update(d)
    return new


def _rebind_functions(module: torch.nn.Module, memo: dict[int, Any]) -> None:
    """Functions stored on ``module`` that reach the original through a closure, a bound
    ``self`` or a partial's arguments are rebuilt to reach the copy (deepcopy shares functions)."""
    for k, v in list(module.__dict__.items()):
        new = _rebind(v, memo)
        if new is not v:
            module.__dict__[k] = new


def _rebind(f: Any, memo: dict[int, Any], depth: int = 0) -> Any:
    if depth > 4:  # a closure that holds itself
        return f

    def mapped(x: Any) -> Any:
        return memo.get(id(x), x)

    if isinstance(f, types.MethodType) and id(f.__self__) in memo:
        return types.MethodType(f.__func__, memo[id(f.__self__)])
    if isinstance(f, functools.partial):
        func = _rebind(f.func, memo, depth + 1)
        args = tuple(mapped(a) for a in f.args)
        kw = {k: mapped(v) for k, v in f.keywords.items()}
        if (
            func is f.func
            and all(a is b for a, b in zip(args, f.args))
            and all(kw[k] is f.keywords[k] for k in kw)
        ):
            return f
        return functools.partial(func, *args, **kw)
    if isinstance(f, types.FunctionType) and f.__closure__:
        cells = []
        changed = False
        for c in f.__closure__:
            try:
                value = c.cell_contents
            except ValueError:  # an empty cell
                cells.append(c)
                continue
            new = mapped(value)
            if new is value:
                new = _rebind(value, memo, depth + 1)
            changed |= new is not value
            cells.append(types.CellType(new) if new is not value else c)
        if not changed:
            return f
        g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, tuple(cells))
        g.__kwdefaults__ = f.__kwdefaults__
        g.__dict__.update(f.__dict__)
        return g
    return f
