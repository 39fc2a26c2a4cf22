"""The straightforward linear regression from the report: ``y = 10 + 9 x0 - 2 x1 + eps`` with
``nn.Linear(2, 1)``, SGD and ``nn.MSELoss``, full-batch. The targets have shape ``(100,)``
while the model outputs ``(100, 1)``, so the loss broadcasts to a ``(100, 100)`` matrix of
every prediction against every target: the model learns to predict the mean and the loss
stalls far above the noise level, with (in current PyTorch) only a ``UserWarning``. The fix is
``y = y.reshape(sample_size, 1)``, which the report left commented out."""

from __future__ import annotations

import torch
import torch.nn as nn

from corpus import Expect, Setup

SOURCE = "https://github.com/pytorch/pytorch/issues/16045"
EXPECT = Expect("input_sanity", says=r"broadcast")


def make(fixed: bool) -> Setup:
    torch.manual_seed(16045)
    # Set up straightforward linear regression problem.
    sample_size = 100
    x = torch.randn((sample_size, 2))
    eps = torch.randn(sample_size)
    y = 10 + 9 * x[:, 0] - 2 * x[:, 1] + eps
    if fixed:
        y = y.reshape(sample_size, 1)
    model = nn.Linear(2, 1)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_func = nn.MSELoss()

    def loop(w):
        for _epoch in range(120):
            optimizer.zero_grad()
            yhat = model(x)
            loss_val = loss_func(yhat, y)
            loss_val.backward()
            optimizer.step()
            w.log(loss=loss_val)

    return Setup(model=model, data=(x, y), loss_fn=loss_func, optimizer=optimizer, loop=loop)
