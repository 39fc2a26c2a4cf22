"""rw.check keeps its promise about the user's objects: the optimizer and scheduler come back in
place (same objects), the user's hooks never fire on the check's copies, a model that cannot be
deep-copied is never trained, a function stored on the model that captured the original
submodules is re-pointed or refused, and a warm-up schedule at lr 0 does not freeze the copies.

The invariants test compares every attribute bit for bit, object identity included, over many
setups. Small models: the file runs in well under a minute on one core.
"""

from __future__ import annotations

import functools
import random
import threading

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from recipe_widgets.engine.check import check

pytestmark = pytest.mark.torch_heavy

FAST = {
    "pool_size": 96,
    "overfit_steps": 15,
    "decrease_steps": 8,
    "baseline_steps": 6,
    "independence_examples": 8,
}


def _data(n: int = 96, d: int = 6, c: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x[:, :c].argmax(1)).long()
    return x, y


def _mlp(d: int = 6, c: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, c))


def _step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    opt.zero_grad()
    nn.functional.cross_entropy(model(x[:16]), y[:16]).backward()
    opt.step()
    model(x[:16]).sum().backward()  # grads left over, not zeroed


# ------------------------------------------------------------------ 1. optimizer in place


def test_optimizer_and_scheduler_restored_in_place() -> None:
    x, y = _data()
    model = _mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    _step(model, opt, x, y)
    group = opt.param_groups[0]  # what a user's LR tweak holds on to
    p0 = group["params"][0]
    exp_avg = opt.state[p0]["exp_avg"]
    saved = exp_avg.clone()
    user_sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2)
    attrs = dict(opt.__dict__)
    # a factory that (wrongly) builds on the user's optimizer moves its lr and patches it
    check(
        model,
        (x, y),
        nn.CrossEntropyLoss(),
        optimizer=opt,
        scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5**s),
        steps=20,
        quiet=True,
        thresholds=FAST,
    )
    assert opt.param_groups[0] is group and group["params"][0] is p0
    assert opt.state[p0]["exp_avg"] is exp_avg and torch.equal(exp_avg, saved)
    assert group["lr"] == 1e-2 and opt.__dict__.keys() == attrs.keys()
    assert all(opt.__dict__[k] is v for k, v in attrs.items())
    group["lr"] = 0.123  # the user's handle still drives the optimizer
    assert opt.param_groups[0]["lr"] == 0.123
    user_sched.step()  # and the user's scheduler still drives it too
    assert opt.param_groups[0]["lr"] == 0.123


def test_warmup_from_lr_zero_trains_copies_at_initial_lr() -> None:
    x, y = _data()
    model = _mlp()
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / 100)  # HF-style warm-up: lr 0 now
    assert opt.param_groups[0]["lr"] == 0.0
    r = check(
        model,
        (x, y),
        nn.CrossEntropyLoss(),
        optimizer=opt,
        checks=["overfit_one_batch"],
        quiet=True,
        thresholds={"overfit_steps": 200},
    )
    assert r["overfit_one_batch"].status == "pass", r["overfit_one_batch"].message
    assert "initial_lr" in r["setup"].message and r["setup"].evidence["copies_lr"] == [3e-2]
    assert opt.param_groups[0]["lr"] == 0.0


# ------------------------------------------------------------------ closures over the original


class LambdaNet(nn.Module):
    """minGPT-style: a function stored as an attribute that captured the original's modules."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 16)
        self.ln = nn.LayerNorm(16)
        self.head = nn.Linear(16, 3)
        if how == "lambda":
            self.fn = lambda h: self.ln(h)
        elif how == "partial":
            self.fn = functools.partial(self._norm, eps=0.0)
        else:  # hidden in a list the copy never sees: cannot be re-pointed
            hidden = [self.ln]
            self.fn = lambda h: hidden[0](h)

    def _norm(self, h: torch.Tensor, eps: float) -> torch.Tensor:
        return self.ln(h) + eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.fn(self.lin(x))))


def _count_grad_hooks(model: nn.Module) -> list[int]:
    calls = [0]

    def hook(g: torch.Tensor) -> None:
        calls[0] += 1

    for p in model.parameters():
        p.register_hook(hook)
    return calls


@pytest.mark.parametrize("how", ["lambda", "partial"])
def test_stored_function_is_repointed_at_the_copy(how: str) -> None:
    x, y = _data()
    model = LambdaNet(how)
    calls = _count_grad_hooks(model)  # a gradient reaching the user's parameters counts
    r = check(model, (x, y), nn.CrossEntropyLoss(), quiet=True, thresholds=FAST)
    assert calls[0] == 0
    assert r["parameter_coverage"].status == "pass", r["parameter_coverage"].message
    assert r["overfit_one_batch"].status != "skip"


def test_stored_function_that_cannot_be_repointed_skips_training_checks() -> None:
    x, y = _data()
    model = LambdaNet("hidden")
    before = [p.detach().clone() for p in model.parameters()]
    r = check(model, (x, y), nn.CrossEntropyLoss(), quiet=True, thresholds=FAST)
    for cid in ("overfit_one_batch", "decreasing_loss", "parameter_coverage"):
        assert r[cid].status == "skip" and "captured" in r[cid].message, r[cid].message
    assert "training checks skipped" in r["setup"].message
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())


# ------------------------------------------------------------------ 2. the user's hooks


def test_user_hooks_do_not_fire_on_copies() -> None:
    x, y = _data()
    model = _mlp()
    calls: dict[str, int] = {}

    def counter(name: str):
        def hook(*args: object, **kwargs: object) -> None:
            calls[name] = calls.get(name, 0) + 1

        return hook

    handles = [
        model[0].register_forward_hook(counter("forward")),
        model[0].register_forward_pre_hook(counter("pre")),
        model[3].register_full_backward_hook(counter("backward")),
        model.register_forward_hook(counter("top")),
        nn.modules.module.register_module_forward_hook(counter("global")),
        nn.modules.module.register_module_forward_pre_hook(counter("global_pre")),
        nn.modules.module.register_module_full_backward_hook(counter("global_backward")),
    ]
    tables = {id(t) for m in model.modules() for t in (m._forward_hooks, m._backward_hooks)}
    try:
        r = check(model, (x, y), nn.CrossEntropyLoss(), quiet=True, thresholds=FAST)
        assert len(r.findings) > 10
        assert calls == {}, calls
        same = {id(t) for m in model.modules() for t in (m._forward_hooks, m._backward_hooks)}
        assert same == tables
        nn.functional.cross_entropy(model(x[:4]), y[:4]).backward()  # still registered
        assert set(calls) == {
            "forward",
            "pre",
            "backward",
            "top",
            "global",
            "global_pre",
            "global_backward",
        }
    finally:
        for h in handles:
            h.remove()


class _Containers(nn.Module):
    """Empty and full containers as attributes, one empty list under two names."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 3)
        self.seen: list = []
        self.alias = self.seen
        self.cfg: dict = {}
        self.tags: set = set()
        self.full = {"a": [1]}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(1)  # a side effect in forward
        return self.lin(x)


def test_copy_shares_no_container_with_the_model() -> None:
    """The copy's empty containers and hook tables are new objects (made without deepcopy, for
    speed) and behave as deepcopy's would: nothing written on the copy reaches the model, and
    two names for one object stay one object."""
    from recipe_widgets.engine.check._state import copy_model

    model = _Containers()
    model.lin.register_forward_hook(lambda *a: None)
    clone, how = copy_model(model)
    assert how == ""
    for orig, new in zip(model.modules(), clone.modules()):
        for key, value in orig.__dict__.items():
            if isinstance(value, (list, dict, set)):
                assert new.__dict__[key] is not value, key
                assert type(new.__dict__[key]) is type(value), key
    assert clone.alias is clone.seen
    assert len(clone.lin._forward_hooks) == 0 and len(model.lin._forward_hooks) == 1
    clone(torch.zeros(2, 6))
    clone.cfg["k"] = 1
    clone.tags.add("t")
    clone.full["a"].append(2)
    assert model.seen == [] and model.cfg == {} and model.tags == set()
    assert model.full == {"a": [1]}


# ------------------------------------------------------------------ 3. models deepcopy refuses


class Locked(nn.Module):
    """Holds a lock (deepcopy raises) and a plain counter its forward bumps."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.calls = 0
        self.notes = {"seen": []}
        self.lin = nn.Linear(6, 16)
        self.bn = nn.BatchNorm1d(16)
        self.out = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with self.lock:
            self.calls += 1
        return self.out(torch.relu(self.bn(self.lin(x))))


def test_uncopyable_model_is_never_trained() -> None:
    x, y = _data()
    model = Locked()
    calls = _count_grad_hooks(model)
    r = check(model, (x, y), nn.CrossEntropyLoss(), quiet=True, thresholds=FAST)
    assert calls[0] == 0  # no backward ever reached the user's parameters
    assert model.calls == 0 and model.notes == {"seen": []}
    assert "rebuilt copy" in r["setup"].message and "deep-copied" in r["setup"].message
    assert r["parameter_coverage"].status == "pass"
    assert r["overfit_one_batch"].status in ("pass", "warn", "fail")


def test_model_without_any_copy_skips_training_checks() -> None:
    x, y = _data()
    model = Locked()
    model.out.__class__ = type("Odd", (nn.Linear,), {"__new__": None})  # not even rebuildable
    before = [p.detach().clone() for p in model.parameters()]
    r = check(model, (x, y), nn.CrossEntropyLoss(), quiet=True, thresholds=FAST)
    assert r["overfit_one_batch"].status == "skip"
    assert "could not be copied" in r["overfit_one_batch"].message
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_check_under_no_grad_runs_with_grad_and_says_so() -> None:
    x, y = _data()
    model = _mlp()
    with torch.no_grad():
        r = check(model, (x, y), nn.CrossEntropyLoss(), quiet=True, thresholds=FAST)
        assert not torch.is_grad_enabled()
    assert "gradients enabled" in r["setup"].message
    assert not any("could not run" in f.message for f in r), [f.message for f in r]


# ------------------------------------------------------------------ invariants, bit for bit


def _capture(model: nn.Module, opts: list, sched, data) -> dict:
    """Everything rw.check promises to leave alone: values, flags and the objects themselves."""
    return {
        "params": [(p, p.detach().clone(), p.requires_grad) for p in model.parameters()],
        "grads": [(p.grad, None if p.grad is None else p.grad.clone()) for p in model.parameters()],
        "buffers": [(b, b.clone()) for b in model.buffers()],
        "modes": [(m, m.training) for m in model.modules()],
        "attrs": [
            (m, {k: v for k, v in vars(m).items() if not k.startswith("_")})
            for m in model.modules()
        ],
        "hooks": [
            (m, k, v, dict(v))
            for m in model.modules()
            for k, v in vars(m).items()
            if "hooks" in k and isinstance(v, dict)
        ],
        "opts": [
            (
                o,
                list(o.param_groups),
                [(g, dict(g), list(g["params"])) for g in o.param_groups],
                [
                    (p, s, {k: (v, v.clone() if torch.is_tensor(v) else v) for k, v in s.items()})
                    for p, s in o.state.items()
                ],
                set(vars(o)),
            )
            for o in opts
        ],
        "sched": None if sched is None else repr(sched.state_dict()),
        "rng": (random.getstate(), repr(np.random.get_state()), torch.get_rng_state()),
        "data": [(t, t.clone()) for t in data if torch.is_tensor(t)],
    }


def _eq(a: object, b: object) -> bool:
    if torch.is_tensor(a) and torch.is_tensor(b):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    return a is b or a == b


def _assert_same(before: dict, model: nn.Module, opts: list, sched, data) -> None:
    after = _capture(model, opts, sched, data)
    for (p, v, req), (q, w, req2) in zip(before["params"], after["params"], strict=True):
        assert p is q and _eq(v, w) and req == req2
    for (g, v), (g2, w) in zip(before["grads"], after["grads"], strict=True):
        assert g is g2 and (v is None) == (w is None) and (v is None or _eq(v, w))
    for (b, v), (b2, w) in zip(before["buffers"], after["buffers"], strict=True):
        assert b is b2 and _eq(v, w)
    assert before["modes"] == after["modes"]
    for (m, d), (m2, d2) in zip(before["attrs"], after["attrs"], strict=True):
        assert m is m2 and d.keys() == d2.keys()
        assert all(_eq(d[k], d2[k]) or d[k] is d2[k] for k in d), m
    for (m, k, t, c), (m2, k2, t2, c2) in zip(before["hooks"], after["hooks"], strict=True):
        assert m is m2 and k == k2 and t is t2 and c == c2, k
    for o_before, o_after in zip(before["opts"], after["opts"], strict=True):
        o, groups, gs, states, keys = o_before
        assert o_after[0] is o
        assert o.param_groups == groups and all(a is b for a, b in zip(o.param_groups, groups))
        for g, saved, params in gs:
            assert {k: v for k, v in g.items() if k != "params"} == {
                k: v for k, v in saved.items() if k != "params"
            }
            assert g["params"] is saved["params"] and g["params"] == params
        assert len(o.state) == len(states)
        for p, s, values in states:
            assert o.state[p] is s and s.keys() == values.keys()
            for k, (obj, v) in values.items():
                assert (s[k] is obj and _eq(s[k], v)) if torch.is_tensor(obj) else s[k] == v
        assert set(vars(o)) - {"_opt_called"} == keys - {"_opt_called"}
    assert before["sched"] == after["sched"]
    r0, r1 = before["rng"], after["rng"]
    assert r0[0] == r1[0] and r0[1] == r1[1] and torch.equal(r0[2], r1[2])
    for (t, v), (t2, w) in zip(before["data"], after["data"], strict=True):
        assert t is t2 and _eq(v, w)


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Linear(6, 6, bias=False)
        self.out = nn.Linear(6, 6, bias=False)
        self.out.weight = self.emb.weight  # tied
        self.head = nn.Linear(6, 3)
        self.note = "tied"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.out(self.emb(x))))


class Drop(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.3), nn.ReLU())
        self.head = nn.Linear(16, 3)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.count += 1
        return self.head(self.body(x))


def _setup(name: str):
    """(model, data, optimizer or list, scheduler the user holds, extra kwargs)."""
    x, y = _data(seed=len(name))
    model: nn.Module = _mlp(seed=len(name))
    opt_kind, sched, kw = "adam", None, {}
    if name == "sgd_momentum":
        opt_kind = "sgd"
    elif name == "no_optimizer":
        opt_kind = None
    elif name == "factory":
        opt_kind = "factory"
    elif name == "two_groups":
        opt_kind = "groups"
    elif name == "two_optimizers":
        opt_kind = "two"
    elif name == "tied":
        model = Tied()
    elif name == "dropout_buffer":
        model = Drop()
    elif name == "frozen_part":
        model[0].weight.requires_grad_(False)
    elif name == "mixed_modes":
        model.train()
        model[1].eval()
    elif name == "all_eval":
        model.eval()
    elif name == "locked":
        model = Locked()
    elif name == "lambda":
        model = LambdaNet("lambda")
    elif name == "hidden_lambda":
        model = LambdaNet("hidden")
    elif name == "step_lr":
        opt_kind = "sgd"
    elif name == "warmup":
        opt_kind = "adamw"
    elif name == "loader":
        g = torch.Generator().manual_seed(4)
        kw["data"] = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=g)
    elif name == "double":
        model = model.double()
        x = x.double()
    elif name == "hooks":
        model[0].register_forward_hook(lambda m, i, o: None)
        model.register_full_backward_hook(lambda m, gi, go: None)
    if opt_kind == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    elif opt_kind == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    elif opt_kind in ("sgd", "factory"):
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    elif opt_kind == "groups":
        params = list(model.parameters())
        opt = torch.optim.Adam([{"params": params[:2], "lr": 1e-3}, {"params": params[2:]}], lr=0.1)
    elif opt_kind == "two":
        params = list(model.parameters())
        opt = [torch.optim.SGD(params[:2], lr=0.1), torch.optim.Adam(params[2:], lr=1e-3)]
    else:
        opt = None
    opts = opt if isinstance(opt, list) else [opt] if opt is not None else []
    with torch.enable_grad():
        for o in opts:
            _step(model, o, x, y)
    if name == "step_lr":
        sched = torch.optim.lr_scheduler.StepLR(opts[0], step_size=1, gamma=0.5)
        sched.step()
    if name == "warmup":
        sched = torch.optim.lr_scheduler.LambdaLR(opts[0], lambda s: min(1.0, s / 10))
    if opt_kind == "factory":
        kw["optimizer"] = lambda ps: torch.optim.SGD(ps, lr=0.05)
    else:
        kw.setdefault("optimizer", opt)
    if name == "schedule_factory":
        kw.update(scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, 5), steps=30)
    kw.setdefault("data", (x, y))
    random.seed(len(name))
    np.random.seed(len(name))
    torch.manual_seed(len(name))
    return model, (x, y), opts, sched, kw


SETUPS = [
    "adam",
    "sgd_momentum",
    "no_optimizer",
    "factory",
    "two_groups",
    "two_optimizers",
    "tied",
    "dropout_buffer",
    "frozen_part",
    "mixed_modes",
    "all_eval",
    "locked",
    "lambda",
    "hidden_lambda",
    "step_lr",
    "warmup",
    "loader",
    "double",
    "hooks",
    "schedule_factory",
]


@pytest.mark.parametrize("name", SETUPS)
def test_everything_identical_after_check(name: str) -> None:
    torch.set_num_threads(1)
    model, data, opts, sched, kw = _setup(name)
    before = _capture(model, opts, sched, data)
    r = check(model, loss_fn=nn.CrossEntropyLoss(), quiet=True, thresholds=FAST, **kw)
    assert len(r.findings) > 10
    _assert_same(before, model, opts, sched, data)
