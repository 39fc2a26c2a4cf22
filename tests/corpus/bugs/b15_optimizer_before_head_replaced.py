"""A network whose structure is changed during training, as in the report: a digit classifier
first trained on digits 0-4 with a 5-way ``fc`` head, then extended to all ten digits by
assigning ``model.fc = nn.Linear(64, 10)``, and training goes on with the ``Adam`` optimizer
built at the start. The reporter saw no error and asked whether the optimizer must be reset;
the answer: yes, otherwise it knows nothing of the new layer's parameters. The new head gets
gradients but is never stepped, so it stays at its random init while the rest of the net
bends around it; the loss falls, just not far. The fix builds the optimizer again after the
change."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/pytorch/pytorch/issues/54765"
EXPECT = Expect("parameter_coverage", says=r"optimizer")


class Net(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc = nn.Linear(64, n_classes)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc(x)


def make(fixed: bool) -> Setup:
    torch.manual_seed(54765)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    first = y[:1400] < 5
    loader_0to4 = DataLoader(
        TensorDataset(x[:1400][first], y[:1400][first]), batch_size=64, shuffle=True
    )
    train_loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=64, shuffle=True)
    test_loader = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=200)

    net1 = Net(n_classes=5)
    optimizer = optim.Adam(net1.parameters(), lr=3e-3)
    for _epoch in range(2):  # first task: digits 0-4
        for data, target in loader_0to4:
            optimizer.zero_grad()
            F.cross_entropy(net1(data), target).backward()
            optimizer.step()

    # change the network structure: a 10-way head for all digits
    net1.fc = nn.Linear(64, 10)
    if fixed:
        optimizer = optim.Adam(net1.parameters(), lr=3e-3)

    def loop(w):
        for _epoch in range(7):
            net1.train()
            for data, target in train_loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(net1(data), target)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            net1.eval()
            with torch.no_grad():
                test_loss = sum(
                    F.cross_entropy(net1(d), t, reduction="sum").item() for d, t in test_loader
                )
            w.log(val_loss=test_loss / len(test_loader.dataset))

    return Setup(
        model=net1,
        data=train_loader,
        loss_fn=F.cross_entropy,
        optimizer=optimizer,
        val=test_loader,
        loop=loop,
    )
