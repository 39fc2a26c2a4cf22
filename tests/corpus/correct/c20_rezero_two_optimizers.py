"""A ReZero residual MLP trained with two optimizers: every residual branch is scaled by a learned
``resweight`` initialised to 0 (each block starts as the identity), all biases are zero-initialised
and the classifier head is zero-initialised too (Fixup's zero last layer), so only the head gets a
gradient on the very first step. The body (stem + blocks) is trained by Adam at lr 1e-3, the head by
SGD + momentum at lr 0.05, both zeroed and stepped together each batch; the kit gets the list."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/majumderb/rezero"


class RZBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.resweight = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + self.resweight * F.relu(self.fc(x))


class ReZeroNet(nn.Module):
    def __init__(self, n_in=64, width=64, depth=4, n_classes=10):
        super().__init__()
        self.stem = nn.Linear(n_in, width)
        self.blocks = nn.Sequential(*[RZBlock(width) for _ in range(depth)])
        self.head = nn.Linear(width, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.head.weight)  # Fixup: the last layer starts at zero

    def forward(self, x):
        return self.head(self.blocks(F.relu(self.stem(x))))


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target)
    loader = DataLoader(TensorDataset(X[:1400], y[:1400]), batch_size=32, shuffle=True)
    Xv, yv = X[1400:], y[1400:]

    net = ReZeroNet()
    body_params = list(net.stem.parameters()) + list(net.blocks.parameters())
    opt_body = torch.optim.Adam(body_params, lr=1e-3)
    opt_head = torch.optim.SGD(net.head.parameters(), lr=0.05, momentum=0.9)
    optimizers = [opt_body, opt_head]

    def loop(w):
        for _epoch in range(5):
            net.train()
            for xb, yb in loader:
                for opt in optimizers:
                    opt.zero_grad()
                loss = F.cross_entropy(net(xb), yb)
                loss.backward()
                for opt in optimizers:
                    opt.step()
                w.log(loss=loss)
            net.eval()
            with torch.no_grad():
                w.log(val_loss=F.cross_entropy(net(Xv), yv).item())

    return Setup(
        model=net,
        data=loader,
        loss_fn=F.cross_entropy,
        optimizer=optimizers,
        val=(Xv, yv),
        loop=loop,
    )
