"""A human-activity-recognition CNN over 9-channel inertial windows (the layout of UCI HAR: 9
signals x 128 samples, fed as ``(N, 9, 1, 128)`` to ``Conv2d`` kernels of width 9) whose
``forward`` ends in ``F.softmax`` and is trained with ``nn.CrossEntropyLoss``. The issue
reported exactly this: CrossEntropyLoss already applies log-softmax, so the probabilities are
squashed a second time. It is silent: the loss starts near log(6) and still falls a little,
but the gradients are squeezed and the net learns slowly and plateaus. The fix is to return the
raw scores from ``forward`` and apply softmax only for prediction."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/jindongwang/Deep-learning-activity-recognition/issues/10"
EXPECT = Expect("loss_at_init", says=r"softmax")

N_CLASS = 6


def load_windows(rng, n):
    """Synthetic inertial windows: each activity has its own cadence (dominant frequency) and its
    own mix of amplitudes over the 9 channels, plus sensor noise."""
    t = np.linspace(0, 1, 128, dtype=np.float32)
    cadence = np.array([2.0, 3.5, 5.0, 6.5, 8.0, 9.5], dtype=np.float32)
    amp = np.random.RandomState(0).uniform(0.3, 1.0, size=(N_CLASS, 9)).astype(np.float32)
    y = rng.randint(0, N_CLASS, size=n)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1)).astype(np.float32)
    x = amp[y][:, :, None] * np.sin(
        2 * np.pi * cadence[y][:, None, None] * t[None, None, :] + phase
    )
    x += 0.3 * rng.randn(n, 9, 128).astype(np.float32)
    return x.reshape(n, 9, 1, 128).astype(np.float32), y.astype(np.int64)


class Network(nn.Module):
    def __init__(self, fixed):
        super().__init__()
        self.fixed = fixed
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels=9, out_channels=8, kernel_size=(1, 9)),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=(1, 2), stride=2),
        )
        self.conv2 = nn.Sequential(
            nn.Conv2d(in_channels=8, out_channels=16, kernel_size=(1, 9)),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=(1, 2), stride=2),
        )
        self.fc1 = nn.Sequential(nn.Linear(16 * 26, 64), nn.ReLU())
        self.fc2 = nn.Linear(64, N_CLASS)

    def forward(self, x):
        out = self.conv2(self.conv1(x))
        out = out.reshape(-1, 16 * 26)
        out = self.fc2(self.fc1(out))
        if self.fixed:
            return out
        out = F.softmax(out, dim=1)
        return out


def make(fixed: bool) -> Setup:
    torch.manual_seed(10)
    rng = np.random.RandomState(10)
    x_train, y_train = load_windows(rng, 640)
    x_test, y_test = load_windows(rng, 256)
    train_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
        batch_size=64,
        shuffle=True,
    )
    test_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test)),
        batch_size=128,
        shuffle=False,
    )
    model = Network(fixed)
    optimizer = torch.optim.SGD(params=model.parameters(), lr=0.02, momentum=0.9)
    criterion = nn.CrossEntropyLoss()

    def loop(w):
        for _e in range(12):
            model.train()
            for sample, label in train_loader:
                output = model(sample)
                loss = criterion(output, label)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            total_loss, n = 0.0, 0
            with torch.no_grad():
                for sample, label in test_loader:
                    output = model(sample)
                    total_loss += criterion(output, label).item() * len(label)
                    n += len(label)
            w.log(val_loss=total_loss / n)

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=test_loader,
        loop=loop,
    )
