"""d2l.ai's dropout MLP in the book's object-oriented style: a ``Classifier`` module owning its
``loss`` (``F.cross_entropy`` on reshaped logits), ``training_step`` / ``validation_step`` and
``configure_optimizers`` (SGD, lr 0.1), driven by a small ``Trainer`` whose ``fit_epoch`` calls
``model.train()`` / ``model.eval()`` and, as d2l does, runs ``loss.backward()`` and the optimizer
step inside ``torch.no_grad()``. Dropout 0.5 after each of the two hidden layers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://d2l.ai/chapter_multilayer-perceptrons/dropout.html"


class Classifier(nn.Module):
    """The base class of classification models."""

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

    def accuracy(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(axis=1).type(Y.dtype)
        compare = (preds == Y.reshape(-1)).type(torch.float32)
        return compare.mean() if averaged else compare

    def training_step(self, batch):
        return self.loss(self(*batch[:-1]), batch[-1])

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        return self.loss(Y_hat, batch[-1]), self.accuracy(Y_hat, batch[-1])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def forward(self, X):
        return self.net(X)


class DropoutMLP(Classifier):
    def __init__(
        self, num_inputs, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr
    ):
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(num_inputs, num_hiddens_1),
            nn.ReLU(),
            nn.Dropout(dropout_1),
            nn.Linear(num_hiddens_1, num_hiddens_2),
            nn.ReLU(),
            nn.Dropout(dropout_2),
            nn.Linear(num_hiddens_2, num_outputs),
        )


class Trainer:
    def __init__(self, max_epochs, w):
        self.max_epochs = max_epochs
        self.w = w

    def fit(self, model, optim, train_dataloader, val_dataloader):
        self.model, self.optim = model, optim
        self.train_dataloader, self.val_dataloader = train_dataloader, val_dataloader
        for self.epoch in range(self.max_epochs):  # noqa: B020 - as the book writes it
            self.fit_epoch()

    def prepare_batch(self, batch):
        return batch

    def fit_epoch(self):
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                self.optim.step()
            self.w.log(loss=loss)
        if self.val_dataloader is None:
            return
        self.model.eval()
        losses = []
        for batch in self.val_dataloader:
            with torch.no_grad():
                losses.append(self.model.validation_step(self.prepare_batch(batch))[0].item())
        self.w.log(val_loss=sum(losses) / len(losses))


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target)
    train = DataLoader(TensorDataset(X[:1400], y[:1400]), batch_size=64, shuffle=True)
    val = DataLoader(TensorDataset(X[1400:], y[1400:]), batch_size=64, shuffle=False)
    hparams = {
        "num_inputs": 64,
        "num_outputs": 10,
        "num_hiddens_1": 256,
        "num_hiddens_2": 256,
        "dropout_1": 0.5,
        "dropout_2": 0.5,
        "lr": 0.1,
    }
    model = DropoutMLP(**hparams)
    optim = model.configure_optimizers()

    def loop(w):
        trainer = Trainer(max_epochs=10, w=w)
        trainer.fit(model, optim, train, val)

    return Setup(model=model, data=train, loss_fn=model.loss, optimizer=optim, val=val, loop=loop)
