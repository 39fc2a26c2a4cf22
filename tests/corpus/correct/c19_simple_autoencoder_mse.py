"""A plain fully-connected autoencoder in the style of pytorch-beginner's ``simple_autoencoder.py``:
inputs normalised to [-1, 1], an encoder 64 -> 32 -> 16 -> 3 and a mirrored decoder ending in
``Tanh``, ``nn.MSELoss()`` between the reconstruction and the flattened input, Adam with a small
weight decay. The kit is handed the input tensor as both inputs and targets, ``(x, x)``."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/L1aoXingyu/pytorch-beginner/blob/master/08-AutoEncoder/simple_autoencoder.py"


class autoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(8 * 8, 32), nn.ReLU(True), nn.Linear(32, 16), nn.ReLU(True), nn.Linear(16, 3)
        )
        self.decoder = nn.Sequential(
            nn.Linear(3, 16),
            nn.ReLU(True),
            nn.Linear(16, 32),
            nn.ReLU(True),
            nn.Linear(32, 8 * 8),
            nn.Tanh(),
        )

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


def make() -> Setup:
    torch.manual_seed(0)
    num_epochs, batch_size, learning_rate = 8, 64, 1e-2
    d = load_digits()
    imgs = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    imgs = (imgs - 0.5) / 0.5  # transforms.Normalize((0.5,), (0.5,))
    dataset = TensorDataset(imgs[:1400], torch.tensor(d.target[:1400]))
    dataloader = DataLoader(dataset, batch_size=batch_size, shuffle=True)

    model = autoencoder()
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=1e-5)

    def loop(w):
        for _epoch in range(num_epochs):
            for data in dataloader:
                img, _ = data
                img = img.view(img.size(0), -1)
                # ===================forward=====================
                output = model(img)
                loss = criterion(output, img)
                # ===================backward====================
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                w.log(loss=loss)

    x_train = imgs[:1400].view(1400, -1)
    x_val = imgs[1400:].reshape(-1, 64)
    return Setup(
        model=model,
        data=(x_train, x_train),
        loss_fn=criterion,
        optimizer=optimizer,
        val=(x_val, x_val),
        loop=loop,
    )
