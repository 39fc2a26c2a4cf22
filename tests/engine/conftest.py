"""Reference setups for the check-engine tests: small, correct, and fast on 2 cores.

Each factory returns the keyword arguments of ``rw.check`` (model, data, loss_fn, ...). The
buggy setups in the tests are built from these by changing one thing.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from torch import nn


def standardize(x: object) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.float32)
    return (t - t.mean(0)) / t.std(0).clamp_min(1e-6)


def _shuffled(seed: int, *tensors: torch.Tensor) -> list[torch.Tensor]:
    perm = torch.randperm(len(tensors[0]), generator=torch.Generator().manual_seed(seed))
    return [t[perm] for t in tensors]


def tabular(name: str = "wine", width: int = 32, seed: int = 0) -> dict:
    loader = {"wine": load_wine, "breast_cancer": load_breast_cancer}[name]
    d = loader()
    x, y = _shuffled(seed, standardize(d.data), torch.as_tensor(d.target))
    torch.manual_seed(seed)
    c = int(y.max()) + 1
    model = nn.Sequential(nn.Linear(x.shape[1], width), nn.ReLU(), nn.Linear(width, c))
    return {"model": model, "data": (x, y), "loss_fn": nn.CrossEntropyLoss()}


class SmallCNN(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),  # (B, width * 4)
        )
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(width * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x)))


def digits_data(seed: int = 0, n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32).unsqueeze(1)  # (N, 1, 8, 8)
    x = (x - x.mean()) / x.std()
    x, y = _shuffled(seed, x, torch.as_tensor(d.target))
    return x[:n], y[:n]


def digits(width: int = 8, seed: int = 0) -> dict:
    x, y = digits_data(seed)
    torch.manual_seed(seed)
    return {"model": SmallCNN(width), "data": (x, y), "loss_fn": nn.CrossEntropyLoss()}


class CausalGRU(nn.Module):
    causal = True  # lets rw.check infer the causality check

    def __init__(self, vocab: int = 8, width: int = 24) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, width)
        self.rnn = nn.GRU(width, width, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.emb(ids))  # (B, T, W)
        return self.head(h)  # (B, T, V)


def seq_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def sequence(width: int = 24, seed: int = 0, n: int = 256, t: int = 10, vocab: int = 8) -> dict:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (n, t), generator=g)
    y = torch.roll(x, 1, dims=1)  # target at t is the input at t-1: learnable, causal
    y[:, 0] = 0
    torch.manual_seed(seed)
    return {"model": CausalGRU(vocab, width), "data": (x, y), "loss_fn": seq_loss}


def regression(width: int = 32, seed: int = 0) -> dict:
    d = load_diabetes()
    y = torch.as_tensor(d.target, dtype=torch.float32)
    y = ((y - y.mean()) / y.std()).unsqueeze(1)  # (N, 1), like the model's output
    x, y = _shuffled(seed, standardize(d.data), y)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, width), nn.ReLU(), nn.Linear(width, 1))
    return {"model": model, "data": (x, y), "loss_fn": nn.MSELoss()}


@pytest.fixture
def setups() -> SimpleNamespace:
    torch.set_num_threads(1)
    return SimpleNamespace(
        tabular=tabular,
        digits=digits,
        sequence=sequence,
        regression=regression,
        digits_data=digits_data,
        SmallCNN=SmallCNN,
        CausalGRU=CausalGRU,
        seq_loss=seq_loss,
        standardize=standardize,
    )
