"""fastai's ``fit_one_cycle`` reproduced in plain PyTorch: a ``simple_cnn``-style stack of
``ConvLayer`` blocks (conv without bias + BatchNorm + ReLU, stride 2), AdamW with fastai's
defaults (betas (0.9, 0.99), eps 1e-5, decoupled weight decay 0.01), and ``OneCycleLR`` with
``pct_start=0.25``, ``div_factor=25``, ``final_div_factor=1e5`` and momentum cycled 0.95 -> 0.85 ->
0.95, stepped once per batch over ``epochs * len(dl)`` steps (passed to the kit as ``scheduler=`` /
``steps=``). A Learner-less ``fit_one_cycle(model, dls, ...)`` function with a validation pass."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://docs.fast.ai/callback.schedule.html#learner.fit_one_cycle"


def ConvLayer(ni, nf, ks=3, stride=2):
    return nn.Sequential(
        nn.Conv2d(ni, nf, ks, stride=stride, padding=ks // 2, bias=False),
        nn.BatchNorm2d(nf),
        nn.ReLU(inplace=True),
    )


def simple_cnn(n_out, filters=(1, 16, 32, 64)):
    layers = [ConvLayer(filters[i], filters[i + 1]) for i in range(len(filters) - 1)]
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(filters[-1], n_out)
    )


def one_cycle(opt, total_steps, lr_max):
    return OneCycleLR(
        opt,
        max_lr=lr_max,
        total_steps=total_steps,
        pct_start=0.25,
        div_factor=25.0,
        final_div_factor=1e5,
        base_momentum=0.85,
        max_momentum=0.95,
        three_phase=False,
    )


def fit_one_cycle(model, dls, n_epoch, lr_max, opt, loss_func, w):
    sched = one_cycle(opt, n_epoch * len(dls["train"]), lr_max)
    for _epoch in range(n_epoch):
        model.train()
        for xb, yb in dls["train"]:
            loss = loss_func(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
            w.log(loss=loss)
        model.eval()
        with torch.no_grad():
            tot, n = 0.0, 0
            for xb, yb in dls["valid"]:
                tot += loss_func(model(xb), yb).item() * len(yb)
                n += len(yb)
        w.log(val_loss=tot / n)


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = (x - x[:1400].mean()) / x[:1400].std()  # Normalize.from_stats of the training set
    y = torch.tensor(d.target)
    dls = {
        "train": DataLoader(
            TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True, drop_last=True
        ),
        "valid": DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=64),
    }
    model = simple_cnn(10)
    opt = torch.optim.AdamW(
        model.parameters(), lr=1e-2 / 25, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01
    )
    n_epoch, lr_max = 5, 1e-2
    loss_func = nn.CrossEntropyLoss()

    def loop(w):
        fit_one_cycle(model, dls, n_epoch, lr_max, opt, loss_func, w)

    total = n_epoch * len(dls["train"])
    return Setup(
        model=model,
        data=dls["train"],
        loss_fn=F.cross_entropy,
        optimizer=opt,
        val=dls["valid"],
        loop=loop,
        check={"scheduler": lambda o: one_cycle(o, total, lr_max), "steps": total},
    )
