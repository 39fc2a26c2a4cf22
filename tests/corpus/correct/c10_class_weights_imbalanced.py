"""Class-weighted cross-entropy on an imbalanced subset of the digits 0-4 (about 178/90/40/20/10
examples per class): weights from scikit-learn's ``compute_class_weight('balanced', ...)`` passed
to ``nn.CrossEntropyLoss(weight=class_weights)``. The data is a user-written ``Dataset`` subclass
(handed to the kit as is), split with stratification; the loop batches it with a shuffled
DataLoader and tracks the weighted validation loss each epoch."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from torch import nn
from torch.utils.data import DataLoader, Dataset

from corpus import Setup

SOURCE = (
    "https://androidkt.com/how-to-use-class-weight-in-crossentropyloss-for-an-imbalanced-dataset/"
)


class DigitsDataset(Dataset):
    def __init__(self, features, labels):
        self.features = torch.tensor(features, dtype=torch.float32)
        self.labels = torch.tensor(labels, dtype=torch.long)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.features[idx], self.labels[idx]


def make() -> Setup:
    torch.manual_seed(0)
    rng = np.random.RandomState(0)
    d = load_digits()
    keep_per_class = {0: 178, 1: 90, 2: 40, 3: 20, 4: 10}
    idx = np.concatenate(
        [rng.permutation(np.flatnonzero(d.target == c))[:n] for c, n in keep_per_class.items()]
    )
    X, y = d.data[idx] / 16.0, d.target[idx]
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    train_ds, val_ds = DigitsDataset(X_tr, y_tr), DigitsDataset(X_val, y_val)

    class_weights = compute_class_weight("balanced", classes=np.unique(y_tr), y=y_tr)
    class_weights = torch.tensor(class_weights, dtype=torch.float)
    criterion = nn.CrossEntropyLoss(weight=class_weights, reduction="mean")

    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 5))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    train_loader = DataLoader(train_ds, batch_size=16, shuffle=True)
    val_loader = DataLoader(val_ds, batch_size=64)

    def loop(w):
        for _epoch in range(12):
            model.train()
            for inputs, labels in train_loader:
                optimizer.zero_grad()
                loss = criterion(model(inputs), labels)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                val_loss = sum(criterion(model(x), t).item() * len(t) for x, t in val_loader)
            w.log(val_loss=val_loss / len(val_ds))

    return Setup(
        model=model, data=train_ds, loss_fn=criterion, optimizer=optimizer, val=val_ds, loop=loop
    )
