"""Validation at the end of each epoch calls ``model.eval()`` and the loop never calls
``model.train()`` again: from the second epoch on, every step trains with dropout off and batch
norm frozen on its running statistics. The net still trains, just worse."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://network-perspective.github.io/OpenShrike/library/checks/pytorch/pytorch-rel-001-correct-train-eval-mode-switching/"
EXPECT = Expect("training_in_eval_mode", says=r"eval")


def make(fixed: bool) -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    train = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=128)
    model = nn.Sequential(
        nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10)
    )
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loop(w):
        model.train()
        for _epoch in range(3):
            if fixed:
                model.train()
            for xb, yb in train:
                optimizer.zero_grad()
                loss = criterion(model(xb), yb)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val) / len(val)
            w.log(val_loss=val_loss)

    return Setup(
        model=model, data=train, loss_fn=criterion, optimizer=optimizer, val=val, loop=loop
    )
