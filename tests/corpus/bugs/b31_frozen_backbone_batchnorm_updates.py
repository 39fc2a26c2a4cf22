"""Linear evaluation of a pretrained backbone, the lightly way: a ``LinearClassifier`` wraps the
backbone, ``deactivate_requires_grad(backbone)`` freezes it and only the linear head is given to
the optimizer. As the lightly issue (and pytorch#86590) point out, ``requires_grad=False`` does
not freeze BatchNorm: the loop calls ``classifier.train()`` every epoch, so the backbone's
BatchNorm layers keep normalising with batch statistics and overwrite their pretrained
``running_mean`` / ``running_var`` with the probe data. The "frozen" backbone changes and the
linear-probe numbers are not those of the pretrained model. The fix puts the backbone in eval
mode after ``classifier.train()``."""

from __future__ import annotations

import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/lightly-ai/lightly/issues/1438"
EXPECT = Expect("parameter_coverage", "frozen_parameters", says=r"running|batch ?norm")


def deactivate_requires_grad(model: nn.Module):
    for param in model.parameters():
        param.requires_grad = False


class LinearClassifier(nn.Module):
    def __init__(self, backbone, feature_dim, num_classes, freeze_bn):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(feature_dim, num_classes)
        self.freeze_bn = freeze_bn
        deactivate_requires_grad(self.backbone)

    def forward(self, images):
        features = self.backbone(images).flatten(start_dim=1)
        return self.fc(features)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_bn:
            self.backbone.eval()  # keep the pretrained BatchNorm statistics
        return self


def make(fixed: bool) -> Setup:
    torch.manual_seed(0)
    digits = load_digits()
    X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    Y = torch.tensor(digits.target)

    # "pretrained" backbone: trained on the first 900 digits with a throwaway head
    backbone = nn.Sequential(
        nn.Linear(64, 64),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
    )
    pretrain_head = nn.Linear(32, 10)
    pre_opt = torch.optim.Adam(
        list(backbone.parameters()) + list(pretrain_head.parameters()), lr=1e-2
    )
    for _step in range(80):
        idx = torch.randint(0, 900, (64,))
        pre_opt.zero_grad()
        nn.functional.cross_entropy(pretrain_head(backbone(X[idx])), Y[idx]).backward()
        pre_opt.step()

    # linear probe on the remaining digits, a lower-contrast scan of the same characters
    X_probe = 0.6 * X[900:] + 0.2
    train_ds = TensorDataset(X_probe[:640], Y[900:1540])
    val_ds = TensorDataset(X_probe[640:], Y[1540:])
    train_dl = DataLoader(train_ds, batch_size=32, shuffle=True)
    val_dl = DataLoader(val_ds, batch_size=128)

    classifier = LinearClassifier(backbone, feature_dim=32, num_classes=10, freeze_bn=fixed)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(classifier.fc.parameters(), lr=0.1, momentum=0.9)

    def loop(w):
        for _epoch in range(6):
            classifier.train()
            for images, targets in train_dl:
                loss = criterion(classifier(images), targets)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            classifier.eval()
            with torch.no_grad():
                w.log(
                    val_loss=sum(criterion(classifier(x), y).item() for x, y in val_dl)
                    / len(val_dl)
                )

    return Setup(
        model=classifier,
        data=train_dl,
        loss_fn=criterion,
        optimizer=optimizer,
        val=val_dl,
        loop=loop,
    )
