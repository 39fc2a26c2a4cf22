"""A bidirectional-LSTM frame classifier in the style of Onsets and Frames: spectrogram-like
frames in, a multi-label piano roll out (BCE with logits), trained by iterations over
``cycle(loader)`` with Adam and a per-iteration StepLR. As reported for that repository,
``clip_grad_norm_`` is called after ``optimizer.step()``: the step has already used the
unclipped gradients and ``zero_grad()`` wipes the clipped ones, so the clipping never acts.
Nothing fails (the maintainer noted gradients were mostly below the threshold anyway; here the
threshold sits below this small model's typical gradient norm, so a working clip would act on
most steps). The fix clips between ``backward()`` and ``step()``."""

from __future__ import annotations

from itertools import cycle

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import clip_grad_norm_
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/jongwook/onsets-and-frames/issues/24"
EXPECT = Expect("clip_after_step", says=r"clip")


def synthetic_rolls(n, frames, notes, bins, generator):
    """Random note segments (the piano roll) rendered through fixed harmonic templates + noise."""
    roll = torch.zeros(n, frames, notes)
    starts = torch.randint(0, frames, (n, notes, 3), generator=generator)
    lengths = torch.randint(2, 5, (n, notes, 3), generator=generator)
    for i in range(n):
        for k in range(notes):
            for s, length in zip(starts[i, k].tolist(), lengths[i, k].tolist()):
                roll[i, s : s + length, k] = 1.0
    templates = torch.rand(notes, bins, generator=generator)
    mel = roll @ templates + 0.1 * torch.randn(n, frames, bins, generator=generator)
    return mel, roll


class FrameModel(nn.Module):
    def __init__(self, input_features, output_features, model_size=24):
        super().__init__()
        self.frontend = nn.Sequential(nn.Linear(input_features, model_size), nn.ReLU())
        self.lstm = nn.LSTM(model_size, model_size // 2, batch_first=True, bidirectional=True)
        self.output = nn.Linear(model_size, output_features)

    def forward(self, mel):
        x, _ = self.lstm(self.frontend(mel))
        return self.output(x)


def make(fixed: bool) -> Setup:
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(1)
    mel, roll = synthetic_rolls(320, frames=10, notes=8, bins=20, generator=g)
    loader = DataLoader(
        TensorDataset(mel[:256], roll[:256]), batch_size=16, shuffle=True, drop_last=True
    )
    validation = TensorDataset(mel[256:], roll[256:])

    iterations, clip_gradient_norm = 120, 0.05
    model = FrameModel(20, 8)
    optimizer = torch.optim.Adam(model.parameters(), lr=6e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=100, gamma=0.98)

    def frame_loss(logits, target):
        return F.binary_cross_entropy_with_logits(logits, target)

    def loop(w):
        model.train()
        for i, (batch_mel, batch_roll) in zip(range(1, iterations + 1), cycle(loader)):
            loss = frame_loss(model(batch_mel), batch_roll)
            optimizer.zero_grad()
            loss.backward()
            if fixed:
                clip_grad_norm_(model.parameters(), clip_gradient_norm)
            optimizer.step()
            scheduler.step()
            if not fixed:
                clip_grad_norm_(model.parameters(), clip_gradient_norm)
            w.log(loss=loss)
            if i % 50 == 0:
                model.eval()
                with torch.no_grad():
                    w.log(
                        val_loss=frame_loss(
                            model(validation.tensors[0]), validation.tensors[1]
                        ).item()
                    )
                model.train()

    return Setup(
        model=model, data=loader, loss_fn=frame_loss, optimizer=optimizer, val=validation, loop=loop
    )
