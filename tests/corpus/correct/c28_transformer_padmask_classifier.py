"""A sequence classifier over variable-length token sequences, as asked about on the PyTorch
forum ("is src_key_padding_mask enough for proper backprop?"): embeddings plus learned
positions go through an ``nn.TransformerEncoder`` with ``src_key_padding_mask`` marking the pad
tokens (id 0), and the sequence is summarised by a mean over the non-pad positions only, so
padding affects neither attention nor the pooled vector. Sequences are padded to a fixed
length up front and served by a ``DataLoader`` over tensors; AdamW with linear warmup
(``LambdaLR`` stepped per batch), and ``train_epoch()`` / ``evaluate()`` helpers. The task is
generated: which of three topics a sequence of words is about."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://discuss.pytorch.org/t/in-transformerencoder-is-src-key-padding-mask-enough-for-proper-backprop/215524"

PAD = 0
MAX_LEN = 24
N_TOPICS = 3
VOCAB = 60  # 1..11 filler words, then 16 words per topic


def make_sequences(n, rng):
    x = np.zeros((n, MAX_LEN), dtype=np.int64)
    y = rng.randint(0, N_TOPICS, size=n)
    for i in range(n):
        length = rng.randint(6, MAX_LEN + 1)
        seq = rng.randint(1, 12, size=length)
        k = rng.randint(2, 5)
        pos = rng.choice(length, size=k, replace=False)
        seq[pos] = 12 + 16 * y[i] + rng.randint(0, 16, size=k)
        x[i, :length] = seq
    return torch.from_numpy(x), torch.from_numpy(y)


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size, d_model=32, nhead=4, num_layers=1, num_classes=3, dropout=0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.pos = nn.Parameter(torch.zeros(1, MAX_LEN, d_model))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward=64, dropout=dropout, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, tokens):
        mask = tokens == PAD  # True where padded: ignored by attention
        x = self.embedding(tokens) + self.pos[:, : tokens.size(1)]
        x = self.encoder(x, src_key_padding_mask=mask)
        # mean over the real tokens only
        keep = (~mask).unsqueeze(-1).float()
        x = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.head(x)


def make() -> Setup:
    torch.manual_seed(42)
    rng = np.random.RandomState(42)
    x_train, y_train = make_sequences(768, rng)
    x_val, y_val = make_sequences(256, rng)
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=128)

    model = TransformerClassifier(VOCAB)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    warmup = 20
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup)
    )
    epochs = 5

    def train_epoch(w):
        model.train()
        for tokens, labels in train_loader:
            logits = model(tokens)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            w.log(loss=loss)

    @torch.no_grad()
    def evaluate():
        model.eval()
        total, correct, loss_sum = 0, 0, 0.0
        for tokens, labels in val_loader:
            logits = model(tokens)
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(-1) == labels).sum().item()
            total += labels.numel()
        return loss_sum / total, correct / total

    def loop(w):
        for epoch in range(epochs):
            train_epoch(w)
            val_loss, val_acc = evaluate()
            w.log(val_loss=val_loss)

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=F.cross_entropy,
        optimizer=optimizer,
        val=val_loader,
        check=dict(
            scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(
                opt, lambda step: min(1.0, (step + 1) / warmup)
            ),
            steps=epochs * len(train_loader),
        ),
        loop=loop,
    )
