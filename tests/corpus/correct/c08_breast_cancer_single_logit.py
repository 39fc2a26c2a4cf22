"""Binary classification of scikit-learn's breast-cancer data with a single output logit, as
recommended on the PyTorch forums: ``nn.Linear(.., 1)`` with no sigmoid in the model, the (B, 1)
output squeezed to (B,) and the integer labels cast to float inside the loss,
``F.binary_cross_entropy_with_logits(out.squeeze(1), y.float())``. Standardised features, a shuffled
DataLoader, and ``train()`` / ``evaluate()`` helpers computing loss and accuracy per epoch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://discuss.pytorch.org/t/two-output-nodes-for-binary-classification/58703"


def criterion(out, y):
    return F.binary_cross_entropy_with_logits(out.squeeze(1), y.float())


def train(model, loader, optimizer, w):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        w.log(loss=loss)


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    for xb, yb in loader:
        out = model(xb)
        total_loss += criterion(out, yb).item() * len(yb)
        correct += ((torch.sigmoid(out.squeeze(1)) > 0.5).long() == yb).sum().item()
        n += len(yb)
    return total_loss / n, correct / n


def make() -> Setup:
    torch.manual_seed(0)
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)
    scaler = StandardScaler().fit(X_tr)
    train_ds = TensorDataset(
        torch.tensor(scaler.transform(X_tr), dtype=torch.float32), torch.tensor(y_tr)
    )  # int64 labels, as sklearn gives them
    test_ds = TensorDataset(
        torch.tensor(scaler.transform(X_te), dtype=torch.float32), torch.tensor(y_te)
    )
    train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_ds, batch_size=128)

    model = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loop(w):
        for _epoch in range(15):
            train(model, train_loader, optimizer, w)
            val_loss, _val_acc = evaluate(model, test_loader)
            w.log(val_loss=val_loss)

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=test_loader,
        loop=loop,
    )
