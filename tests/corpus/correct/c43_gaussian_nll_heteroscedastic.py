"""Heteroscedastic regression with ``nn.GaussianNLLLoss``: the network predicts a mean and a
variance for every input (a shared trunk, a mean head and a variance head made positive with
``softplus`` plus a small floor), trained on ``loss(mean, target, var)`` as the PyTorch docs
describe, Adam. The data is generated: y = x sin(x) + noise whose standard deviation grows with |x|,
x standardised. The model returns ``(mean, var)``; for ``rw.check`` the user concatenates them into a
(B, 2) tensor and unpacks it in the loss."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/docs/stable/generated/torch.nn.GaussianNLLLoss.html"


class MeanVarianceNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
        )
        self.mean_head = nn.Linear(hidden, 1)
        self.var_head = nn.Linear(hidden, 1)

    def forward(self, x):
        h = self.trunk(x)
        return self.mean_head(h), F.softplus(self.var_head(h)) + 1e-6


def generate(n, g):
    x = torch.rand(n, 1, generator=g) * 8 - 4
    y = x * torch.sin(x) + torch.randn(n, 1, generator=g) * (0.1 + 0.15 * x.abs())
    return x, y


def make() -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x_train, y_train = generate(2000, g)
    x_val, y_val = generate(400, g)
    mu, sd = x_train.mean(), x_train.std()
    x_train, x_val = (x_train - mu) / sd, (x_val - mu) / sd
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)
    model = MeanVarianceNet()
    loss = nn.GaussianNLLLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def nll(out, target):
        return loss(out[:, :1], target, out[:, 1:])

    def loop(w):
        for _epoch in range(8):
            model.train()
            for xb, yb in train_loader:
                optimizer.zero_grad()
                mean, var = model(xb)
                output = loss(mean, yb, var)
                output.backward()
                optimizer.step()
                w.log(loss=output)
            model.eval()
            with torch.no_grad():
                val = [loss(*model(xb)[:1], yb, model(xb)[1]).item() for xb, yb in val_loader]
            w.log(val_loss=sum(val) / len(val))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=nll,
        optimizer=optimizer,
        val=val_loader,
        loop=loop,
        check={"output_fn": lambda out: torch.cat(out, dim=-1)},
    )
