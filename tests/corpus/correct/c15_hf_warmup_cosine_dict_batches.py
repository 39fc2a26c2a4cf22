"""The Hugging Face "full training loop in native PyTorch" shape: a Dataset of dict examples, a model
called as ``model(**batch)`` that returns an output object with ``.loss`` and ``.logits``, AdamW,
and a LambdaLR schedule with linear warm-up from 0 and cosine decay to 0 (transformers'
``get_cosine_schedule_with_warmup``), stepped after every optimizer step over
``num_training_steps = num_epochs * len(train_dataloader)``. The kit is told what a user must tell
it: ``batch_fn`` / ``output_fn`` for the dict batches and output object, and the schedule as
``scheduler=`` with ``steps=num_training_steps``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader, Dataset

from corpus import Setup

SOURCE = "https://huggingface.co/learn/nlp-course/chapter3/4"


def get_cosine_schedule_with_warmup(
    optimizer, num_warmup_steps, num_training_steps, num_cycles=0.5
):
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        progress = float(current_step - num_warmup_steps) / float(
            max(1, num_training_steps - num_warmup_steps)
        )
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))

    return LambdaLR(optimizer, lr_lambda)


@dataclass
class SequenceClassifierOutput:
    loss: torch.Tensor | None
    logits: torch.Tensor


class DigitsForClassification(nn.Module):
    def __init__(self, hidden_size=96, num_labels=10, dropout=0.1):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, hidden_size), nn.GELU(), nn.Dropout(dropout))
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, pixel_values, labels=None):
        logits = self.classifier(self.encoder(pixel_values))
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


class DigitsDataset(Dataset):
    def __init__(self, pixels, labels):
        self.pixels, self.labels = pixels, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"pixel_values": self.pixels[i], "labels": self.labels[i]}


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target)
    train_dataloader = DataLoader(DigitsDataset(X[:1400], y[:1400]), shuffle=True, batch_size=32)
    eval_dataloader = DataLoader(DigitsDataset(X[1400:], y[1400:]), batch_size=64)

    model = DigitsForClassification()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    num_epochs = 5
    num_training_steps = num_epochs * len(train_dataloader)
    num_warmup_steps = int(0.1 * num_training_steps)
    lr_scheduler = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps)

    def loop(w):
        model.train()
        for _epoch in range(num_epochs):
            for batch in train_dataloader:
                outputs = model(**batch)
                loss = outputs.loss
                loss.backward()
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
                w.log(loss=loss)
            model.eval()
            losses = []
            for batch in eval_dataloader:
                with torch.no_grad():
                    losses.append(model(**batch).loss.item())
            w.log(val_loss=sum(losses) / len(losses))
            model.train()

    return Setup(
        model=model,
        data=train_dataloader,
        loss_fn=F.cross_entropy,
        optimizer=optimizer,
        val=eval_dataloader,
        loop=loop,
        check={
            "batch_fn": lambda b: ({"pixel_values": b["pixel_values"]}, b["labels"]),
            "output_fn": lambda out: out.logits,
            "scheduler": lambda opt: get_cosine_schedule_with_warmup(
                opt, num_warmup_steps, num_training_steps
            ),
            "steps": num_training_steps,
        },
    )
