"""torchvision's classification reference recipe (``references/classification/train.py``) on the
8x8 digits: ``nn.CrossEntropyLoss(label_smoothing=0.1)``, SGD with momentum 0.9 and weight decay
1e-4 (none on the BatchNorm parameters, ``norm_weight_decay=0.0``), and a ``SequentialLR`` of a
linear warm-up (``LinearLR``) followed by ``CosineAnnealingLR``, stepped once per epoch. The net is
a small conv/BN/ReLU stack; ``train_one_epoch`` / ``evaluate`` functions as in the reference."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/pytorch/vision/blob/main/references/classification/train.py"


def make_net():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )


def set_weight_decay(model, weight_decay, norm_weight_decay):
    norm_classes = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
    params = {"other": [], "norm": []}
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if not p.requires_grad:
                continue
            params["norm" if isinstance(module, norm_classes) else "other"].append(p)
    return [
        {"params": params["other"], "weight_decay": weight_decay},
        {"params": params["norm"], "weight_decay": norm_weight_decay},
    ]


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    x = (x - 0.5) / 0.5
    y = torch.tensor(d.target)
    data_loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True)
    data_loader_test = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=64)

    model = make_net()
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    parameters = set_weight_decay(model, 1e-4, 0.0)
    optimizer = torch.optim.SGD(parameters, lr=0.1, momentum=0.9, weight_decay=1e-4)
    epochs, lr_warmup_epochs = 5, 1
    warmup_lr_scheduler = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=0.01, total_iters=lr_warmup_epochs
    )
    main_lr_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=epochs - lr_warmup_epochs, eta_min=0.0
    )
    lr_scheduler = torch.optim.lr_scheduler.SequentialLR(
        optimizer,
        schedulers=[warmup_lr_scheduler, main_lr_scheduler],
        milestones=[lr_warmup_epochs],
    )

    def train_one_epoch(w):
        model.train()
        for image, target in data_loader:
            output = model(image)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            w.log(loss=loss)

    def evaluate():
        model.eval()
        total, n = 0.0, 0
        with torch.inference_mode():
            for image, target in data_loader_test:
                total += criterion(model(image), target).item() * image.shape[0]
                n += image.shape[0]
        return total / n

    def loop(w):
        for _epoch in range(epochs):
            train_one_epoch(w)
            lr_scheduler.step()
            w.log(val_loss=evaluate())

    return Setup(
        model=model,
        data=data_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=data_loader_test,
        loop=loop,
    )
