"""The ``SNLINet`` from the report: an ``options`` dict (``n_hid``, ``n_layers``, ``act``), hidden
layers built in a loop and kept in a plain Python list ``self.hids`` of ``[nn.Linear, act]``
pairs, and a ``classifier`` on top; here on the wine data (3 classes, like SNLI's labels) with
the report's manual mini-batch loop. Modules inside a list are not registered, so
``model.parameters()`` (and the optimizer built from it) holds only the classifier: the hidden
layers stay at their random init while the loss still falls on random features. Nothing
errors. The fix wraps the layers in ``nn.ModuleList``."""

from __future__ import annotations

import torch
import torch.nn as nn
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

from corpus import Expect, Setup

SOURCE = "https://github.com/pytorch/pytorch/issues/715"
EXPECT = Expect("parameter_coverage", says=r"list|dict|ModuleList")


class SNLINet(nn.Module):
    def __init__(self, options, fixed=False):
        super().__init__()
        indim = options["n_in"]
        self.hids = []
        for _li in range(options["n_layers"]):
            self.hids.append(
                [
                    nn.Linear(indim, options["n_hid"]),
                    getattr(nn, options["act"])(),
                ]
            )
            indim = options["n_hid"]
        if fixed:
            self.hids = nn.ModuleList([nn.ModuleList(pair) for pair in self.hids])
        self.classifier = nn.Linear(options["n_hid"], 3)

    def forward(self, x):
        for layer, act in self.hids:
            x = act(layer(x))
        return self.classifier(x)


def make(fixed: bool) -> Setup:
    torch.manual_seed(715)
    wine = load_wine()
    perm = torch.randperm(len(wine.target), generator=torch.Generator().manual_seed(0))
    x = torch.tensor(StandardScaler().fit_transform(wine.data), dtype=torch.float32)[perm]
    y = torch.tensor(wine.target)[perm]
    x_train, y_train, x_valid, y_valid = x[:138], y[:138], x[138:], y[138:]

    options = {
        "n_in": 13,
        "n_hid": 32,
        "n_layers": 2,
        "act": "Tanh",
        "batch_size": 16,
        "lr": 1e-2,
        "n_epochs": 15,
    }
    model = SNLINet(options, fixed=fixed)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=options["lr"])

    def loop(w):
        n = x_train.size(0)
        for _epoch in range(options["n_epochs"]):
            order = torch.randperm(n)
            for bi in range(0, n, options["batch_size"]):
                idx = order[bi : bi + options["batch_size"]]
                optimizer.zero_grad()
                loss = loss_fn(model(x_train[idx]), y_train[idx])
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            with torch.no_grad():
                w.log(val_loss=loss_fn(model(x_valid), y_valid).item())

    return Setup(
        model=model,
        data=(x_train, y_train),
        loss_fn=loss_fn,
        optimizer=optimizer,
        val=(x_valid, y_valid),
        loop=loop,
    )
