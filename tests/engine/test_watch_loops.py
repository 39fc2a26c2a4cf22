"""rw.watch on real (tiny) loops: each bug caught within 50 steps, correct loops stay quiet."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from recipe_widgets.engine.watch import watch_loop

STEPS = 120


def data(seed: int = 0, n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 0.5).long()  # 3 classes, learnable
    return x, y


def mlp(seed: int = 0, dropout: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(8, 32), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(0.1))
    layers += [nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3)]
    return nn.Sequential(*layers)


def batches(x: torch.Tensor, y: torch.Tensor, bs: int = 32):
    i = 0
    while True:
        j = (i * bs) % len(x)
        yield x[j : j + bs], y[j : j + bs]
        i += 1


def problems(w) -> list[str]:
    return [f.check for f in w.report.findings if f.status in ("warn", "fail")]


def first_step(w, check: str) -> int:
    return w.report[check].evidence["step"]


# -- correct loops with each legitimate pattern ---------------------------------------------


def run_clean(pattern: str) -> object:
    x, y = data()
    model = mlp(dropout=pattern == "eval")
    loss_fn = nn.CrossEntropyLoss()
    if pattern == "frozen":
        for p in model[0].parameters():
            p.requires_grad_(False)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    opts = [opt]
    if pattern == "two_optimizers":
        opt = torch.optim.Adam(model[0].parameters(), lr=3e-3)
        opt2 = torch.optim.SGD(list(model[2].parameters()) + list(model[4].parameters()), lr=0.05)
        opts = [opt, opt2]
    sched = None
    if pattern == "warmup":
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / 20))
    if pattern == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS, eta_min=0.0)
    scaler = torch.amp.GradScaler("cpu", enabled=True) if pattern == "amp" else None
    accum = 4 if pattern == "accumulation" else 1
    it = batches(x, y)
    with watch_loop(model, opts) as w:
        for micro in range(STEPS * accum):
            xb, yb = next(it)
            if pattern == "amp":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    loss = loss_fn(model(xb), yb)
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(opt)
                scaler.update()
                opt.zero_grad()
            else:
                loss = loss_fn(model(xb), yb)
                (loss / accum).backward()
                if (micro + 1) % accum:
                    continue
                if pattern == "clipping":
                    nn.utils.clip_grad_norm_(model.parameters(), 0.1)
                for o in opts:
                    o.step()
                for o in opts:
                    o.zero_grad()
                if sched is not None:
                    sched.step()
            w.log(loss=loss)
            if pattern == "eval" and w.steps % 25 == 0:
                model.eval()
                with torch.no_grad():
                    w.log(val_loss=loss_fn(model(x), y))
                model.train()
    return w


@pytest.mark.parametrize(
    "pattern",
    [
        "plain",
        "accumulation",
        "amp",
        "clipping",
        "warmup",
        "cosine",
        "frozen",
        "two_optimizers",
        "eval",
    ],
)
def test_correct_loops_raise_nothing(pattern: str) -> None:
    w = run_clean(pattern)
    assert problems(w) == [], w.report
    assert w.steps == STEPS
    assert len(w.history) >= STEPS
    assert w.history["loss"].iloc[-10:].mean() < w.history["loss"].iloc[:10].mean()
    if pattern == "frozen":
        assert w.report["frozen_parameters"].status == "info"


# -- broken loops ------------------------------------------------------------------------------


def run_broken(bug: str, steps: int = STEPS, start: int = 10) -> object:
    """The plain loop with one bug switched on from step ``start``."""
    x, y = data()
    model = mlp(dropout=bug == "eval_train_mode")
    loss_fn = nn.CrossEntropyLoss()
    lr = 3e-3
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if bug == "update_ratio":  # Adam's steps are ~lr whatever the gradient: SGD shows the ratio
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
    it = batches(x, y)
    with watch_loop(model, opt) as w:
        for step in range(steps):
            on = step >= start
            xb, yb = next(it)
            if bug == "nan_loss" and on:
                xb = xb.clone()
                xb[0, 0] = float("nan")
            if bug == "diverge" and on:
                for g in opt.param_groups:
                    g["lr"] = 1.0
            if bug == "lr_collapse" and on:
                for g in opt.param_groups:
                    g["lr"] = lr * 1e-6
            if bug == "update_ratio" and on:
                for g in opt.param_groups:
                    g["lr"] = 1.5
            if bug == "dead_relu" and on and step == start:
                with torch.no_grad():
                    model[2].bias.fill_(-100.0)  # the second ReLU dead for every input from here
            if bug == "no_gradient" and on:  # the first layer's output detached from here
                loss = loss_fn(model[2:](model[:2](xb).detach()), yb)
            else:
                loss = loss_fn(model(xb), yb)
            loss.backward()
            if bug == "explode" and on:
                for p in model.parameters():
                    p.grad.mul_(1e6)
            opt.step()
            if not (bug == "zero_grad" and on):
                opt.zero_grad()
            w.log(loss=loss)
            if bug == "eval_train_mode" and on and step % 20 == 0:
                with torch.no_grad():
                    w.log(val_loss=loss_fn(model(x), y))
    return w


@pytest.mark.parametrize("start", [10, 52])  # 52: the first step after a sampled window
@pytest.mark.parametrize(
    "bug,check",
    [
        ("dead_relu", "dead_relu"),
        ("no_gradient", "no_gradient"),
        ("nan_loss", "loss_not_finite"),
        ("zero_grad", "zero_grad_forgotten"),
        ("lr_collapse", "lr_collapsed"),
        ("update_ratio", "update_ratio_high"),
        ("explode", "grad_exploding"),
        ("eval_train_mode", "eval_in_train_mode"),
        ("diverge", "loss_diverging"),
    ],
)
def test_bug_caught_within_50_steps(bug: str, check: str, start: int) -> None:
    w = run_broken(bug, start=start)
    assert check in w.report, w.report
    assert start <= first_step(w, check) <= start + 50


def test_nan_loss_names_its_step() -> None:
    w = run_broken("nan_loss", start=37)
    f = w.report["loss_not_finite"]
    assert f.status == "fail"
    assert f.evidence["step"] == 38  # logged after the 38th optimizer step
    assert math.isnan(w.history["loss"].iloc[-1])


def test_dead_relu() -> None:
    x, y = data()
    model = mlp()
    with torch.no_grad():
        model[2].bias.fill_(-100.0)  # second ReLU dead for every input
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    it = batches(x, y)
    with watch_loop(model, opt) as w:
        for _ in range(50):
            xb, yb = next(it)
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
            opt.zero_grad()
            w.log(loss=0.0)
    f = w.report["dead_relu"]
    assert f.evidence["layer"] == "3" and f.evidence["dead_fraction"] == 1.0


def test_vanishing_gradients() -> None:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(12):
        lin = nn.Linear(16, 16)
        nn.init.normal_(lin.weight, std=0.05)
        layers += [lin, nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(64, 16)
    with watch_loop(model, opt) as w:
        for _ in range(20):
            model(x).pow(2).mean().backward()
            opt.step()
            opt.zero_grad()
    assert "grad_vanishing" in w.report
    assert "0.weight" in w.report["grad_vanishing"].evidence["parameters"]


def test_parameter_without_gradient() -> None:
    x, y = data()
    model = mlp()
    unused = nn.Linear(8, 8)
    model.add_module("unused", unused)  # in the optimizer, never called in forward
    opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def forward(inp: torch.Tensor) -> torch.Tensor:
        for i in range(5):
            inp = model[i](inp)
        return inp

    it = batches(x, y)
    with watch_loop(model, opt) as w:
        for _ in range(50):
            xb, yb = next(it)
            nn.functional.cross_entropy(forward(xb), yb).backward()
            opt.step()
            opt.zero_grad()
    assert {f.evidence["parameter"] for f in w.report.findings if f.check == "no_gradient"} == {
        "unused.weight",
        "unused.bias",
    }


def test_plateau_when_nothing_learns() -> None:
    x, y = data()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # nothing moves
    it = batches(x, y)
    with watch_loop(model, opt, stats_every=50) as w:
        for _ in range(260):
            xb, yb = next(it)
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            w.log(loss=loss)
    assert "loss_plateau" in w.report


def test_parameter_left_out_of_the_optimizer() -> None:
    x, y = data()
    model = mlp()
    opt = torch.optim.Adam(list(model[0].parameters()) + list(model[2].parameters()), lr=3e-3)
    it = batches(x, y)
    with watch_loop(model, opt) as w:
        for _ in range(20):
            xb, yb = next(it)
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
            opt.zero_grad()
    left_out = [f for f in w.report.findings if f.check == "not_in_optimizer"]
    assert {f.evidence["parameter"] for f in left_out} == {"4.weight", "4.bias"}
    assert all(f.evidence["step"] == 1 for f in left_out)
