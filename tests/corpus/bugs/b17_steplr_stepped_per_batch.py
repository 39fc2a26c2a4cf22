"""A small SRResNet-style generator (the MSE pre-training stage of an SRGAN) that upsamples 4x4
digit thumbnails to 8x8, trained with Adam and ``StepLR(step_size=epochs // 2, gamma=0.1)``.
As reported for an SRGAN training script, ``scheduler.step()`` sits inside the batch loop, so
the step size written in epochs is counted in batches: the learning rate is cut tenfold every
few batches and is ~0 before the first epoch ends. Nothing errors; the loss just stops moving.
The fix steps the scheduler once per epoch, after the batch loop."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn, optim
from torch.utils.data import DataLoader, Dataset

from corpus import Expect, Setup

SOURCE = "https://github.com/Lornatang/SRGAN-PyTorch/issues/1"
EXPECT = Expect("lr_schedule", says=r"per batch|every step|schedul")


class DigitsSR(Dataset):
    """(low-resolution 4x4, high-resolution 8x8) pairs, like a super-resolution folder dataset."""

    def __init__(self, images):
        self.hr = torch.tensor(images / 16.0, dtype=torch.float32).unsqueeze(1)
        self.lr = F.avg_pool2d(self.hr, 2)

    def __len__(self):
        return len(self.hr)

    def __getitem__(self, index):
        return self.lr[index], self.hr[index]


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.prelu = nn.PReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(self.prelu(self.conv1(x)))


class Generator(nn.Module):
    def __init__(self, channels=8, num_blocks=1):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.PReLU())
        self.trunk = nn.Sequential(*[ResidualBlock(channels) for _ in range(num_blocks)])
        self.upsample = nn.Sequential(
            nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU()
        )
        self.tail = nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, x):
        out = self.head(x)
        out = out + self.trunk(out)
        return self.tail(self.upsample(out))


def make(fixed: bool) -> Setup:
    torch.manual_seed(0)
    images = load_digits().images
    train_dataset, valid_dataset = DigitsSR(images[:1400]), DigitsSR(images[1400:])
    train_dataloader = DataLoader(train_dataset, batch_size=64, shuffle=True)
    valid_dataloader = DataLoader(valid_dataset, batch_size=128)

    epochs = 8
    generator = Generator()
    pixel_criterion = nn.MSELoss()
    optimizer = optim.Adam(generator.parameters(), lr=1e-3, betas=(0.9, 0.999))
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=epochs // 2, gamma=0.1)

    def loop(w):
        for _epoch in range(epochs):
            generator.train()
            for _index, (lr, hr) in enumerate(train_dataloader):
                optimizer.zero_grad()
                sr = generator(lr)
                loss = pixel_criterion(sr, hr)
                loss.backward()
                optimizer.step()
                if not fixed:
                    scheduler.step()
                w.log(loss=loss)
            if fixed:
                scheduler.step()

            generator.eval()
            total = 0.0
            with torch.no_grad():
                for lr, hr in valid_dataloader:
                    total += pixel_criterion(generator(lr), hr).item()
            w.log(val_loss=total / len(valid_dataloader))

    return Setup(
        model=generator,
        data=train_dataloader,
        loss_fn=pixel_criterion,
        optimizer=optimizer,
        val=valid_dataloader,
        loop=loop,
    )
