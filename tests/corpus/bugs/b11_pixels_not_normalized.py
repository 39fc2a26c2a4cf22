"""fastbook chapter 4 ("MNIST basics"), threes vs eights here (the chapter uses sevens):
images stacked and flattened, ``train_y`` as a column of 1/0, ``dset = list(zip(train_x,
train_y))``, ``simple_net = nn.Sequential(nn.Linear(.., 30), nn.ReLU(), nn.Linear(30, 1))``
trained with SGD on the chapter's ``mnist_loss`` (sigmoid, then distance to the target), on
8x8 digits stored as 8-bit pixels. The forum question: leaving out the ``/255`` "screws up
training": pixel values up to 255 make the pre-activations huge, the sigmoid saturates and the
net gets stuck predicting one class with zero gradient, without any error. The fix divides the
pixels by 255."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn, tensor
from torch.utils.data import DataLoader

from corpus import Expect, Setup

SOURCE = "https://forums.fast.ai/t/lesson-3-book-chapter-4-dividing-by-255/107811"
EXPECT = Expect("input_sanity", says=r"normaliz")


def mnist_loss(predictions, targets):
    predictions = predictions.sigmoid()
    return torch.where(targets == 1, 1 - predictions, predictions).mean()


def make(fixed: bool) -> Setup:
    torch.manual_seed(4)
    digits = load_digits()
    # 8-bit grayscale images, as read from image files
    pixels = (torch.tensor(digits.images) * 255 / 16).round()
    threes = pixels[torch.tensor(digits.target) == 3]
    eights = pixels[torch.tensor(digits.target) == 8]
    stacked_threes = threes.float()
    stacked_eights = eights.float()
    if fixed:
        stacked_threes, stacked_eights = stacked_threes / 255, stacked_eights / 255

    n3, n8 = 145, 145
    train_x = torch.cat([stacked_threes[:n3], stacked_eights[:n8]]).view(-1, 8 * 8)
    train_y = tensor([1] * n3 + [0] * n8).unsqueeze(1)
    valid_x = torch.cat([stacked_threes[n3:], stacked_eights[n8:]]).view(-1, 8 * 8)
    valid_y = tensor([1] * len(stacked_threes[n3:]) + [0] * len(stacked_eights[n8:])).unsqueeze(1)
    dset = list(zip(train_x, train_y))
    valid_dset = list(zip(valid_x, valid_y))
    dl = DataLoader(dset, batch_size=64, shuffle=True)
    valid_dl = DataLoader(valid_dset, batch_size=64)

    simple_net = nn.Sequential(
        nn.Linear(8 * 8, 30),
        nn.ReLU(),
        nn.Linear(30, 1),
    )
    opt = torch.optim.SGD(simple_net.parameters(), lr=0.1)

    def loop(w):
        for _epoch in range(40):
            for xb, yb in dl:
                loss = mnist_loss(simple_net(xb), yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
                w.log(loss=loss)
            with torch.no_grad():
                w.log(
                    val_loss=sum(
                        mnist_loss(simple_net(xb), yb).item() * len(yb) for xb, yb in valid_dl
                    )
                    / len(valid_dset)
                )

    return Setup(
        model=simple_net, data=dl, loss_fn=mnist_loss, optimizer=opt, val=valid_dl, loop=loop
    )
