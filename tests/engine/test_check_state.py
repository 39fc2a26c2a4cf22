"""rw.check leaves the user's world bit-identical: params, buffers, modes, grads, optimizer, RNGs.

Tested on a passing setup, on failing checks, when the model raises, and on a model that cannot
be deep-copied (checks then run on the original, restored after each).
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
import torch
from torch import nn

from recipe_widgets.engine.check import UnusableInput, check


def _state(model: nn.Module, opt: torch.optim.Optimizer | None) -> dict:
    return {
        "params": [p.detach().clone() for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "buffers": [b.clone() for b in model.buffers()],
        "training": [m.training for m in model.modules()],
        "opt": None if opt is None else repr(opt.state_dict()),
        "opt_tensors": []
        if opt is None
        else [
            t.clone() for s in opt.state.values() for t in s.values() if isinstance(t, torch.Tensor)
        ],
        "python": random.getstate(),
        "numpy": repr(np.random.get_state()),
        "torch": torch.get_rng_state().clone(),
    }


def _same(a: dict, b: dict) -> None:
    for key in a:
        x, y = a[key], b[key]
        if (
            isinstance(x, list)
            and x
            and isinstance(next((v for v in x if v is not None), None), torch.Tensor)
        ):
            assert len(x) == len(y), key
            for u, v in zip(x, y):
                assert (u is None) == (v is None), key
                if u is not None:
                    assert torch.equal(u, v), key
        elif isinstance(x, torch.Tensor):
            assert torch.equal(x, y), key
        else:
            assert x == y, key


def _used(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.optim.Optimizer:
    """A model mid-training: momentum state, grads left over, mixed train/eval flags, RNGs moved."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss = nn.functional.cross_entropy(model(x[:16]), y[:16])
    loss.backward()
    opt.step()
    model(x[:16]).sum().backward()  # grads present, not zeroed
    model.eval()
    next(iter(model.modules())).train()  # top module train, children eval: an odd mix on purpose
    random.seed(5)
    np.random.seed(6)
    torch.manual_seed(7)
    return opt


def test_state_identical_after_clean_check(setups) -> None:
    s = setups.digits(width=4)
    x, y = s["data"]
    opt = _used(s["model"], x, y)
    before = _state(s["model"], opt)
    report = check(
        **s, optimizer=opt, quiet=True, thresholds={"overfit_steps": 30, "baseline_steps": 10}
    )
    assert len(report.findings) > 10
    _same(before, _state(s["model"], opt))


def test_state_identical_when_checks_fail(setups) -> None:
    s = setups.tabular("wine", width=8)
    x, y = s["data"]
    s["model"] = nn.Sequential(*s["model"], nn.Softmax(-1))  # softmax before CE: checks fail
    opt = _used(s["model"], x, y)
    before = _state(s["model"], opt)
    report = check(**s, optimizer=opt, quiet=True, thresholds={"overfit_steps": 30})
    assert not report.ok
    _same(before, _state(s["model"], opt))


class Raises(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 2)
        self.bn = nn.BatchNorm1d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn(self.lin(x))  # moves the running stats before raising
        raise RuntimeError("shape mismatch in my layer")
        return out


def test_state_identical_when_model_raises() -> None:
    model = Raises()
    x, y = torch.randn(20, 4), torch.randint(0, 2, (20,))
    before = _state(model, None)
    with pytest.raises(UnusableInput, match="shape mismatch in my layer"):
        check(model, (x, y), nn.CrossEntropyLoss(), quiet=True)
    _same(before, _state(model, None))


class Uncopyable(nn.Module):
    """Holds a lock: copy.deepcopy raises, so rw.check must work on the original and restore it."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.lin = nn.Linear(13, 16)
        self.bn = nn.BatchNorm1d(16)
        self.out = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.bn(self.lin(x))))


def test_uncopyable_model_falls_back_to_snapshot_and_restore(setups) -> None:
    s = setups.tabular("wine")
    x, y = s["data"]
    model = Uncopyable()
    opt = _used(model, x, y)
    before = _state(model, opt)
    report = check(
        model,
        (x, y),
        nn.CrossEntropyLoss(),
        optimizer=opt,
        quiet=True,
        thresholds={"overfit_steps": 30, "baseline_steps": 20},
    )
    assert "could not be deep-copied" in report["setup"].message
    assert report["parameter_coverage"].status == "pass"
    _same(before, _state(model, opt))


def test_data_tensors_untouched(setups) -> None:
    s = setups.regression(width=8)
    x, y = s["data"]
    x0, y0 = x.clone(), y.clone()
    check(**s, quiet=True, thresholds={"overfit_steps": 20, "baseline_steps": 10})
    assert torch.equal(x, x0) and torch.equal(y, y0)


class RaisesInEval(nn.Module):
    """Trains fine, raises in eval mode: every check that evaluates crashes mid-way."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(13, 3)
        self.bn = nn.BatchNorm1d(13)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            raise RuntimeError("no eval path")
        return self.lin(self.bn(x))


def test_state_identical_when_checks_raise_mid_way(setups) -> None:
    s = setups.tabular("wine")
    x, y = s["data"]
    model = RaisesInEval()
    opt = _used(model, x, y)
    model.train()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3)  # the user's own scheduler
    sched_state = repr(sched.state_dict())
    before = _state(model, opt)
    report = check(
        model,
        (x, y),
        nn.CrossEntropyLoss(),
        optimizer=opt,
        quiet=True,
        steps=100,
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=10),
        thresholds={"overfit_steps": 20, "baseline_steps": 10},
    )
    crashed = [f.check for f in report if "could not run" in f.message]
    assert {"eval_mode", "batch_independence", "overfit_one_batch"} <= set(crashed)
    assert "no eval path" in report["eval_mode"].message
    assert report["lr_schedule"].status == "fail"  # step_size=10 of 100 steps: decays early
    _same(before, _state(model, opt))
    assert repr(sched.state_dict()) == sched_state


def test_loader_with_its_own_seeded_generator_is_reproducible(setups) -> None:
    """PyTorch's documented recipe for reproducible shuffling: a loader with its own seeded
    generator. Both of the check's iterations start from its current state, put back after."""
    from torch.utils.data import DataLoader, Dataset, TensorDataset

    s = setups.tabular("wine", width=8)
    loader = DataLoader(
        TensorDataset(*s["data"]),
        batch_size=16,
        shuffle=True,
        generator=torch.Generator().manual_seed(3),
    )
    state = loader.generator.get_state()
    r = check(s["model"], loader, s["loss_fn"], checks=["reproducibility"], quiet=True)
    assert torch.equal(loader.generator.get_state(), state)  # the user's generator is put back
    assert r["reproducibility"].status == "pass", r["reproducibility"].message

    class Jitter(Dataset):  # augmentation drawn from a private, unseeded generator
        def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
            self.x, self.y, self.rng = x, y, np.random.default_rng()

        def __len__(self) -> int:
            return len(self.y)

        def __getitem__(self, i: int):
            noise = torch.tensor(self.rng.normal(size=self.x.shape[1]), dtype=torch.float32)
            return self.x[i] + 0.01 * noise, self.y[i]

    jitter = DataLoader(Jitter(*s["data"]), batch_size=16)
    r = check(s["model"], jitter, s["loss_fn"], checks=["reproducibility"], quiet=True)
    assert r["reproducibility"].status == "fail"
    assert "data pipeline" in r["reproducibility"].message
