"""Multi-label classification: every 8x8 digit gets four independent 0/1 tags (even, >= 5, prime,
has a closed loop), the net emits four logits and ``nn.BCEWithLogitsLoss`` compares them with the
(B, 4) float multi-hot targets. The loop is PyTorch's "Optimizing Model Parameters" tutorial:
``train_loop(dataloader, model, loss_fn, optimizer)`` and ``test_loop(dataloader, model, loss_fn)``
helpers, with per-tag accuracy at threshold 0 on the logits."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://www.codegenes.net/blog/multiple-label-bce-with-logits-loss-pytorch"

TAGS = ("even", "ge5", "prime", "loop")


def tags_of(digit: torch.Tensor) -> torch.Tensor:
    even = digit % 2 == 0
    ge5 = digit >= 5
    prime = (digit == 2) | (digit == 3) | (digit == 5) | (digit == 7)
    loop = (digit == 0) | (digit == 4) | (digit == 6) | (digit == 8) | (digit == 9)
    return torch.stack([even, ge5, prime, loop], dim=1).float()


class MultiLabelNet(nn.Module):
    def __init__(self, n_in=64, n_labels=4):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.classifier = nn.Linear(64, n_labels)  # raw logits, one per tag

    def forward(self, x):
        return self.classifier(self.body(x))


def train_loop(dataloader, model, loss_fn, optimizer, w):
    model.train()
    for X, y in dataloader:
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        w.log(loss=loss)


def test_loop(dataloader, model, loss_fn):
    model.eval()
    num_batches = len(dataloader)
    test_loss, correct, total = 0.0, 0.0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += ((pred > 0).float() == y).float().sum().item()
            total += y.numel()
    return test_loss / num_batches, correct / total


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float32) / 16.0
    Y = tags_of(torch.tensor(d.target))
    train_dataloader = DataLoader(TensorDataset(X[:1400], Y[:1400]), batch_size=64, shuffle=True)
    test_dataloader = DataLoader(TensorDataset(X[1400:], Y[1400:]), batch_size=64)

    model = MultiLabelNet()
    loss_fn = nn.BCEWithLogitsLoss()
    learning_rate = 1e-3
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    epochs = 10

    def loop(w):
        for _t in range(epochs):
            train_loop(train_dataloader, model, loss_fn, optimizer, w)
            test_loss, _acc = test_loop(test_dataloader, model, loss_fn)
            w.log(val_loss=test_loss)

    return Setup(
        model=model,
        data=train_dataloader,
        loss_fn=loss_fn,
        optimizer=optimizer,
        val=test_dataloader,
        loop=loop,
    )
