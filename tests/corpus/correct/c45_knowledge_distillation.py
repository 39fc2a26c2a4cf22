"""PyTorch's "Knowledge Distillation" tutorial: a larger teacher is trained first with plain
cross-entropy, then a small student learns from ``soft_targets = softmax(teacher_logits / T)``
against ``log_softmax(student_logits / T)`` (KL term ``sum(soft_targets * (log soft_targets -
soft_prob)) / batch * T**2``) plus the hard-label cross-entropy, weights 0.25 / 0.75, T = 2. The
teacher is run in ``eval()`` under ``torch.no_grad()`` and only ``student.parameters()`` are given
to the optimizer. For ``rw.check`` the user wraps both in a ``Distiller`` module (frozen teacher,
``requires_grad_(False)``, kept in eval mode by an overridden ``train()``) returning
``(student_logits, teacher_logits)``, stacked by ``output_fn``."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://pytorch.org/tutorials/beginner/knowledge_distillation_tutorial.html"

T, SOFT_W, CE_W = 2.0, 0.25, 0.75


class DeepNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.classifier = nn.Sequential(
            nn.Linear(64, 256),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(x)


class LightNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.classifier = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, num_classes))

    def forward(self, x):
        return self.classifier(x)


class Distiller(nn.Module):
    def __init__(self, teacher, student):
        super().__init__()
        self.teacher, self.student = teacher, student
        self.teacher.requires_grad_(False)

    def train(self, mode=True):
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, x):
        with torch.no_grad():
            teacher_logits = self.teacher(x)
        return self.student(x), teacher_logits


def kd_loss(student_logits, teacher_logits, labels):
    ce_loss = nn.CrossEntropyLoss()
    soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
    soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
    soft_targets_loss = (
        torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)
    )
    label_loss = ce_loss(student_logits, labels)
    return SOFT_W * soft_targets_loss + CE_W * label_loss


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    train_loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=64, shuffle=True)
    test_loader = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=128)

    teacher = DeepNN()
    t_opt = optim.Adam(teacher.parameters(), lr=1e-3)
    teacher.train()
    for _epoch in range(6):  # train(teacher, train_loader, epochs, learning_rate)
        for inputs, labels in train_loader:
            t_opt.zero_grad()
            loss = nn.functional.cross_entropy(teacher(inputs), labels)
            loss.backward()
            t_opt.step()

    student = LightNN()
    model = Distiller(teacher, student)
    optimizer = optim.Adam(student.parameters(), lr=1e-3)

    def loop(w):
        for _epoch in range(8):
            teacher.eval()
            student.train()
            for inputs, labels in train_loader:
                optimizer.zero_grad()
                with torch.no_grad():
                    teacher_logits = teacher(inputs)
                student_logits = student(inputs)
                loss = kd_loss(student_logits, teacher_logits, labels)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            student.eval()
            with torch.no_grad():
                val = [kd_loss(student(xb), teacher(xb), yb).item() for xb, yb in test_loader]
            w.log(val_loss=sum(val) / len(val))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=lambda out, labels: kd_loss(out[:, 0], out[:, 1], labels),
        optimizer=optimizer,
        val=test_loader,
        loop=loop,
        check={"output_fn": lambda out: torch.stack(out, dim=1)},
    )
