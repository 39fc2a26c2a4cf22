"""The VAE of pytorch/examples on the digits: ``fc1 -> (fc21, fc22)`` for (mu, logvar), the
reparameterisation trick, a sigmoid decoder, and ``loss_function(recon_x, x, mu, logvar)`` = summed
binary cross-entropy + KL divergence; ``train(epoch)`` / ``test(epoch)`` functions, Adam lr 1e-3.
The model returns the tuple ``(recon, mu, logvar)`` and the batches are (image, label) with the
label unused, so the user tells the kit: the targets are the inputs (``batch_fn``), the output is
the whole tuple (``output_fn``), and the loss takes that tuple."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/pytorch/examples/blob/main/vae/main.py"


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 48)
        self.fc21 = nn.Linear(48, 8)
        self.fc22 = nn.Linear(48, 8)
        self.fc3 = nn.Linear(8, 48)
        self.fc4 = nn.Linear(48, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    # see Appendix B from VAE paper: Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float32) / 16.0  # in [0, 1], as BCE needs
    y = torch.tensor(d.target)
    train_loader = DataLoader(TensorDataset(X[:1400], y[:1400]), batch_size=32, shuffle=True)
    test_loader = DataLoader(TensorDataset(X[1400:], y[1400:]), batch_size=64, shuffle=False)

    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train(epoch, w):
        model.train()
        train_loss = 0
        for data, _ in train_loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            w.log(loss=loss)
        return train_loss / len(train_loader.dataset)

    def test(epoch, w):
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for data, _ in test_loader:
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
        test_loss /= len(test_loader.dataset)
        w.log(val_loss=test_loss)
        return test_loss

    def loop(w):
        for epoch in range(1, 6):
            train(epoch, w)
            test(epoch, w)

    return Setup(
        model=model,
        data=train_loader,
        optimizer=optimizer,
        val=test_loader,
        loss_fn=lambda out, x: loss_function(out[0], x, out[1], out[2]),
        check={"batch_fn": lambda batch: (batch[0], batch[0]), "output_fn": lambda out: out},
        loop=loop,
    )
