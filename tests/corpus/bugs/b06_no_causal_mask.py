"""The PyTorch word-level language-modeling tutorial (``nn.TransformerEncoder`` with
positional encoding, ``src_mask=None`` by default), here batch-first on sequences from a small
Markov-chain "language". The issue: the tutorial trained the encoder as a language model
without a causal ``src_mask``, so each position attends to the next token, which is its own
target. The loss and perplexity look excellent (they fall far below the entropy of the
language) but the model is useless for generation. The fix (the tutorial's patch) passes
``nn.Transformer.generate_square_subsequent_mask(seq_len)``. The user does not tell the kit the
model is causal."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import TransformerEncoder, TransformerEncoderLayer
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/pytorch/tutorials/issues/2478"
EXPECT = Expect("causality", says=r"future|causal")


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: Tensor, shape ``[batch_size, seq_len, embedding_dim]``"""
        x = x + self.pe[:, : x.size(1)]
        return self.dropout(x)


class TransformerModel(nn.Module):
    def __init__(
        self,
        ntoken: int,
        d_model: int,
        nhead: int,
        d_hid: int,
        nlayers: int,
        dropout: float = 0.1,
        fixed: bool = False,
    ):
        super().__init__()
        self.model_type = "Transformer"
        self.fixed = fixed
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout, batch_first=True)
        self.transformer_encoder = TransformerEncoder(
            encoder_layers, nlayers, enable_nested_tensor=False
        )
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)
        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.1
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.linear.bias.data.zero_()
        self.linear.weight.data.uniform_(-initrange, initrange)

    def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
        """``src``: ``[batch_size, seq_len]``; returns ``[batch_size, seq_len, ntoken]``"""
        if src_mask is None and self.fixed:
            # the tutorial's fix: a square causal mask when none is given
            src_mask = nn.Transformer.generate_square_subsequent_mask(src.size(1))
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src, src_mask)
        output = self.linear(output)
        return output


def make(fixed: bool) -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    ntokens, bptt = 16, 12
    # a sparse random Markov chain: each token has 3 likely successors
    logits = torch.full((ntokens, ntokens), -4.0)
    for t in range(ntokens):
        logits[t, torch.randperm(ntokens, generator=g)[:3]] = 1.0
    trans = logits.softmax(-1)
    seqs = torch.empty(1280, bptt + 1, dtype=torch.long)
    seqs[:, 0] = torch.randint(ntokens, (1280,), generator=g)
    for t in range(bptt):
        seqs[:, t + 1] = torch.multinomial(trans[seqs[:, t]], 1, generator=g).squeeze(1)
    train_data = TensorDataset(seqs[:1024, :-1], seqs[:1024, 1:])
    val_data = TensorDataset(seqs[1024:, :-1], seqs[1024:, 1:])
    train_loader = DataLoader(train_data, batch_size=32, shuffle=True)
    val_loader = DataLoader(val_data, batch_size=64)

    model = TransformerModel(
        ntokens, d_model=32, nhead=2, d_hid=64, nlayers=1, dropout=0.1, fixed=fixed
    )
    criterion = nn.CrossEntropyLoss()

    def lm_loss(output, targets):
        return criterion(output.view(-1, ntokens), targets.reshape(-1))

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def loop(w):
        for _epoch in range(5):
            model.train()
            for data, targets in train_loader:
                output = model(data)
                loss = lm_loss(output, targets)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                optimizer.step()
                w.log(loss=loss)
            model.eval()
            total_loss = 0.0
            with torch.no_grad():
                for data, targets in val_loader:
                    total_loss += len(data) * lm_loss(model(data), targets).item()
            w.log(val_loss=total_loss / len(val_data))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=lm_loss,
        optimizer=optimizer,
        val=val_loader,
        loop=loop,
    )
