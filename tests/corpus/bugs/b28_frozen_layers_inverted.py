"""Sequential-task fine-tuning in the style of MAS-PyTorch: a feature extractor trained on a first
task (digits 0-4) is reused for a second task (digits 5-9) with a fresh classifier, and a
``freeze_layers`` list names the feature-extractor parameters to keep fixed. As in the issue,
the loop that applies it sets ``requires_grad = True`` for the listed layers and ``False`` for
the rest, the inverse of the intent: the new, randomly initialised classifier never trains while
the "frozen" features are rewritten. The new task's loss even falls (the features adapt to the
random head), so nothing looks broken; what breaks is task 1, whose shared features are
overwritten. The fix sets ``requires_grad = name not in freeze_layers``."""

from __future__ import annotations

import torch
import torch.nn as nn
from sklearn.datasets import load_digits

from corpus import Expect, Setup

SOURCE = "https://github.com/wannabeOG/MAS-PyTorch/issues/1"
EXPECT = Expect("parameter_coverage", "frozen_parameters", says=r"frozen|requires_grad")


class SharedModel(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


def make(fixed: bool) -> Setup:
    torch.manual_seed(11)
    digits = load_digits()
    X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    Y = torch.tensor(digits.target)
    task1, task2 = Y < 5, Y >= 5
    X1, Y1 = X[task1], Y[task1]
    X2, Y2 = X[task2], Y[task2] - 5
    X2_train, Y2_train, X2_test, Y2_test = X2[:700], Y2[:700], X2[700:], Y2[700:]

    # task 1: train the whole model
    model = SharedModel(5)
    criterion = nn.CrossEntropyLoss()
    opt1 = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _step in range(120):
        idx = torch.randint(0, len(X1), (64,))
        opt1.zero_grad()
        criterion(model(X1[idx]), Y1[idx]).backward()
        opt1.step()

    # task 2: new classifier head, keep the shared features frozen
    model.classifier = nn.Linear(64, 5)
    freeze_layers = [name for name, _ in model.named_parameters() if name.startswith("features")]
    for name, param in model.named_parameters():
        if fixed:
            param.requires_grad = name not in freeze_layers
        elif name in freeze_layers:
            param.requires_grad = True
        else:
            param.requires_grad = False
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def loop(w):
        for _epoch in range(6):
            model.train()
            perm = torch.randperm(len(X2_train))
            for i in range(0, len(perm), 32):
                idx = perm[i : i + 32]
                optimizer.zero_grad()
                loss = criterion(model(X2_train[idx]), Y2_train[idx])
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                w.log(val_loss=criterion(model(X2_test), Y2_test).item())

    return Setup(
        model=model,
        data=(X2_train, Y2_train),
        loss_fn=criterion,
        optimizer=optimizer,
        val=(X2_test, Y2_test),
        loop=loop,
    )
