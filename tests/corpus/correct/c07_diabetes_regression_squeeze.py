"""Neural regression on scikit-learn's diabetes data: features and target standardised with
statistics of the training split only, an MLP ending in ``nn.Linear(64, 1)`` (output (B, 1)), and a
loss that squeezes the output to (B,) before ``F.mse_loss`` so that it matches the (B,) targets.
Plain tensors with a hand-written mini-batch loop over ``torch.randperm`` indices, Adam, and the
validation MSE computed each epoch under ``model.eval()`` / ``torch.no_grad()``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from corpus import Setup

SOURCE = "https://gulzhasml.com/learn/ml/3/regression-implementation"


class RegressionNet(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.hidden1 = nn.Linear(n_features, 64)
        self.hidden2 = nn.Linear(64, 64)
        self.output = nn.Linear(64, 1)

    def forward(self, x):
        z = torch.relu(self.hidden1(x))
        z = torch.relu(self.hidden2(z))
        return self.output(z)  # (B, 1)


def mse(out, target):
    # out is (B, 1), target is (B,): squeeze first, or mse_loss would broadcast to (B, B)
    return F.mse_loss(out.squeeze(-1), target)


def make() -> Setup:
    torch.manual_seed(0)
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    x_scaler, y_scaler = StandardScaler().fit(X_train), StandardScaler().fit(y_train.reshape(-1, 1))
    X_train = torch.tensor(x_scaler.transform(X_train), dtype=torch.float32)
    X_test = torch.tensor(x_scaler.transform(X_test), dtype=torch.float32)
    y_train = torch.tensor(y_scaler.transform(y_train.reshape(-1, 1)).ravel(), dtype=torch.float32)
    y_test = torch.tensor(y_scaler.transform(y_test.reshape(-1, 1)).ravel(), dtype=torch.float32)

    model = RegressionNet(X_train.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch_size, max_epochs = 32, 10
    g = torch.Generator().manual_seed(1)

    def loop(w):
        n = X_train.shape[0]
        for _epoch in range(max_epochs):
            model.train()
            perm = torch.randperm(n, generator=g)
            for i in range(0, n, batch_size):
                idx = perm[i : i + batch_size]
                optimizer.zero_grad()
                loss_val = mse(model(X_train[idx]), y_train[idx])
                loss_val.backward()
                optimizer.step()
                w.log(loss=loss_val)
            model.eval()
            with torch.no_grad():
                pred = model(X_test).view(-1)
                val_mse = torch.mean((pred - y_test) ** 2).item()
            w.log(val_loss=val_mse)

    return Setup(
        model=model,
        data=(X_train, y_train),
        loss_fn=mse,
        optimizer=optimizer,
        val=(X_test, y_test),
        loop=loop,
    )
