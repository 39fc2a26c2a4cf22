"""The Udacity facial-keypoints project's ``Net`` (conv/pool/dropout stages and a dropout-heavy
fully connected head) regressing normalized keypoints from grayscale images, with a
dict-returning ``Dataset`` (``sample['image']``, ``sample['keypoints']``); here 16x16 images
with two bright spots whose centres are the keypoints. The issue: the notebook that runs the
test images through the trained net never calls ``net.eval()``, so dropout is still active at
test time and the test outputs (and any test loss) are noisy and worse than the model really
is. The fix is ``net.eval()`` before evaluating and ``net.train()`` when training resumes."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset

from corpus import Expect, Setup

SOURCE = "https://github.com/udacity/P1_Facial_Keypoints/issues/28"
EXPECT = Expect("eval_in_train_mode", "eval_mode", says=r"eval|dropout|train mode")


class SpotKeypointsDataset(Dataset):
    """Images with two Gaussian spots; keypoints are their centres, normalized like the
    project's ``Normalize`` transform (mean 0, roughly unit scale)."""

    def __init__(self, n, seed):
        rng = np.random.RandomState(seed)
        yy, xx = np.mgrid[0:16, 0:16]
        self.images, self.key_pts = [], []
        for _ in range(n):
            pts = rng.uniform(2, 14, size=(2, 2))
            pts = pts[np.argsort(pts[:, 0])]  # keypoint 0 is the left spot
            img = sum(np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / 3.0) for px, py in pts)
            img = img + 0.05 * rng.randn(16, 16)
            self.images.append(img[None].astype(np.float32))
            self.key_pts.append(((pts - 8.0) / 4.0).astype(np.float32))

    def __len__(self):
        return len(self.images)

    def __getitem__(self, idx):
        return {
            "image": torch.from_numpy(self.images[idx]),
            "keypoints": torch.from_numpy(self.key_pts[idx]),
        }


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.drop1 = nn.Dropout(p=0.1)
        self.drop2 = nn.Dropout(p=0.2)
        self.fc1 = nn.Linear(16 * 4 * 4, 128)
        self.fc1_drop = nn.Dropout(p=0.4)
        self.fc2 = nn.Linear(128, 4)

    def forward(self, x):
        x = self.drop1(self.pool(F.relu(self.conv1(x))))
        x = self.drop2(self.pool(F.relu(self.conv2(x))))
        x = x.view(x.size(0), -1)
        x = self.fc1_drop(F.relu(self.fc1(x)))
        x = self.fc2(x)
        return x


def make(fixed: bool) -> Setup:
    torch.manual_seed(28)
    transformed_dataset = SpotKeypointsDataset(768, seed=1)
    test_dataset = SpotKeypointsDataset(192, seed=2)
    batch_size = 32
    train_loader = DataLoader(transformed_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_dataset, batch_size=64, shuffle=False)

    net = Net()
    criterion = nn.MSELoss()
    optimizer = optim.Adam(net.parameters(), lr=0.002)

    def test_loss():
        # the test images through the net, as in the notebook's net_sample_output
        if fixed:
            net.eval()
        total = 0.0
        with torch.no_grad():
            for sample in test_loader:
                images = sample["image"]
                key_pts = sample["keypoints"].view(sample["keypoints"].size(0), -1)
                output_pts = net(images)
                total += criterion(output_pts, key_pts).item() * images.size(0)
        return total / len(test_dataset)

    def train_net(w, n_epochs):
        for _epoch in range(n_epochs):
            net.train()
            for _batch_i, data in enumerate(train_loader):
                images = data["image"]
                key_pts = data["keypoints"]
                key_pts = key_pts.view(key_pts.size(0), -1)
                output_pts = net(images)
                loss = criterion(output_pts, key_pts)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            w.log(val_loss=test_loss())

    return Setup(
        model=net,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=test_loader,
        loop=lambda w: train_net(w, 7),
        check=dict(
            batch_fn=lambda b: (b["image"], b["keypoints"].view(b["keypoints"].size(0), -1))
        ),
    )
