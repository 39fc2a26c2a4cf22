"""Automatic mixed precision in the CPU style: the forward pass and loss run under
``torch.autocast("cpu", dtype=torch.bfloat16)`` and the backward/step go through a
``torch.amp.GradScaler("cpu")`` (``scaler.scale(loss).backward(); scaler.step(optimizer);
scaler.update()``), the loop shape of PyTorch's AMP examples. (With bfloat16 the scaler is not
needed, but it is harmless and many users keep it.) A small MLP on the digits, SGD + momentum."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/docs/stable/notes/amp_examples.html"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target)
    data = DataLoader(TensorDataset(X[:1400], y[:1400]), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(X[1400:], y[1400:]), batch_size=128)

    # Creates model and optimizer in default precision
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    # Creates a GradScaler once at the beginning of training.
    scaler = torch.amp.GradScaler("cpu")

    def loop(w):
        for _epoch in range(5):
            model.train()
            for input, target in data:
                optimizer.zero_grad()
                # Runs the forward pass with autocasting.
                with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                    output = model(input)
                    loss = loss_fn(output, target)
                # Scales loss. Calls backward() on scaled loss to create scaled gradients.
                scaler.scale(loss).backward()
                # scaler.step() first unscales the gradients of the optimizer's assigned params.
                scaler.step(optimizer)
                # Updates the scale for next iteration.
                scaler.update()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad(), torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                val_loss = sum(loss_fn(model(xb), yb).item() for xb, yb in val) / len(val)
            w.log(val_loss=val_loss)

    return Setup(model=model, data=data, loss_fn=loss_fn, optimizer=optimizer, val=val, loop=loop)
