"""Snapshot and restore: ``rw.check`` leaves the user's world bit-identical.

Captured: every parameter and buffer (values, ``requires_grad``, ``.grad``), every module's
``.training`` flag, the optimizer's state dict and hyper-parameters, and the global RNG states
(python, numpy, torch CPU and CUDA). Parameters and buffers are cloned in memory; gradients and
optimizer state, which no check writes, are spilled to a temporary file with a SHA-256 each and
read back only if they changed (see ``_Spill``), so a check holds one copy of the model's state
beside its working copy, not two; an optimizer and a scheduler come back in place (same
objects). Checks work on copies made by :func:`copy_model`, without the user's hooks; the
original is never trained.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import ctypes
import ctypes.util
import functools
import gc
import hashlib
import random
import sys
import tempfile
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


def _load_malloc_trim() -> Any:
    """glibc's ``malloc_trim`` (None elsewhere): freed tensors of a few MiB stay in the C heap
    after ``free`` once glibc raised its mmap threshold, so a copy freed is not memory given back
    until the heap is trimmed."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and other C libraries have none
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()


def release_memory() -> None:
    """Free what the last copy left behind (its reference cycles too) and hand the freed heap
    back to the system, so the next copy reuses memory instead of adding to the peak."""
    gc.collect(1)  # the young generations: a copy made since the last collection
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _clone(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.detach().clone()


#: tensors at least this many bytes are spilled to disk rather than cloned in memory
SPILL_BYTES = 1 << 16


class _Spill:
    """Tensors the checks never write (the user's gradients and optimizer state), kept in an
    anonymous temporary file with a SHA-256 of their bytes instead of a copy in memory: a check's
    memory holds one working copy, not two. Restoring reads a tensor back only when its digest
    changed. A tensor that cannot be written as plain bytes (sparse, quantized, too small to
    matter, or a disk that refuses) is cloned in memory as before."""

    def __init__(self) -> None:
        self.file: Any = None
        self.failed = False

    def keep(self, t: torch.Tensor) -> Any:
        """What :meth:`changed` and :meth:`value` take: a file record, or an in-memory clone."""
        t = t.detach()
        if self.failed or not _plain(t) or t.numel() * t.element_size() < SPILL_BYTES:
            return t.clone()
        try:
            raw = tensor_bytes(t)
        except (RuntimeError, TypeError):  # a dtype numpy cannot view: kept in memory
            return t.clone()
        try:
            if self.file is None:
                self.file = tempfile.TemporaryFile(prefix="rw-check-snapshot-")
            offset = self.file.seek(0, 2)
            self.file.write(raw)
        except OSError:  # no room, no temp folder: the rest stays in memory too
            self.failed = True
            return t.clone()
        return _Record(offset, raw.nbytes, tuple(t.shape), t.dtype, hashlib.sha256(raw).digest())

    def changed(self, kept: Any, t: torch.Tensor) -> bool:
        if isinstance(kept, torch.Tensor):
            return not (
                t.shape == kept.shape and t.dtype == kept.dtype and torch.equal(t.detach(), kept)
            )
        if tuple(t.shape) != kept.shape or t.dtype != kept.dtype or not _plain(t.detach()):
            return True
        try:
            return hashlib.sha256(tensor_bytes(t.detach())).digest() != kept.digest
        except (RuntimeError, TypeError):  # unreadable now: put the kept values back
            return True

    def value(self, kept: Any, device: torch.device) -> torch.Tensor:
        if isinstance(kept, torch.Tensor):
            return kept.clone()
        buf = bytearray(kept.nbytes)
        self.file.seek(kept.offset)
        self.file.readinto(buf)
        flat = (
            torch.frombuffer(buf, dtype=torch.uint8) if buf else torch.empty(0, dtype=torch.uint8)
        )
        return flat.view(kept.dtype).reshape(kept.shape).to(device)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


@dataclass(frozen=True)
class _Record:
    offset: int
    nbytes: int
    shape: tuple[int, ...]
    dtype: torch.dtype
    digest: bytes


def _plain(t: torch.Tensor) -> bool:
    return t.layout == torch.strided and not t.is_quantized and t.device.type != "meta"


def tensor_bytes(t: torch.Tensor) -> memoryview:
    """A dense tensor's values as bytes, in row-major order (a host copy of this one tensor when
    it lives on a device or is not contiguous)."""
    flat = t.detach().to("cpu").resolve_conj().resolve_neg().contiguous().reshape(-1)
    return memoryview(flat.view(torch.uint8).numpy())


@torch.no_grad()
def _restore_kept(spill: _Spill, obj: torch.Tensor, kept: Any) -> torch.Tensor:
    """``obj`` (the same tensor object) with the kept values, read back only if they changed."""
    if spill.changed(kept, obj):
        _copy_into(obj, spill.value(kept, obj.device))
    return obj


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
        self.spill = _Spill()
        # A DataLoader with its own generator (or a sampler with one) advances it when iterated.
        self.generators = [(g, g.get_state()) for g in _data_generators(data)]
        self.training = [(m, m.training) for m in model.modules()]
        self.params = [
            (
                p,
                _clone(p.data),
                p.requires_grad,
                None if p.grad is None else (p.grad, self.spill.keep(p.grad)),
            )
            for p in model.parameters()
        ]
        self.buffers = [(b, _clone(b.data)) for b in model.buffers()]
        several = optimizer if isinstance(optimizer, (list, tuple)) else [optimizer]
        self.optimizers = [
            _OptimizerState(o, self.spill) for o in several if isinstance(o, torch.optim.Optimizer)
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
                obj, kept = grad
                p.grad = _restore_kept(self.spill, obj, kept)
        for b, data in self.buffers:
            if b.data.shape != data.shape:
                b.data = data.clone()
            else:
                b.data.copy_(data)

    def restore(self) -> None:
        """Everything back, once, at the end (:meth:`restore_model` may run any number of times
        before): the spilled tensors' file is dropped afterwards."""
        try:
            self.restore_model()
            for saved in self.optimizers:
                saved.restore()
            if self.scheduler is not None:
                sched, values = self.scheduler
                _put_back(sched.__dict__, values)
            for gen, state in self.generators:
                gen.set_state(state)
            self.rng.restore()
        finally:
            self.spill.close()


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

    def __init__(self, opt: torch.optim.Optimizer, spill: _Spill) -> None:
        self.opt = opt
        self.spill = spill
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
                    k: (v, spill.keep(v) if isinstance(v, torch.Tensor) else copy.deepcopy(v))
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
                    s[k] = _restore_kept(self.spill, obj, value)
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
    memo = _hookless_memo(model)
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


def _hookless_memo(model: torch.nn.Module) -> dict[int, Any]:
    """A deepcopy memo that already maps every module's hook tables to new empty ones: the copy
    leaves the user's hooks behind without copying them first (on a small net the seven tables
    of every module were a third of the copy's time). Empty containers are mapped the same way:
    deepcopy would make the same new empty one, more slowly."""
    memo: dict[int, Any] = {}
    for m in model.modules():
        for value in m.__dict__.values():
            if type(value) in _EMPTY_COPIES and not value:  # the copy deepcopy would make
                memo[id(value)] = type(value)()
        for name in _HOOK_TABLES:
            table = m.__dict__.get(name)
            if isinstance(table, dict):
                memo[id(table)] = type(table)()
    return memo


#: containers whose empty instances copy to a new empty one of the same type
_EMPTY_COPIES = frozenset({dict, collections.OrderedDict, set, list})


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
        if not isinstance(v, _FUNCTION_KINDS):
            continue
        new = _rebind(v, memo)
        if new is not v:
            module.__dict__[k] = new


#: what ``_rebind`` can re-point; any other attribute is left as deepcopy made it
_FUNCTION_KINDS = (types.MethodType, functools.partial, types.FunctionType)


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
