"""skorch's MNIST example, written out by hand: a ``ClassifierModule`` (dense, ReLU, dropout,
dense) whose ``forward`` returns ``F.softmax`` probabilities, and a ``get_loss`` that feeds
``torch.log(y_pred)`` to ``nn.NLLLoss``, on digits with Adam. The issue reports NaN losses as
soon as the optimizer is switched to Adam/RMSprop or the learning rate is changed: confident
predictions make softmax saturate to exactly 0, ``torch.log`` gives ``-inf`` and the gradient
through it is NaN (here, with Adam at lr 0.05, after ~15 epochs). It passes unnoticed while the
net is unconfident. The fix is ``F.log_softmax`` in ``forward`` and ``NLLLoss`` on its output."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/skorch-dev/skorch/issues/481"
EXPECT = Expect("loss_at_init", says=r"log_softmax")


class ClassifierModule(nn.Module):
    def __init__(self, input_dim=64, hidden_dim=98, output_dim=10, dropout=0.5, fixed=False):
        super().__init__()
        self.fixed = fixed
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(input_dim, hidden_dim)
        self.output = nn.Linear(hidden_dim, output_dim)

    def forward(self, X, **kwargs):
        X = F.relu(self.hidden(X))
        X = self.dropout(X)
        if self.fixed:
            return F.log_softmax(self.output(X), dim=-1)
        X = F.softmax(self.output(X), dim=-1)
        return X


def make(fixed: bool) -> Setup:
    torch.manual_seed(0)
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=42)
    train_iter = DataLoader(
        TensorDataset(torch.from_numpy(X_train), torch.from_numpy(y_train)),
        batch_size=128,
        shuffle=True,
    )
    valid_iter = DataLoader(
        TensorDataset(torch.from_numpy(X_test), torch.from_numpy(y_test)), batch_size=128
    )

    module = ClassifierModule(fixed=fixed)
    criterion = nn.NLLLoss()

    def get_loss(y_pred, y_true):
        if fixed:
            return criterion(y_pred, y_true)
        return criterion(torch.log(y_pred), y_true)

    optimizer = torch.optim.Adam(module.parameters(), lr=0.05)

    def loop(w):
        for _epoch in range(20):
            module.train()
            for Xi, yi in train_iter:
                optimizer.zero_grad()
                loss = get_loss(module(Xi), yi)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            module.eval()
            with torch.no_grad():
                valid_loss = sum(get_loss(module(Xi), yi).item() * len(yi) for Xi, yi in valid_iter)
            w.log(val_loss=valid_loss / len(valid_iter.dataset))

    return Setup(
        model=module,
        data=train_iter,
        loss_fn=get_loss,
        optimizer=optimizer,
        val=valid_iter,
        loop=loop,
    )
