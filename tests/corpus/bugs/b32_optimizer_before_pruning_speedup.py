"""Prune-then-finetune with an NNI-style flow: a model is trained, an L1-norm pruner picks the
weakest hidden units, and a "speedup" step replaces the pruned ``nn.Linear`` layers by smaller
ones holding the kept weights (here fc2 is pruned, so fc2 and the fc3 that reads it are
rebuilt). As in the NNI issue, fine-tuning then reuses the optimizer built before the speedup:
it still holds the old, now detached tensors, so the rebuilt layers never move and only fc1
adapts; the loss recovers only partly. No error is raised. The fix builds a new optimizer over
the sped-up model's parameters before fine-tuning."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/microsoft/nni/issues/4521"
EXPECT = Expect("parameter_coverage", "not_in_optimizer", says=r"optimizer")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def l1_norm_masks(model, sparsity, op_names):
    """Keep the output units of the listed layers with the largest L1 weight norm."""
    masks = {}
    for name in op_names:
        weight = getattr(model, name).weight.detach()
        keep = int(weight.shape[0] * (1 - sparsity))
        masks[name] = weight.abs().sum(dim=1).topk(keep).indices.sort().values
    return masks


def speedup_model(model, masks):
    """Replace the pruned layers by smaller dense ones (what ModelSpeedup does)."""
    k2 = masks["fc2"]
    fc2 = nn.Linear(model.fc2.in_features, len(k2))
    fc3 = nn.Linear(len(k2), model.fc3.out_features)
    with torch.no_grad():
        fc2.weight.copy_(model.fc2.weight[k2])
        fc2.bias.copy_(model.fc2.bias[k2])
        fc3.weight.copy_(model.fc3.weight[:, k2])
        fc3.bias.copy_(model.fc3.bias)
    model.fc2, model.fc3 = fc2, fc3


def make(fixed: bool) -> Setup:
    torch.manual_seed(0)
    digits = load_digits()
    X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    Y = torch.tensor(digits.target)
    train_loader = DataLoader(TensorDataset(X[:1400], Y[:1400]), batch_size=64, shuffle=True)
    test_loader = DataLoader(TensorDataset(X[1400:], Y[1400:]), batch_size=200)

    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    criterion = nn.CrossEntropyLoss()

    def trainer(model, optimizer, criterion, w=None):
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(data), target)
            loss.backward()
            optimizer.step()
            if w is not None:
                w.log(loss=loss)

    def evaluator(model):
        model.eval()
        with torch.no_grad():
            return sum(criterion(model(x), y).item() for x, y in test_loader) / len(test_loader)

    for _epoch in range(2):  # pre-train
        trainer(model, optimizer, criterion)
    masks = l1_norm_masks(model, sparsity=0.9, op_names=["fc2"])
    speedup_model(model, masks)
    if fixed:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def loop(w):
        for _epoch in range(5):  # fine-tune the pruned model
            trainer(model, optimizer, criterion, w)
            w.log(val_loss=evaluator(model))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=test_loader,
        loop=loop,
    )
