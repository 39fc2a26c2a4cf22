"""Activation (gradient) checkpointing with ``torch.utils.checkpoint`` in a deep residual MLP: each
pre-LayerNorm residual block's forward is wrapped in ``checkpoint(block, x, use_reentrant=False)``
while training (recomputed in backward instead of storing activations), plain calls under eval.
Eight blocks of width 64 on the digits, AdamW, a cosine schedule stepped per batch, evaluation
every epoch under ``torch.no_grad()``."""

from __future__ import annotations

import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from torch.utils.checkpoint import checkpoint
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/docs/stable/checkpoint.html"


class ResidualBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x):
        return x + self.ff(self.norm(x))


class DeepMLP(nn.Module):
    def __init__(self, depth=8, width=64, gradient_checkpointing=True):
        super().__init__()
        self.stem = nn.Linear(64, width)
        self.blocks = nn.ModuleList([ResidualBlock(width) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, 10)
        self.gradient_checkpointing = gradient_checkpointing

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            if self.gradient_checkpointing and self.training:
                h = checkpoint(block, h, use_reentrant=False)
            else:
                h = block(h)
        return self.head(self.norm(h))


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    train_loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=128)
    model = DeepMLP()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    epochs = 4
    total_steps = epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)

    def loop(w):
        for _epoch in range(epochs):
            model.train()
            for xb, yb in train_loader:
                optimizer.zero_grad(set_to_none=True)
                loss = criterion(model(xb), yb)
                loss.backward()
                optimizer.step()
                scheduler.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                val = [criterion(model(xb), yb).item() for xb, yb in val_loader]
            w.log(val_loss=sum(val) / len(val))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=val_loader,
        loop=loop,
        check={
            "scheduler": lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(
                opt, T_max=total_steps
            ),
            "steps": total_steps,
        },
    )
