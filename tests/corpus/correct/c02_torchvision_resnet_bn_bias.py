"""A torchvision-style small ResNet (BasicBlock, 1x1 conv + BN downsample, kaiming fan_out init,
BN weight 1 / bias 0) whose convolutions deliberately keep ``bias=True`` in front of BatchNorm
(redundant, not wrong: BN's mean subtraction cancels the bias). Trained the way torchvision's
classification reference script does it: ``train_one_epoch`` / ``evaluate`` helpers, SGD with
momentum and weight decay, ``CrossEntropyLoss(label_smoothing=0.1)`` and a StepLR stepped per epoch."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/pytorch/vision/blob/main/references/classification/train.py"


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding (kept with its bias on purpose)"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=True)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=True)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, layers=(1, 1), num_classes=10):
        super().__init__()
        self.inplanes = 8
        self.conv1 = nn.Conv2d(1, self.inplanes, kernel_size=3, stride=1, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(8, layers[0])
        self.layer2 = self._make_layer(16, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16 * BasicBlock.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * BasicBlock.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * BasicBlock.expansion, stride),
                nn.BatchNorm2d(planes * BasicBlock.expansion),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * BasicBlock.expansion
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


def train_one_epoch(model, criterion, optimizer, data_loader, device, epoch, w):
    model.train()
    for image, target in data_loader:
        image, target = image.to(device), target.to(device)
        output = model(image)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        w.log(loss=loss)


def evaluate(model, criterion, data_loader, device):
    model.eval()
    total_loss, num_processed_samples = 0.0, 0
    with torch.inference_mode():
        for image, target in data_loader:
            image, target = (
                image.to(device, non_blocking=True),
                target.to(device, non_blocking=True),
            )
            output = model(image)
            loss = criterion(output, target)
            total_loss += loss.item() * image.shape[0]
            num_processed_samples += image.shape[0]
    return total_loss / num_processed_samples


def make() -> Setup:
    torch.manual_seed(0)
    device = torch.device("cpu")
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = (x - 0.3) / 0.4  # per-channel mean/std of the training images, as transforms.Normalize
    y = torch.tensor(d.target)
    data_loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True)
    data_loader_test = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=64)

    model = ResNet().to(device)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)

    def loop(w):
        for epoch in range(4):
            train_one_epoch(model, criterion, optimizer, data_loader, device, epoch, w)
            lr_scheduler.step()
            w.log(val_loss=evaluate(model, criterion, data_loader_test, device=device))

    return Setup(
        model=model,
        data=data_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=data_loader_test,
        loop=loop,
    )
