"""A small PointNet classifier (shared per-point MLP as ``Conv1d`` layers, max-pool over points,
fully connected head) on synthetic point clouds, trained with a ``get_loss`` module that calls
``F.nll_loss`` on the head's raw output. The issue: ``nll_loss`` expects log-probabilities, but
the model returned logits, so the "loss" is just minus the target logit. It is unbounded below:
the optimizer pushes the target logit up forever and the printed loss goes negative instead of
towards 0, yet nothing raises. The fix is ``F.log_softmax`` at the end of the model (or
``F.cross_entropy``). Batches come as ``(points (B, N, 3), label (B, 1))`` and the training loop
transposes the points and takes ``target[:, 0]``, so the check is given the same ``batch_fn``."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.data

from corpus import Expect, Setup

SOURCE = "https://github.com/yanx27/Pointnet_Pointnet2_pytorch/issues/30"
EXPECT = Expect("loss_at_init", says=r"log_softmax|nll")


class ShapeDataLoader(torch.utils.data.Dataset):
    """Sphere, cube surface, cylinder or cone, sampled with noise and a random scale."""

    def __init__(self, n, npoints=64, seed=0):
        rng = np.random.RandomState(seed)
        self.points, self.labels = [], []
        for _ in range(n):
            cls = rng.randint(4)
            p = rng.randn(npoints, 3)
            if cls == 0:
                p /= np.linalg.norm(p, axis=1, keepdims=True)
            elif cls == 1:
                p = rng.uniform(-1, 1, (npoints, 3))
                face = rng.randint(3, size=npoints)
                p[np.arange(npoints), face] = np.sign(rng.randn(npoints))
            elif cls == 2:
                theta, h = rng.uniform(0, 2 * np.pi, npoints), rng.uniform(-1, 1, npoints)
                p = np.stack([np.cos(theta), np.sin(theta), h], 1)
            else:
                theta, h = rng.uniform(0, 2 * np.pi, npoints), rng.uniform(0, 1, npoints)
                p = np.stack([(1 - h) * np.cos(theta), (1 - h) * np.sin(theta), 2 * h - 1], 1)
            p = p * rng.uniform(0.7, 1.3) + 0.02 * rng.randn(npoints, 3)
            self.points.append(p.astype(np.float32))
            self.labels.append(np.array([cls]).astype(np.int64))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.points[index], self.labels[index]


class get_model(nn.Module):
    def __init__(self, k=4, fixed=False):
        super().__init__()
        self.fixed = fixed
        self.conv1 = torch.nn.Conv1d(3, 32, 1)
        self.conv2 = torch.nn.Conv1d(32, 64, 1)
        self.bn1 = nn.BatchNorm1d(32)
        self.bn2 = nn.BatchNorm1d(64)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, k)
        self.bn3 = nn.BatchNorm1d(32)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        x = torch.max(x, 2, keepdim=True)[0]
        x = x.view(-1, 64)
        x = F.relu(self.bn3(self.fc1(x)))
        x = self.fc2(x)
        if self.fixed:
            x = F.log_softmax(x, dim=1)
        return x


class get_loss(torch.nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, pred, target):
        loss = F.nll_loss(pred, target)
        return loss


def make(fixed: bool) -> Setup:
    torch.manual_seed(1)
    TRAIN_DATASET = ShapeDataLoader(512, seed=1)
    TEST_DATASET = ShapeDataLoader(192, seed=2)
    trainDataLoader = torch.utils.data.DataLoader(TRAIN_DATASET, batch_size=32, shuffle=True)
    testDataLoader = torch.utils.data.DataLoader(TEST_DATASET, batch_size=64, shuffle=False)

    classifier = get_model(k=4, fixed=fixed)
    criterion = get_loss()
    optimizer = torch.optim.Adam(
        classifier.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=1e-4
    )

    def loop(w):
        for _epoch in range(7):
            classifier.train()
            for points, target in trainDataLoader:
                points = points.transpose(2, 1)
                target = target[:, 0]
                optimizer.zero_grad()
                pred = classifier(points)
                loss = criterion(pred, target.long())
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            classifier.eval()
            with torch.no_grad():
                test_loss = sum(
                    criterion(classifier(p.transpose(2, 1)), t[:, 0]).item() * len(t)
                    for p, t in testDataLoader
                )
            w.log(val_loss=test_loss / len(TEST_DATASET))

    return Setup(
        model=classifier,
        data=trainDataLoader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=testDataLoader,
        loop=loop,
        check=dict(batch_fn=lambda batch: (batch[0].transpose(2, 1), batch[1][:, 0])),
    )
