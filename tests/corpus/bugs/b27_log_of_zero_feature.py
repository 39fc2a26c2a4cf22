"""A tabular binary classifier on the breast-cancer measurements: the skewed features are
log-transformed, standardised by hand with column means and stds, and fed to a small MLP trained
with BCE-with-logits. As in the mokapot fix, some features are exactly 0 for some rows
(concavity, concave points), so ``np.log`` gives ``-inf``; the hand-written standardisation then
turns those whole columns into NaN (``-inf - -inf``), and the loss is NaN from the first batch
with no error raised (numpy only warns). The fix uses ``np.log1p``."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/wfondrie/mokapot/pull/60"
EXPECT = Expect("input_sanity", says=r"nan|inf")


def preprocess(X, fixed):
    with np.errstate(divide="ignore", invalid="ignore"):
        X = np.log1p(X) if fixed else np.log(X)  # the features are heavily right-skewed
        return (X - X.mean(axis=0)) / X.std(axis=0)


def make(fixed: bool) -> Setup:
    torch.manual_seed(3)
    rs = np.random.RandomState(3)
    data = load_breast_cancer()
    idx = rs.permutation(len(data.target))
    X = preprocess(data.data[idx], fixed).astype(np.float32)
    y = data.target[idx].astype(np.float32)
    X_train, y_train, X_val, y_val = X[:450], y[:450], X[450:], y[450:]

    train_loader = DataLoader(
        TensorDataset(torch.from_numpy(X_train), torch.from_numpy(y_train)),
        batch_size=32,
        shuffle=True,
    )
    val_x, val_y = torch.from_numpy(X_val), torch.from_numpy(y_val)

    class Classifier(nn.Module):
        def __init__(self, n_features):
            super().__init__()
            self.hidden = nn.Linear(n_features, 32)
            self.out = nn.Linear(32, 1)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x))).squeeze(-1)

    model = Classifier(X.shape[1])
    criterion = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loop(w):
        for _epoch in range(10):
            model.train()
            for xb, yb in train_loader:
                optimizer.zero_grad()
                loss = criterion(model(xb), yb)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                w.log(val_loss=criterion(model(val_x), val_y).item())

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=(val_x, val_y),
        loop=loop,
    )
