"""tinygrad's MNIST example network (``TinyBobNet``: two raw weight matrices, ``relu``,
``log_softmax``, NLL loss, Adam) ported to PyTorch on 8x8 digits. As in the tinygrad fix, the
weights were drawn from an unscaled ``uniform(-1, 1)``: with 64 and 128 inputs per unit the
logits start with a spread of ~10, the first loss is several times log(10) and the net spends
its steps undoing the init (the PR reports ~50% test accuracy against >99% once scaled). The fix
scales each matrix by ``1/sqrt(prod(shape))`` (tinygrad's ``scaled_uniform``)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

from corpus import Expect, Setup

SOURCE = "https://github.com/tinygrad/tinygrad/pull/566"
EXPECT = Expect(
    "health_at_init", "loss_at_init", says=r"badly scaled|scaled init|kaiming|xavier|fan.in"
)


def uniform(*shape):
    return torch.empty(*shape).uniform_(-1.0, 1.0)


def scaled_uniform(*shape):
    return uniform(*shape) * (float(np.prod(shape)) ** -0.5)


class TinyBobNet(nn.Module):
    def __init__(self, init):
        super().__init__()
        self.l1 = nn.Parameter(init(64, 128))
        self.l2 = nn.Parameter(init(128, 10))

    def forward(self, x):
        return x.matmul(self.l1).relu().matmul(self.l2).log_softmax(dim=1)


def make(fixed: bool) -> Setup:
    torch.manual_seed(1337)
    digits = load_digits()
    X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    Y = torch.tensor(digits.target)
    X_train, Y_train, X_test, Y_test = X[:1500], Y[:1500], X[1500:], Y[1500:]

    model = TinyBobNet(scaled_uniform if fixed else uniform)
    optim = torch.optim.Adam(model.parameters(), lr=0.001)
    BS = 64
    g = torch.Generator().manual_seed(1337)

    def loop(w):
        for i in range(200):
            samp = torch.randint(0, X_train.shape[0], (BS,), generator=g)
            out = model(X_train[samp])
            loss = F.nll_loss(out, Y_train[samp])
            optim.zero_grad()
            loss.backward()
            optim.step()
            w.log(loss=loss)
            if i % 50 == 49:
                with torch.no_grad():
                    w.log(val_loss=F.nll_loss(model(X_test), Y_test).item())

    return Setup(
        model=model,
        data=(X_train, Y_train),
        loss_fn=F.nll_loss,
        optimizer=optim,
        val=(X_test, Y_test),
        loop=loop,
    )
