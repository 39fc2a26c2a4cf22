"""The PyTorch "Quickstart" tutorial's classifier, on digits instead of FashionMNIST: a
``Flatten -> Linear/ReLU stack`` trained with SGD over a shuffled ``DataLoader``, evaluated
each epoch under ``torch.no_grad()`` with ``model.eval()`` / ``model.train()``."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/tutorials/beginner/basics/quickstart_tutorial.html"


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        return self.linear_relu_stack(x)


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32)  # (N, 8, 8) in [0, 1]
    y = torch.tensor(d.target)
    train_ds, test_ds = TensorDataset(x[:1400], y[:1400]), TensorDataset(x[1400:], y[1400:])
    train_dataloader = DataLoader(train_ds, batch_size=64, shuffle=True)
    test_dataloader = DataLoader(test_ds, batch_size=64)
    model = NeuralNetwork()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)

    def loop(w):
        for _epoch in range(4):
            model.train()
            for X, y_ in train_dataloader:
                pred = model(X)
                loss = loss_fn(pred, y_)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                w.log(loss=loss)
            model.eval()
            test_loss = 0.0
            with torch.no_grad():
                for X, y_ in test_dataloader:
                    test_loss += loss_fn(model(X), y_).item()
            w.log(val_loss=test_loss / len(test_dataloader))

    return Setup(
        model=model,
        data=train_dataloader,
        loss_fn=loss_fn,
        optimizer=optimizer,
        val=test_dataloader,
        loop=loop,
    )
