"""PyTorch's "Training a Classifier" tutorial (CIFAR10) with the 8x8 digits as (N, 1, 8, 8) images:
a small conv/pool/fc ``Net`` whose inputs are mapped to [-1, 1] as ``Normalize((0.5,), (0.5,))``
would, ``nn.CrossEntropyLoss`` and SGD with momentum over a shuffled DataLoader of small batches,
a running loss reset every 50 mini-batches, and a final accuracy pass over the test set under
``torch.no_grad()`` (the tutorial never calls ``eval()``: the net has no dropout or batch norm)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/tutorials/beginner/blitz/cifar10_tutorial.html"

classes = tuple(str(i) for i in range(10))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 2 * 2, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))  # 8x8 -> 4x4
        x = self.pool(F.relu(self.conv2(x)))  # 4x4 -> 2x2
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def make() -> Setup:
    torch.manual_seed(0)
    digits = load_digits()
    images = (
        torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    )  # ToTensor: [0, 1]
    images = (images - 0.5) / 0.5  # Normalize((0.5,), (0.5,)): [-1, 1]
    labels = torch.tensor(digits.target)
    trainset = TensorDataset(images[:1400], labels[:1400])
    testset = TensorDataset(images[1400:], labels[1400:])
    trainloader = DataLoader(trainset, batch_size=16, shuffle=True)
    testloader = DataLoader(testset, batch_size=16, shuffle=False)

    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)

    def loop(w):
        for _epoch in range(2):  # loop over the dataset multiple times
            running_loss = 0.0
            for i, data in enumerate(trainloader, 0):
                # get the inputs; data is a list of [inputs, labels]
                inputs, labels_ = data

                # zero the parameter gradients
                optimizer.zero_grad()

                # forward + backward + optimize
                outputs = net(inputs)
                loss = criterion(outputs, labels_)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)

                running_loss += loss.item()
                if i % 50 == 49:  # every 50 mini-batches
                    running_loss = 0.0

        correct = 0
        total = 0
        # since we're not training, we don't need to calculate the gradients for our outputs
        with torch.no_grad():
            for data in testloader:
                images_, labels_ = data
                outputs = net(images_)
                _, predicted = torch.max(outputs, 1)
                total += labels_.size(0)
                correct += (predicted == labels_).sum().item()

    return Setup(
        model=net,
        data=trainloader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=testloader,
        loop=loop,
    )
