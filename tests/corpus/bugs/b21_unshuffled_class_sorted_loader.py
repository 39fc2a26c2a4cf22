"""An image classifier trained from an ImageFolder-like dataset (samples listed class folder by
class folder, so sorted by label) with a ``dataloader_params`` dict that leaves out
``shuffle``. As in the super-gradients report, the DataLoader then uses a SequentialSampler: each
batch holds a single class and the net is dragged from one class to the next all epoch, ending
each epoch biased towards the last classes. It still runs and the loss still moves. The fix
passes ``shuffle=True`` for the training loader."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, Dataset

from corpus import Expect, Setup

SOURCE = "https://github.com/Deci-AI/super-gradients/issues/416"
EXPECT = Expect("data_order", says=r"shuffl|sorted")


class DigitFolder(Dataset):
    """Mimics torchvision's ImageFolder: classes found in order, samples listed class by class."""

    def __init__(self, images, targets):
        self.classes = sorted(set(targets.tolist()))
        self.samples = [
            (images[i], c) for c in self.classes for i in range(len(targets)) if targets[i] == c
        ]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        image, target = self.samples[index]
        return torch.as_tensor(image, dtype=torch.float32).unsqueeze(0) / 16.0, target


def make(fixed: bool) -> Setup:
    torch.manual_seed(42)
    digits = load_digits()
    train_set = DigitFolder(digits.images[:1300], digits.target[:1300])
    valid_set = DigitFolder(digits.images[1300:], digits.target[1300:])

    dataloader_params = {"batch_size": 32, "drop_last": False}
    if fixed:
        dataloader_params["shuffle"] = True
    train_loader = DataLoader(train_set, **dataloader_params)
    valid_loader = DataLoader(valid_set, batch_size=64)

    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4
    )

    def loop(w):
        for _epoch in range(3):
            net.train()
            for inputs, targets in train_loader:
                optimizer.zero_grad()
                loss = criterion(net(inputs), targets)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            net.eval()
            with torch.no_grad():
                valid_loss = sum(criterion(net(x), y).item() * len(y) for x, y in valid_loader)
            w.log(val_loss=valid_loss / len(valid_set))

    return Setup(
        model=net,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=valid_loader,
        loop=loop,
    )
