"""Stochastic Weight Averaging exactly as ``torch.optim.swa_utils`` documents it: an
``AveragedModel(model)`` updated with ``swa_model.update_parameters(model)`` once per epoch after
``swa_start``, ``CosineAnnealingLR`` before and ``SWALR(optimizer, swa_lr=0.05)`` after, and at
the end ``torch.optim.swa_utils.update_bn(loader, swa_model)`` to recompute the BatchNorm
statistics of the averaged weights. The base model is an MLP with BatchNorm on the digits, SGD
with momentum. Validation is the live model per epoch and the averaged model at the end."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.optim.swa_utils import SWALR, AveragedModel
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/docs/stable/optim.html#weight-averaging-swa-and-ema"


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=64, shuffle=True)
    test_loader = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=128)
    model = nn.Sequential(
        nn.Linear(64, 128),
        nn.BatchNorm1d(128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    swa_model = AveragedModel(model)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    swa_start = 4
    swa_scheduler = SWALR(optimizer, swa_lr=0.05)

    def evaluate(m):
        m.eval()
        with torch.no_grad():
            losses = [loss_fn(m(xb), yb).item() for xb, yb in test_loader]
        m.train()
        return sum(losses) / len(losses)

    def loop(w):
        for epoch in range(10):
            model.train()
            for input, target in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(input), target)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            if epoch > swa_start:
                swa_model.update_parameters(model)
                swa_scheduler.step()
            else:
                scheduler.step()
            w.log(val_loss=evaluate(model))
        torch.optim.swa_utils.update_bn(loader, swa_model)
        w.log(val_loss=evaluate(swa_model))

    return Setup(
        model=model, data=loader, loss_fn=loss_fn, optimizer=optimizer, val=test_loader, loop=loop
    )
