"""One-step-ahead forecasting of a univariate series with a 1D CNN, the "CNN for univariate time
series forecasting" recipe: the series is cut into sliding windows of 32 past values (input
``(B, 1, 32)``) with the next value as target, series and targets standardised with the mean/std of
the training part only (chronological split, no shuffling across the split), ``Conv1d -> ReLU ->
MaxPool1d -> Conv1d -> ReLU -> Flatten -> Linear`` ending in one output, ``nn.MSELoss`` on (B, 1)
predictions vs (B, 1) targets, Adam. The series is generated: two seasonal sine components, a slow
trend and AR(1) noise."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://machinelearningmastery.com/how-to-develop-convolutional-neural-network-models-for-time-series-forecasting/"

N_STEPS = 32


def generate_series(n, g):
    t = torch.arange(n, dtype=torch.float32)
    noise = torch.zeros(n)
    eps = torch.randn(n, generator=g) * 0.3
    for i in range(1, n):
        noise[i] = 0.7 * noise[i - 1] + eps[i]
    return (
        10
        + 3 * torch.sin(2 * math.pi * t / 24)
        + 1.5 * torch.sin(2 * math.pi * t / 7)
        + 0.002 * t
        + noise
    )


def split_sequence(seq, n_steps):
    X = torch.stack([seq[i : i + n_steps] for i in range(len(seq) - n_steps)])
    y = seq[n_steps:]
    return X.unsqueeze(1), y.unsqueeze(1)  # (N, 1, n_steps), (N, 1)


class CNNForecaster(nn.Module):
    def __init__(self, n_steps):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 32, kernel_size=3)
        self.pool = nn.MaxPool1d(2)
        self.conv2 = nn.Conv1d(32, 32, kernel_size=3)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(32 * ((n_steps - 2) // 2 - 2), 50)
        self.fc2 = nn.Linear(50, 1)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        return self.fc2(torch.relu(self.fc1(self.flatten(x))))


def make() -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    series = generate_series(2400, g)
    split = 2000
    mean, std = series[:split].mean(), series[:split].std()
    scaled = (series - mean) / std
    X_train, y_train = split_sequence(scaled[:split], N_STEPS)
    X_test, y_test = split_sequence(scaled[split - N_STEPS :], N_STEPS)
    train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
    test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=128)
    model = CNNForecaster(N_STEPS)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loop(w):
        for _epoch in range(4):
            model.train()
            for xb, yb in train_loader:
                optimizer.zero_grad()
                loss = criterion(model(xb), yb)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                val = sum(criterion(model(xb), yb).item() * len(xb) for xb, yb in test_loader)
            w.log(val_loss=val / len(test_loader.dataset))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=test_loader,
        loop=loop,
    )
