"""The "custom datasets" notebook pattern from a PyTorch course: an ``ImageFolderCustom``-like
Dataset with a ``transform``, a TinyVGG, and ``train_step`` / ``test_step`` functions using
``model.eval()`` and ``torch.inference_mode()``. As raised on that course, one ``data_transform``
with random augmentation (a random flip there; here a random 1-pixel shift and pixel noise, which
keep a digit a digit) is passed to both the train and the test dataset, so every evaluation sees
freshly randomised images: test loss and accuracy jitter from epoch to epoch and are biased. The
fix gives the test dataset a deterministic ``test_transform``."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, Dataset

from corpus import Expect, Setup

SOURCE = "https://github.com/mrdbourke/pytorch-deep-learning/issues/1352"
EXPECT = Expect("eval_mode", says=r"random|augment|transform")


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class ToTensor:
    def __call__(self, img):
        return torch.as_tensor(img, dtype=torch.float32).unsqueeze(0) / 16.0


class RandomShift:
    def __init__(self, max_shift=1):
        self.max_shift = max_shift

    def __call__(self, img):
        dx, dy = torch.randint(-self.max_shift, self.max_shift + 1, (2,)).tolist()
        return torch.roll(img, shifts=(dy, dx), dims=(1, 2))


class AddNoise:
    def __init__(self, std=0.1):
        self.std = std

    def __call__(self, img):
        return img + self.std * torch.randn_like(img)


class ImageFolderCustom(Dataset):
    def __init__(self, images, targets, transform=None):
        self.images, self.targets, self.transform = images, targets, transform
        self.classes = [str(c) for c in range(10)]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        img = self.images[index]
        return (self.transform(img) if self.transform else img), int(self.targets[index])


class TinyVGG(nn.Module):
    def __init__(self, input_shape, hidden_units, output_shape):
        super().__init__()
        self.conv_block_1 = nn.Sequential(
            nn.Conv2d(input_shape, hidden_units, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(hidden_units * 4 * 4, output_shape))

    def forward(self, x):
        return self.classifier(self.conv_block_1(x))


def train_step(model, dataloader, loss_fn, optimizer, w):
    model.train()
    for X, y in dataloader:
        y_pred = model(X)
        loss = loss_fn(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        w.log(loss=loss)


def test_step(model, dataloader, loss_fn):
    model.eval()
    test_loss = 0.0
    with torch.inference_mode():
        for X, y in dataloader:
            test_loss += loss_fn(model(X), y).item()
    return test_loss / len(dataloader)


def make(fixed: bool) -> Setup:
    torch.manual_seed(42)
    digits = load_digits()
    data_transform = Compose([ToTensor(), RandomShift(1), AddNoise(0.1)])
    test_transform = Compose([ToTensor()])
    train_data_custom = ImageFolderCustom(
        digits.images[:1300], digits.target[:1300], transform=data_transform
    )
    test_data_custom = ImageFolderCustom(
        digits.images[1300:],
        digits.target[1300:],
        transform=test_transform if fixed else data_transform,
    )
    train_dataloader_custom = DataLoader(train_data_custom, batch_size=32, shuffle=True)
    test_dataloader_custom = DataLoader(test_data_custom, batch_size=32, shuffle=False)

    model_0 = TinyVGG(input_shape=1, hidden_units=8, output_shape=len(train_data_custom.classes))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(params=model_0.parameters(), lr=0.003)

    def loop(w):
        for _epoch in range(4):
            train_step(model_0, train_dataloader_custom, loss_fn, optimizer, w)
            w.log(val_loss=test_step(model_0, test_dataloader_custom, loss_fn))

    return Setup(
        model=model_0,
        data=train_dataloader_custom,
        loss_fn=loss_fn,
        optimizer=optimizer,
        val=test_dataloader_custom,
        loop=loop,
    )
