"""A CIFAR-style LeNet classifier on a home-made variant dataset whose labels run 1..10 instead
of 0..9 (8x8 digits here, labels shifted by one). The report hit the CUDA assertion
``t >= 0 && t < n_classes`` with 10 outputs; the common way such code keeps running is what
this setup does: size the head from the data, ``num_classes = int(labels.max()) + 1``, i.e. 11
outputs. Then nothing errors: class 0 never occurs, its logit is pushed down for ever, the
loss starts at log 11 instead of log 10, and every class index the model predicts is off by
one from any 0-based label map. The fix maps the labels to 0..9 (``labels - 1``) and uses 10
outputs."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, Dataset

from corpus import Expect, Setup

SOURCE = "https://github.com/pytorch/pytorch/issues/15666"
EXPECT = Expect("input_sanity", says=r"label")


class DigitsVariant(Dataset):
    def __init__(self, images, labels):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


class Net(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def make(fixed: bool) -> Setup:
    torch.manual_seed(15666)
    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(digits.target) + 1  # the variant's labels: 1..10
    if fixed:
        labels = labels - 1
    num_classes = int(labels.max()) + 1

    trainset = DigitsVariant(images[:1400], labels[:1400])
    testset = DigitsVariant(images[1400:], labels[1400:])
    trainloader = DataLoader(trainset, batch_size=64, shuffle=True)
    testloader = DataLoader(testset, batch_size=128, shuffle=False)

    net = Net(num_classes)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

    def loop(w):
        for _epoch in range(8):
            running_loss = 0.0
            for _i, data in enumerate(trainloader, 0):
                inputs, targets = data
                optimizer.zero_grad()
                outputs = net(inputs)
                loss = criterion(outputs, targets)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
                w.log(loss=loss)
            with torch.no_grad():
                test_loss = sum(criterion(net(x), t).item() * len(t) for x, t in testloader)
            w.log(val_loss=test_loss / len(testset))

    return Setup(
        model=net,
        data=trainloader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=testloader,
        loop=loop,
    )
