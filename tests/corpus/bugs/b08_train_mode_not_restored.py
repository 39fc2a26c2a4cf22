"""Optuna's ``pytorch_simple.py`` objective with one trial's hyper-parameters fixed: an MLP of
``Linear``/``ReLU``/``Dropout`` blocks ending in ``LogSoftmax``, trained with ``F.nll_loss`` on
flattened images (8x8 digits here instead of FashionMNIST) and validated every epoch under
``model.eval()``. Before the fix ``model.train()`` was called once, above the epoch loop, so
from the second epoch on every optimizer step ran with dropout switched off. Nothing fails;
the trial just measures a different (unregularised) model than intended. The pull request
moves ``model.train()`` inside the epoch loop."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/optuna/optuna/pull/1725"
EXPECT = Expect("training_in_eval_mode", says=r"eval")

BATCHSIZE = 64
CLASSES = 10
EPOCHS = 6
N_TRAIN_EXAMPLES = BATCHSIZE * 20
N_VALID_EXAMPLES = BATCHSIZE * 5


def define_model(params):
    # We optimize the number of layers, hidden units and dropout ratio in each layer.
    n_layers = params["n_layers"]
    layers = []

    in_features = 8 * 8
    for i in range(n_layers):
        out_features = params[f"n_units_l{i}"]
        layers.append(nn.Linear(in_features, out_features))
        layers.append(nn.ReLU())
        p = params[f"dropout_l{i}"]
        layers.append(nn.Dropout(p))

        in_features = out_features
    layers.append(nn.Linear(in_features, CLASSES))
    layers.append(nn.LogSoftmax(dim=1))

    return nn.Sequential(*layers)


def get_digits():
    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32)
    targets = torch.tensor(digits.target)
    train = TensorDataset(images[:1400], targets[:1400])
    valid = TensorDataset(images[1400:], targets[1400:])
    return (
        DataLoader(train, batch_size=BATCHSIZE, shuffle=True),
        DataLoader(valid, batch_size=BATCHSIZE, shuffle=True),
    )


def make(fixed: bool) -> Setup:
    torch.manual_seed(1725)
    # the parameters one trial sampled
    params = {
        "n_layers": 2,
        "n_units_l0": 96,
        "dropout_l0": 0.4,
        "n_units_l1": 48,
        "dropout_l1": 0.3,
        "optimizer": "Adam",
        "lr": 3e-3,
    }
    model = define_model(params)
    optimizer = getattr(optim, params["optimizer"])(model.parameters(), lr=params["lr"])
    train_loader, valid_loader = get_digits()

    def loop(w):
        if not fixed:
            model.train()
        # Training of the model.
        for _epoch in range(EPOCHS):
            if fixed:
                model.train()
            for batch_idx, (data, target) in enumerate(train_loader):
                # Limiting training data for faster epochs.
                if batch_idx * BATCHSIZE >= N_TRAIN_EXAMPLES:
                    break

                data = data.view(data.size(0), -1)

                optimizer.zero_grad()
                output = model(data)
                loss = F.nll_loss(output, target)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)

            # Validation of the model.
            model.eval()
            correct, valid_loss = 0, 0.0
            with torch.no_grad():
                for batch_idx, (data, target) in enumerate(valid_loader):
                    # Limiting validation data.
                    if batch_idx * BATCHSIZE >= N_VALID_EXAMPLES:
                        break
                    data = data.view(data.size(0), -1)
                    output = model(data)
                    valid_loss += F.nll_loss(output, target, reduction="sum").item()
                    # Get the index of the max log-probability.
                    pred = output.argmax(dim=1, keepdim=True)
                    correct += pred.eq(target.view_as(pred)).sum().item()

            accuracy = correct / min(len(valid_loader.dataset), N_VALID_EXAMPLES)
            w.log(val_loss=valid_loss / min(len(valid_loader.dataset), N_VALID_EXAMPLES))
            # (the objective reports it: trial.report(accuracy, epoch))
            assert 0.0 <= accuracy <= 1.0

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=F.nll_loss,
        optimizer=optimizer,
        val=valid_loader,
        loop=loop,
        check=dict(batch_fn=lambda batch: (batch[0].view(batch[0].size(0), -1), batch[1])),
    )
