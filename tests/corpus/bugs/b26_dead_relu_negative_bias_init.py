"""A DLRM-style click model: a bottom MLP on dense features, embedding tables for sparse
features, dot-product feature interaction and a top MLP, built with DLRM's ``create_mlp`` and
trained with SGD on MSE to 0/1 clicks. As found when the model ran in the PyTorch benchmark
suite, ``create_mlp`` draws each bias from ``N(0, sqrt(1/m))``; for the 1-unit output layer
that is ``N(0, 1)``, and with ReLU after every layer (no sigmoid layer configured) a large
negative draw makes the output ReLU 0 for every input: no gradient reaches any layer and the
loss sits at the click rate. The fix initialises the biases to zero (standard Xavier)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from corpus import Expect, Setup

SOURCE = "https://github.com/pytorch/benchmark/pull/1927"
EXPECT = Expect("health_at_init", "dead_relu", says=r"relu|dead")


class DLRM_Net(nn.Module):
    def create_mlp(self, ln, sigmoid_layer):
        layers = nn.ModuleList()
        for i in range(0, ln.size - 1):
            n, m = int(ln[i]), int(ln[i + 1])
            LL = nn.Linear(n, m, bias=True)
            # custom Xavier fill, as in the reference implementation
            W = np.random.normal(0.0, np.sqrt(2 / (m + n)), size=(m, n)).astype(np.float32)
            if self.zero_bias:
                bt = np.zeros(m, dtype=np.float32)
            else:
                bt = np.random.normal(0.0, np.sqrt(1 / m), size=m).astype(np.float32)
            LL.weight.data = torch.tensor(W, requires_grad=True)
            LL.bias.data = torch.tensor(bt, requires_grad=True)
            layers.append(LL)
            layers.append(nn.Sigmoid() if i == sigmoid_layer else nn.ReLU())
        return torch.nn.Sequential(*layers)

    def create_emb(self, m, ln):
        emb_l = nn.ModuleList()
        for n in ln:
            EE = nn.Embedding(int(n), m)
            W = np.random.uniform(low=-np.sqrt(1 / n), high=np.sqrt(1 / n), size=(n, m))
            EE.weight.data = torch.tensor(W.astype(np.float32), requires_grad=True)
            emb_l.append(EE)
        return emb_l

    def __init__(
        self, m_spa, ln_emb, ln_bot, ln_top, sigmoid_bot=-1, sigmoid_top=-1, zero_bias=False
    ):
        super().__init__()
        self.zero_bias = zero_bias
        self.emb_l = self.create_emb(m_spa, ln_emb)
        self.bot_l = self.create_mlp(ln_bot, sigmoid_bot)
        self.top_l = self.create_mlp(ln_top, sigmoid_top)

    def interact_features(self, x, ly):
        (batch_size, d) = x.shape
        T = torch.cat([x] + ly, dim=1).view((batch_size, -1, d))
        Z = torch.bmm(T, torch.transpose(T, 1, 2))
        _, ni, nj = Z.shape
        li = torch.tensor([i for i in range(ni) for j in range(i)])
        lj = torch.tensor([j for i in range(nj) for j in range(i)])
        return torch.cat([x, Z[:, li, lj]], dim=1)

    def forward(self, dense_x, lS_i):
        x = self.bot_l(dense_x)
        ly = [E(lS_i[:, k]) for k, E in enumerate(self.emb_l)]
        return self.top_l(self.interact_features(x, ly))


class RandomClickData(Dataset):
    """Synthetic dense + sparse features with clicks that depend on both."""

    def __init__(self, n, m_den, ln_emb, rs):
        self.dense = rs.rand(n, m_den).astype(np.float32)
        self.sparse = np.stack([rs.randint(0, k, n) for k in ln_emb], axis=1)
        w = rs.randn(m_den)
        table_effect = [rs.randn(k) for k in ln_emb]
        score = self.dense @ w + sum(t[self.sparse[:, j]] for j, t in enumerate(table_effect))
        self.target = (score > np.percentile(score, 66)).astype(np.float32)[:, None]

    def __len__(self):
        return len(self.target)

    def __getitem__(self, i):
        return (
            torch.from_numpy(self.dense[i]),
            torch.from_numpy(self.sparse[i]),
            torch.from_numpy(self.target[i]),
        )


def make(fixed: bool) -> Setup:
    np.random.seed(2)  # --numpy-rand-seed
    torch.manual_seed(2)
    m_spa, m_den = 8, 13
    ln_emb = np.array([20, 30, 40])
    ln_bot = np.array([m_den, 32, m_spa])
    num_fea = ln_emb.size + 1
    ln_top = np.array([m_spa + num_fea * (num_fea - 1) // 2, 16, 1])

    data = RandomClickData(1536, m_den, ln_emb, np.random.RandomState(0))
    train_ld = DataLoader(torch.utils.data.Subset(data, range(1280)), batch_size=64, shuffle=True)
    test_ld = DataLoader(torch.utils.data.Subset(data, range(1280, 1536)), batch_size=256)

    dlrm = DLRM_Net(m_spa, ln_emb, ln_bot, ln_top, zero_bias=fixed)
    loss_fn = torch.nn.MSELoss(reduction="mean")
    optimizer = torch.optim.SGD(dlrm.parameters(), lr=0.2)

    def loop(w):
        for _k in range(5):
            for _j, (X, lS_i, T) in enumerate(train_ld):
                Z = dlrm(X, lS_i)
                E = loss_fn(Z, T)
                optimizer.zero_grad()
                E.backward()
                optimizer.step()
                w.log(loss=E)
            with torch.no_grad():
                w.log(val_loss=np.mean([loss_fn(dlrm(X, s), T).item() for X, s, T in test_ld]))

    return Setup(
        model=dlrm, data=train_ld, loss_fn=loss_fn, optimizer=optimizer, val=test_ld, loop=loop
    )
