"""RetinaNet's sigmoid focal loss for an imbalanced binary task, written by hand as torchvision's
``sigmoid_focal_loss`` is (``ce = binary_cross_entropy_with_logits(..., reduction="none")``,
``p_t = p * t + (1 - p) * (1 - t)``, ``loss = ce * (1 - p_t) ** gamma``, ``alpha_t`` weighting,
``alpha=0.25, gamma=2``, mean reduction), with RetinaNet's prior-probability init of the output
bias (``-log((1 - pi) / pi)``, pi = 0.01) so the rare class starts at probability 0.01. Task:
"is this digit a 9" on scikit-learn's digits (about 10% positives), one output logit, Adam."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/pytorch/vision/blob/main/torchvision/ops/focal_loss.py"


def sigmoid_focal_loss(
    inputs, targets, alpha: float = 0.25, gamma: float = 2, reduction: str = "mean"
):
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


class Detector(nn.Module):
    def __init__(self, prior_prob=0.01):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.cls_logits = nn.Linear(32, 1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_prob) / prior_prob))

    def forward(self, x):
        return self.cls_logits(self.body(x))


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target == 9, dtype=torch.float32).unsqueeze(1)  # (N, 1), ~10% positives
    train_loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=128)
    model = Detector()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loop(w):
        for _epoch in range(5):
            model.train()
            for xb, yb in train_loader:
                logits = model(xb)
                loss = sigmoid_focal_loss(logits, yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                val = [sigmoid_focal_loss(model(xb), yb).item() for xb, yb in val_loader]
            w.log(val_loss=sum(val) / len(val))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=sigmoid_focal_loss,
        optimizer=optimizer,
        val=val_loader,
        loop=loop,
    )
