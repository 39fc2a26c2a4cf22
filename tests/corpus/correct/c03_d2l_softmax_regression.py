"""d2l.ai's concise softmax regression (the ``train_ch3`` edition): ``nn.Sequential(nn.Flatten(),
nn.Linear(64, 10))`` initialised with ``normal_(std=0.01)``, ``nn.CrossEntropyLoss(reduction='none')``
averaged by hand (``l.mean().backward()``), plain SGD at lr 0.1, ``load_array``-style DataLoaders, an
``Accumulator`` of loss/accuracy per epoch and ``evaluate_accuracy`` under ``net.eval()``. The kit
gets the per-example loss averaged, as a d2l reader would have to hand it a scalar loss."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils import data

from corpus import Setup

SOURCE = "https://d2l.ai/chapter_linear-classification/softmax-regression-concise.html"


class Accumulator:
    """For accumulating sums over `n` variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def accuracy(y_hat, y):
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    """Compute the accuracy for a model on a dataset."""
    if isinstance(net, torch.nn.Module):
        net.eval()  # Set the model to evaluation mode
    metric = Accumulator(2)  # No. of correct predictions, no. of predictions
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater, w):
    """The training loop defined in Chapter 3."""
    if isinstance(net, torch.nn.Module):
        net.train()
    # Sum of training loss, sum of training accuracy, no. of examples
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)  # noqa: E741 - the book's name
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        w.log(loss=l.mean())
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0  # like ToTensor()
    y = torch.tensor(d.target)
    batch_size = 64
    train_iter = load_array((X[:1400], y[:1400]), batch_size)
    test_iter = load_array((X[1400:], y[1400:]), batch_size, is_train=False)

    # PyTorch does not implicitly reshape the inputs. Thus we define the flatten
    # layer to reshape the inputs before the linear layer in our network
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def init_weights(m):
        if type(m) == nn.Linear:  # noqa: E721 - as the book writes it
            nn.init.normal_(m.weight, std=0.01)

    net.apply(init_weights)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    num_epochs = 10

    def loop(w):
        for _epoch in range(num_epochs):
            train_metrics = train_epoch_ch3(net, train_iter, loss, trainer, w)
            test_acc = evaluate_accuracy(net, test_iter)
        train_loss, train_acc = train_metrics
        assert train_loss < 1.0 and test_acc > 0.7, (train_loss, test_acc)

    return Setup(
        model=net,
        data=train_iter,
        loss_fn=lambda y_hat, y: loss(y_hat, y).mean(),
        optimizer=trainer,
        val=test_iter,
        loop=loop,
    )
