"""The Wide-ResNet CIFAR recipe on a deep plain ReLU MLP: He/Kaiming-normal initialisation
(``kaiming_normal_(..., nonlinearity='relu')``) of the hidden layers, zero biases and the default
init for the final classifier, SGD with momentum 0.9,
``nesterov=True`` and weight decay 5e-4, and a ``MultiStepLR`` (gamma 0.2) stepped once per epoch
at the milestones. WRN-train.py's ``train(epoch)`` / ``validate(epoch)`` functions with an
``AverageMeter``; the digits are standardised per pixel with scikit-learn's ``StandardScaler``."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/xternalz/WideResNet-pytorch/blob/master/train.py"


class AverageMeter:
    """Computes and stores the average and current value"""

    def __init__(self):
        self.val = self.avg = self.sum = self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


class DeepMLP(nn.Module):
    def __init__(self, n_in=64, width=128, depth=5, n_classes=10):
        super().__init__()
        layers, d = [], n_in
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.ReLU(inplace=True)]
            d = width
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(width, n_classes)
        for m in self.features.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                m.bias.data.zero_()
        self.fc.bias.data.zero_()  # the classifier keeps PyTorch's default weight init, as in WRN

    def forward(self, x):
        return self.fc(self.features(x))


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    scaler = StandardScaler().fit(d.data[:1400])
    X = torch.tensor(scaler.transform(d.data), dtype=torch.float32)
    y = torch.tensor(d.target)
    train_loader = DataLoader(TensorDataset(X[:1400], y[:1400]), batch_size=64, shuffle=True)
    val_loader = DataLoader(TensorDataset(X[1400:], y[1400:]), batch_size=128, shuffle=False)

    model = DeepMLP()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.02, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[4, 6], gamma=0.2)

    def train(epoch, w):
        losses = AverageMeter()
        model.train()
        for input, target in train_loader:
            output = model(input)
            loss = criterion(output, target)
            losses.update(loss.item(), input.size(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            w.log(loss=loss)
        return losses.avg

    def validate(epoch, w):
        losses = AverageMeter()
        model.eval()
        for input, target in val_loader:
            with torch.no_grad():
                output = model(input)
            losses.update(criterion(output, target).item(), input.size(0))
        w.log(val_loss=losses.avg)
        return losses.avg

    def loop(w):
        for epoch in range(8):
            train(epoch, w)
            validate(epoch, w)
            scheduler.step()

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=val_loader,
        loop=loop,
    )
