"""adambielski's ``siamese-triplet``: an ``EmbeddingNet`` wrapped by a ``TripletNet`` whose
``forward(x1, x2, x3)`` embeds anchor, positive and negative with shared weights and returns the
three embeddings; a ``TripletMNIST``-style dataset that pairs every anchor (``np.random.choice``) with a random example of
its own class and one of another class (fixed triplets for the test split); the loss is
``nn.TripletMarginLoss(margin=1.0)`` on the three embeddings, Adam lr 1e-3 with a ``StepLR``. The
data loader yields ``((anchor, positive, negative), label)``; for ``rw.check`` the user stacks the
three embeddings into one tensor and writes the triplet loss on it."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, Dataset

from corpus import Setup

SOURCE = "https://github.com/adambielski/siamese-triplet/blob/master/networks.py"


class EmbeddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convnet = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.PReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.PReLU(),
            nn.MaxPool2d(2),
        )
        self.fc = nn.Sequential(nn.Linear(32 * 2 * 2, 64), nn.PReLU(), nn.Linear(64, 2 * 8))

    def forward(self, x):
        output = self.convnet(x)
        output = output.view(output.size()[0], -1)
        return self.fc(output)


class TripletNet(nn.Module):
    def __init__(self, embedding_net):
        super().__init__()
        self.embedding_net = embedding_net

    def forward(self, x1, x2, x3):
        return self.embedding_net(x1), self.embedding_net(x2), self.embedding_net(x3)


class TripletDigits(Dataset):
    def __init__(self, images, labels, train):
        self.images, self.labels, self.train = images, labels, train
        self.labels_set = set(labels.numpy().tolist())
        self.label_to_indices = {
            label: np.where(labels.numpy() == label)[0] for label in self.labels_set
        }
        if not train:
            random_state = np.random.RandomState(29)
            self.triplets = [
                [
                    i,
                    random_state.choice(self.label_to_indices[int(labels[i])]),
                    random_state.choice(
                        self.label_to_indices[
                            random_state.choice(list(self.labels_set - {int(labels[i])}))
                        ]
                    ),
                ]
                for i in range(len(labels))
            ]

    def _triplet(self, index):
        label = int(self.labels[index])
        positive_index = index
        while positive_index == index:
            positive_index = np.random.choice(self.label_to_indices[label])
        negative_label = np.random.choice(list(self.labels_set - {label}))
        negative_index = np.random.choice(self.label_to_indices[negative_label])
        return index, int(positive_index), int(negative_index)

    def __getitem__(self, index):
        a, p, n = self._triplet(index) if self.train else self.triplets[index]
        return (self.images[a], self.images[p], self.images[n]), self.labels[a]

    def __len__(self):
        return len(self.labels)


def make() -> Setup:
    torch.manual_seed(0)
    np.random.seed(0)
    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    x = (x - 0.3) / 0.4
    y = torch.tensor(d.target)
    triplet_train_loader = DataLoader(
        TripletDigits(x[:1400], y[:1400], True), batch_size=64, shuffle=True
    )
    triplet_test_loader = DataLoader(TripletDigits(x[1400:], y[1400:], False), batch_size=128)
    model = TripletNet(EmbeddingNet())
    loss_fn = nn.TripletMarginLoss(margin=1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 8, gamma=0.1, last_epoch=-1)

    def stacked_triplet_loss(out, _target):
        return loss_fn(out[:, 0], out[:, 1], out[:, 2])

    def train_epoch(w):
        model.train()
        for data, _target in triplet_train_loader:
            optimizer.zero_grad()
            outputs = model(*data)
            loss = loss_fn(*outputs)
            loss.backward()
            optimizer.step()
            w.log(loss=loss)

    def test_epoch():
        model.eval()
        with torch.no_grad():
            losses = [loss_fn(*model(*data)).item() for data, _ in triplet_test_loader]
        return sum(losses) / len(losses)

    def loop(w):
        for _epoch in range(6):
            train_epoch(w)
            scheduler.step()
            w.log(val_loss=test_epoch())

    return Setup(
        model=model,
        data=triplet_train_loader,
        loss_fn=stacked_triplet_loss,
        optimizer=optimizer,
        val=triplet_test_loader,
        loop=loop,
        check={
            "batch_fn": lambda b: (tuple(b[0]), b[1]),
            "output_fn": lambda out: torch.stack(out, dim=1),
        },
    )
