"""Reproducible shuffling exactly as PyTorch's randomness notes document it: ``DataLoader(...,
shuffle=True, worker_init_fn=seed_worker, generator=g)`` with ``g = torch.Generator();
g.manual_seed(0)``. Trained by a small ``Trainer`` class of the user's own (fit / train_epoch /
validate, history dict, best-state checkpoint in memory) on the standardised wine data, AdamW."""

from __future__ import annotations

import copy
import random

import numpy as np
import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/docs/stable/notes/randomness.html#dataloader"


def seed_worker(worker_id):
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


class Trainer:
    def __init__(self, model, optimizer, loss_fn, train_loader, val_loader, log=None):
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.log = log
        self.history = {"train_loss": [], "val_loss": []}
        self.best_state, self.best_val = None, float("inf")

    def train_epoch(self):
        self.model.train()
        total, n = 0.0, 0
        for xb, yb in self.train_loader:
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            if self.log is not None:
                self.log.log(loss=loss)
            total += loss.item() * len(yb)
            n += len(yb)
        return total / n

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        total, n = 0.0, 0
        for xb, yb in self.val_loader:
            total += self.loss_fn(self.model(xb), yb).item() * len(yb)
            n += len(yb)
        return total / n

    def fit(self, epochs):
        for _ in range(epochs):
            self.history["train_loss"].append(self.train_epoch())
            val_loss = self.validate()
            self.history["val_loss"].append(val_loss)
            if self.log is not None:
                self.log.log(val_loss=val_loss)
            if val_loss < self.best_val:
                self.best_val, self.best_state = val_loss, copy.deepcopy(self.model.state_dict())
        return self.history


def make() -> Setup:
    torch.manual_seed(0)
    X, y = load_wine(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    train_ds = TensorDataset(
        torch.tensor(scaler.transform(X_tr), dtype=torch.float32), torch.tensor(y_tr)
    )
    val_ds = TensorDataset(
        torch.tensor(scaler.transform(X_va), dtype=torch.float32), torch.tensor(y_va)
    )

    g = torch.Generator()
    g.manual_seed(0)
    train_loader = DataLoader(
        train_ds,
        batch_size=16,
        shuffle=True,
        num_workers=0,
        worker_init_fn=seed_worker,
        generator=g,
    )
    val_loader = DataLoader(val_ds, batch_size=64, shuffle=False)

    model = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    loss_fn = nn.CrossEntropyLoss()

    def loop(w):
        Trainer(model, optimizer, loss_fn, train_loader, val_loader, log=w).fit(epochs=25)

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=loss_fn,
        optimizer=optimizer,
        val=val_loader,
        loop=loop,
    )
