"""A linear/MLP forecaster (DLinear-like) on sliding windows of a seasonal series, trained with
Adam and ``ExponentialLR(gamma=args.lr_decay)`` stepped once per epoch. As in the report, the
default ``lr_decay=0.5`` halves the learning rate every epoch: it is below 1% of its start after
7 of the 30 epochs (the reporter saw 1.8e-10 at epoch 258 of 1000), and the remaining epochs
barely move the weights while the log keeps printing. The user passes the scheduler to
``rw.check`` as ``scheduler=`` with ``steps=`` the number of scheduler steps (epochs). The fix
is a decay matched to the run length (here 0.9)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from corpus import Expect, Setup

SOURCE = "https://github.com/ustc-time-series/TimeDART/issues/17"
EXPECT = Expect("lr_schedule", "lr_collapsed", says=r"schedul|decay")


class Dataset_Custom(Dataset):
    def __init__(self, series, seq_len, pred_len):
        self.data = series.astype(np.float32)
        self.seq_len, self.pred_len = seq_len, pred_len

    def __len__(self):
        return len(self.data) - self.seq_len - self.pred_len + 1

    def __getitem__(self, index):
        s_end = index + self.seq_len
        return (
            torch.from_numpy(self.data[index:s_end]),
            torch.from_numpy(self.data[s_end : s_end + self.pred_len]),
        )


class Model(nn.Module):
    def __init__(self, configs):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(configs.seq_len, configs.d_model), nn.GELU(), nn.Dropout(configs.dropout)
        )
        self.projection = nn.Linear(configs.d_model, configs.pred_len)

    def forward(self, x_enc):
        means = x_enc.mean(1, keepdim=True)  # instance normalisation, as in most TS models
        return self.projection(self.backbone(x_enc - means)) + means


def make(fixed: bool) -> Setup:
    torch.manual_seed(2024)
    rng = np.random.RandomState(2024)
    args = SimpleNamespace(
        seq_len=48,
        pred_len=12,
        d_model=64,
        dropout=0.1,
        batch_size=128,
        learning_rate=1e-3,
        train_epochs=30,
        lr_decay=0.9 if fixed else 0.5,
    )
    t = np.arange(1400)
    series = (
        np.sin(2 * np.pi * t / 24)
        + 0.5 * np.sin(2 * np.pi * t / 168)
        + 0.002 * t
        + 0.2 * rng.randn(len(t))
    )
    series = (series - series[:1000].mean()) / series[:1000].std()
    train_data = Dataset_Custom(series[:1000], args.seq_len, args.pred_len)
    vali_data = Dataset_Custom(series[1000 - args.seq_len :], args.seq_len, args.pred_len)
    train_loader = DataLoader(train_data, batch_size=args.batch_size, shuffle=True, drop_last=True)
    vali_loader = DataLoader(vali_data, batch_size=args.batch_size, shuffle=False)

    model = Model(args)
    criterion = nn.MSELoss()
    model_optim = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(model_optim, gamma=args.lr_decay)

    def vali():
        total_loss = []
        model.eval()
        with torch.no_grad():
            for batch_x, batch_y in vali_loader:
                total_loss.append(criterion(model(batch_x), batch_y).item())
        model.train()
        return np.average(total_loss)

    def loop(w):
        for _epoch in range(args.train_epochs):
            train_loss = []
            model.train()
            for _i, (batch_x, batch_y) in enumerate(train_loader):
                model_optim.zero_grad()
                outputs = model(batch_x)
                loss = criterion(outputs, batch_y)
                train_loss.append(loss.item())
                loss.backward()
                model_optim.step()
                w.log(loss=loss)
            w.log(val_loss=vali())
            scheduler.step()

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=model_optim,
        val=vali_loader,
        loop=loop,
        check={
            "scheduler": lambda opt: torch.optim.lr_scheduler.ExponentialLR(
                opt, gamma=args.lr_decay
            ),
            "steps": args.train_epochs,
        },
    )
