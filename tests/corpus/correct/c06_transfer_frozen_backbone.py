"""Transfer learning with the backbone used as a FIXED feature extractor, as in PyTorch's transfer
learning tutorial: a small conv net with batch norm is first trained on digits 0-4 (the
"pretrained" weights), then every backbone parameter gets ``requires_grad = False``, a new ``fc``
head is attached for digits 5-9, and the optimizer (SGD + momentum, StepLR per epoch) holds the
head's parameters only. The model overrides ``train()`` to keep the frozen backbone in ``eval()``
so that its BN running statistics stay those of pretraining (mmdet's ``norm_eval`` idiom). The
tutorial's ``train_model`` loop: train/val phases, ``set_grad_enabled``, best weights restored."""

from __future__ import annotations

import copy

import torch
from sklearn.datasets import load_digits
from torch import nn, optim
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html"


class SmallConvNet(nn.Module):
    def __init__(self, num_classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


class FixedFeatureExtractor(nn.Module):
    """A pretrained backbone kept frozen (BN included) under a trainable linear head."""

    def __init__(self, pretrained: SmallConvNet, num_classes: int):
        super().__init__()
        self.backbone = pretrained.features
        for param in self.backbone.parameters():
            param.requires_grad = False
        self.fc = nn.Linear(32, num_classes)

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen BN: keep the running statistics of pretraining
        return self

    def forward(self, x):
        return self.fc(self.backbone(x))


def pretrain(images, labels) -> SmallConvNet:
    net = SmallConvNet(num_classes=5)
    opt = optim.Adam(net.parameters(), lr=3e-3)
    loader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True)
    net.train()
    for _ in range(3):
        for x, y in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    return net


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = (x - 0.3) / 0.4
    y = torch.tensor(d.target)
    source, target = y < 5, y >= 5
    pretrained = pretrain(x[source], y[source])

    xt, yt = x[target], y[target] - 5
    n_train = 600
    image_datasets = {
        "train": TensorDataset(xt[:n_train], yt[:n_train]),
        "val": TensorDataset(xt[n_train:], yt[n_train:]),
    }
    dataloaders = {
        "train": DataLoader(image_datasets["train"], batch_size=16, shuffle=True),
        "val": DataLoader(image_datasets["val"], batch_size=64, shuffle=False),
    }
    dataset_sizes = {k: len(v) for k, v in image_datasets.items()}

    model_conv = FixedFeatureExtractor(pretrained, num_classes=5)
    criterion = nn.CrossEntropyLoss()
    # Observe that only parameters of final layer are being optimized as opposed to before.
    optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.05, momentum=0.9)
    # Decay LR by a factor of 0.1 every 4 epochs
    exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=4, gamma=0.1)

    def train_model(model, criterion, optimizer, scheduler, w, num_epochs=5):
        best_model_wts = copy.deepcopy(model.state_dict())
        best_acc = 0.0
        for _epoch in range(num_epochs):
            for phase in ["train", "val"]:
                if phase == "train":
                    model.train()  # Set model to training mode
                else:
                    model.eval()  # Set model to evaluate mode
                running_loss = 0.0
                running_corrects = 0
                for inputs, labels in dataloaders[phase]:
                    optimizer.zero_grad()
                    with torch.set_grad_enabled(phase == "train"):
                        outputs = model(inputs)
                        _, preds = torch.max(outputs, 1)
                        loss = criterion(outputs, labels)
                        if phase == "train":
                            loss.backward()
                            optimizer.step()
                            w.log(loss=loss)
                    running_loss += loss.item() * inputs.size(0)
                    running_corrects += torch.sum(preds == labels.data)
                if phase == "train":
                    scheduler.step()
                epoch_loss = running_loss / dataset_sizes[phase]
                epoch_acc = running_corrects.double() / dataset_sizes[phase]
                if phase == "val":
                    w.log(val_loss=epoch_loss)
                    if epoch_acc > best_acc:
                        best_acc = epoch_acc
                        best_model_wts = copy.deepcopy(model.state_dict())
        model.load_state_dict(best_model_wts)
        return model

    def loop(w):
        train_model(model_conv, criterion, optimizer_conv, exp_lr_scheduler, w, num_epochs=5)

    return Setup(
        model=model_conv,
        data=dataloaders["train"],
        loss_fn=criterion,
        optimizer=optimizer_conv,
        val=dataloaders["val"],
        loop=loop,
    )
