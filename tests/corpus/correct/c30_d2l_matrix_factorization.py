"""d2l.ai's matrix factorization recommender: user and item latent factors ``P`` / ``Q`` as
``nn.Embedding`` tables (init N(0, 0.01)) plus per-user and per-item bias embeddings (init 0);
the predicted rating is ``P_u . Q_i + b_u + b_i`` and the loss is the squared error on the
observed ratings, trained with Adam and weight decay over shuffled mini-batches of
``(user, item, rating)`` triples, with the test RMSE reported after each epoch. Ratings are
generated from a rank-3 ground truth plus noise on a 1..5 scale instead of MovieLens 100K."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://d2l.ai/chapter_recommender-systems/mf.html"


class MF(nn.Module):
    def __init__(self, num_factors, num_users, num_items):
        super().__init__()
        self.P = nn.Embedding(num_users, num_factors)
        self.Q = nn.Embedding(num_items, num_factors)
        self.user_bias = nn.Embedding(num_users, 1)
        self.item_bias = nn.Embedding(num_items, 1)
        nn.init.normal_(self.P.weight, std=0.01)
        nn.init.normal_(self.Q.weight, std=0.01)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, user_id, item_id):
        P_u = self.P(user_id)
        Q_i = self.Q(item_id)
        b_u = self.user_bias(user_id)
        b_i = self.item_bias(item_id)
        outputs = (P_u * Q_i).sum(dim=1) + b_u.squeeze(1) + b_i.squeeze(1)
        return outputs.flatten()


def synthetic_ratings(num_users, num_items, n, rs):
    U = rs.normal(0, 1, (num_users, 3))
    V = rs.normal(0, 1, (num_items, 3))
    ub, ib = rs.normal(0, 0.5, num_users), rs.normal(0, 0.5, num_items)
    pairs = rs.choice(num_users * num_items, size=n, replace=False)
    users, items = pairs // num_items, pairs % num_items
    raw = 3.5 + (U[users] * V[items]).sum(1) * 0.6 + ub[users] + ib[items] + rs.normal(0, 0.3, n)
    ratings = np.clip(np.round(raw), 1, 5)
    return users, items, ratings


def make() -> Setup:
    torch.manual_seed(0)
    rs = np.random.RandomState(0)
    num_users, num_items = 120, 90
    users, items, ratings = synthetic_ratings(num_users, num_items, 4000, rs)
    # split_data_ml100k(mode='random', test_ratio=0.1)
    mask = rs.rand(len(users)) < 0.9
    to_t = lambda a, dt: torch.tensor(a, dtype=dt)  # noqa: E731
    train_set = TensorDataset(
        to_t(users[mask], torch.long),
        to_t(items[mask], torch.long),
        to_t(ratings[mask], torch.float32),
    )
    test_set = TensorDataset(
        to_t(users[~mask], torch.long),
        to_t(items[~mask], torch.long),
        to_t(ratings[~mask], torch.float32),
    )
    train_iter = DataLoader(train_set, batch_size=256, shuffle=True)
    test_iter = DataLoader(test_set, batch_size=256)

    net = MF(30, num_users, num_items)
    lr, num_epochs, wd = 0.01, 12, 1e-5
    loss = nn.MSELoss()
    trainer = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)

    def evaluator(net, test_iter):
        net.eval()
        se, n = 0.0, 0
        with torch.no_grad():
            for u, i, r in test_iter:
                r_hat = net(u, i)
                se += ((r_hat - r) ** 2).sum().item()
                n += r.numel()
        net.train()
        return float(np.sqrt(se / n))

    def train_recsys_rating(w):
        for epoch in range(num_epochs):
            net.train()
            for u, i, r in train_iter:
                trainer.zero_grad()
                l = loss(net(u, i), r)  # noqa: E741
                l.backward()
                trainer.step()
                w.log(loss=l)
            test_rmse = evaluator(net, test_iter)
            w.log(val_loss=test_rmse**2)

    return Setup(
        model=net,
        data=train_iter,
        loss_fn=loss,
        optimizer=trainer,
        val=test_iter,
        loop=train_recsys_rating,
    )
