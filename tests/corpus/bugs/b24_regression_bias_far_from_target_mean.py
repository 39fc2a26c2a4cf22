"""An MLP regressor on the raw diabetes progression target (mean ~150, std ~77) with standardised
features, trained with Adam and MSE. As in the blog post on tuning an arrival-time network after
Karpathy's recipe, the output layer starts with its default bias near 0, far from the target
mean: the first few epochs are spent walking the output up to ~150 (the "hockey stick") before
the features start to matter, and the loss curve is dominated by that offset. The fix sets the
final bias to the training-target mean before training."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://www.alexmolas.com/2023/02/24/bias-initialization.html"
EXPECT = Expect("init_well", says=r"bias")


def make(fixed: bool) -> Setup:
    torch.manual_seed(7)
    X, y = load_diabetes(return_X_y=True, scaled=False)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=7)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    def as_tensors(a, b):
        return torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32).unsqueeze(
            1
        )

    train_ds = TensorDataset(*as_tensors(X_train, y_train))
    test_ds = TensorDataset(*as_tensors(X_test, y_test))
    train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_ds, batch_size=128)

    model = nn.Sequential(
        nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)
    )
    if fixed:
        with torch.no_grad():
            model[-1].bias.fill_(float(np.mean(y_train)))
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def loop(w):
        for _epoch in range(20):
            model.train()
            for xb, yb in train_loader:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                val = np.mean([loss_fn(model(xb), yb).item() for xb, yb in test_loader])
            w.log(val_loss=val)

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=loss_fn,
        optimizer=optimizer,
        val=test_loader,
        loop=loop,
        check={"task": "regression"},
    )
