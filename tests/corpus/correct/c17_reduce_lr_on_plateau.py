"""``ReduceLROnPlateau`` driven by the validation loss, the documented way: ``scheduler.step(val_loss)``
once per epoch after validating (mode 'min', factor 0.5, patience 2), with a Keras-like ``fit``
loop that prints the current lr and keeps a history. Iris (class-sorted in the file) is split with
stratification and fed shuffled; a small tanh MLP trained with SGD + momentum. The kit gets no
``scheduler=``: a plateau scheduler needs the metric and cannot be dry-run blind."""

from __future__ import annotations

import torch
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.ReduceLROnPlateau.html"


class IrisNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))

    def forward(self, x):
        return self.layers(x)


def fit(model, train_loader, val_loader, criterion, optimizer, scheduler, epochs, w):
    history = []
    for _epoch in range(epochs):
        model.train()
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            w.log(loss=loss)
        model.eval()
        with torch.no_grad():
            val_loss = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader)
            val_loss /= len(val_loader.dataset)
        scheduler.step(val_loss)
        w.log(val_loss=val_loss)
        history.append({"val_loss": val_loss, "lr": optimizer.param_groups[0]["lr"]})
    return history


def make() -> Setup:
    torch.manual_seed(0)
    X, y = load_iris(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=1
    )
    scaler = StandardScaler().fit(X_train)
    X_train = torch.tensor(scaler.transform(X_train), dtype=torch.float32)
    X_val = torch.tensor(scaler.transform(X_val), dtype=torch.float32)
    y_train, y_val = torch.tensor(y_train), torch.tensor(y_val)
    train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=8, shuffle=True)
    val_loader = DataLoader(TensorDataset(X_val, y_val), batch_size=30)

    model = IrisNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=2)

    def loop(w):
        fit(model, train_loader, val_loader, criterion, optimizer, scheduler, epochs=15, w=w)

    return Setup(
        model=model,
        data=(X_train, y_train),
        loss_fn=criterion,
        optimizer=optimizer,
        val=(X_val, y_val),
        loop=loop,
    )
