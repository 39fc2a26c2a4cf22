"""Polynomial least squares written as a one-layer ``Net`` (features ``x**2, x`` for x in
[2, 5]), ``MSELoss(reduction='sum')`` and SGD with momentum at ``lr=0.01``, as in the forum
question. With unscaled polynomial features and a summed loss the curvature is in the tens of
thousands, so any learning rate above ~1e-4 overshoots: the loss grows every step, reaches inf
and then NaN within about ten iterations ("it diverges to infinity instantly"). The fix is a
learning rate below the stability limit (here 1e-5)."""

from __future__ import annotations

import numpy as np
import torch

from corpus import Expect, Setup

SOURCE = "https://discuss.pytorch.org/t/finding-coefficients-of-a-polynomial-through-linear-regression/71751"
EXPECT = Expect("loss_diverging", "loss_not_finite", says=r"learning rate|\blr\b")

N = 64  # Number of sampling points
deg = 2  # Degree of our model polynomial


def truef(x):  # True function on which the data is based
    return np.sin(x)


class Net(torch.nn.Module):  # Initiate the network
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 - the forum post's idiom
        self.fc1 = torch.nn.Linear(deg, 1)

    def forward(self, x):
        x = self.fc1(x)
        return x


def make(fixed: bool) -> Setup:
    torch.manual_seed(0)
    rs = np.random.RandomState(0)
    inputs, labels = [], []
    for x in np.linspace(2, 5, N):  # Create the sample inputs and their labels
        inputs.append([x ** (deg - i) for i in range(deg)])
        labels.append([truef(x) + rs.randn() / 5])
    x_data = torch.tensor(inputs, dtype=torch.float32)
    y_data = torch.tensor(labels, dtype=torch.float32)

    model = Net()
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-5 if fixed else 0.01, momentum=0.9)

    def loop(w):
        for _epoch in range(150):
            y_pred = model(x_data)
            loss = criterion(y_pred, y_data)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            w.log(loss=loss)

    return Setup(
        model=model, data=(x_data, y_data), loss_fn=criterion, optimizer=optimizer, loop=loop
    )
