"""d2l.ai's LeNet with batch normalization: the sigmoid activations and average pooling of LeNet-5
(sized down for 8x8 digits), a BatchNorm after every conv/linear layer but the last (the convs keep
their default bias in front of it), Xavier-uniform init of every Linear/Conv2d, plain SGD at a high
lr and the book's ``train_ch6`` loop: ``net.train()`` each epoch, ``evaluate_accuracy_gpu`` under
``net.eval()`` after it. (Plain sigmoid LeNet stays on its log-10 plateau for far longer than this
corpus can afford on 8x8 inputs; the batch-norm chapter's version is the one that trains fast.)"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils import data

from corpus import Setup

SOURCE = "https://d2l.ai/chapter_convolutional-modern/batch-norm.html"


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Compute the accuracy for a model on a dataset using a GPU."""
    if isinstance(net, nn.Module):
        net.eval()  # Set the model to evaluation mode
        if not device:
            device = next(iter(net.parameters())).device
    correct, total = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            correct += float((net(X).argmax(axis=1) == y).sum())
            total += y.numel()
    return correct / total


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device, w):
    """Train a model with a GPU (defined in Chapter 6)."""

    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:  # noqa: E721 - as the book writes it
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    return optimizer, loss


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target)
    batch_size = 32
    train_iter = data.DataLoader(data.TensorDataset(X[:1400], y[:1400]), batch_size, shuffle=True)
    test_iter = data.DataLoader(data.TensorDataset(X[1400:], y[1400:]), batch_size, shuffle=False)

    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=3, padding=1),
        nn.BatchNorm2d(6),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=3, padding=1),
        nn.BatchNorm2d(16),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 120),
        nn.BatchNorm1d(120),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        nn.BatchNorm1d(84),
        nn.Sigmoid(),
        nn.Linear(84, 10),
    )
    lr, num_epochs, device = 0.5, 6, torch.device("cpu")
    optimizer, loss = train_ch6(net, train_iter, test_iter, num_epochs, lr, device, None)

    def loop(w):
        for _epoch in range(num_epochs):
            net.train()
            for X_, y_ in train_iter:
                optimizer.zero_grad()
                X_, y_ = X_.to(device), y_.to(device)
                y_hat = net(X_)
                l = loss(y_hat, y_)  # noqa: E741 - the book's name
                l.backward()
                optimizer.step()
                w.log(loss=l)
            evaluate_accuracy_gpu(net, test_iter)

    return Setup(
        model=net, data=train_iter, loss_fn=loss, optimizer=optimizer, val=test_iter, loop=loop
    )
