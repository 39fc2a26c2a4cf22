"""A small autoregressive text model (embedding + GRU + logits) over captions right-padded with
token 0 to a fixed ``text_seq_len``, with the loss taken as ``F.cross_entropy`` on the
``b n c -> b c n`` logits. As reported against DALLE-pytorch, an ``ignore_index`` was defined
but never passed, so every pad position counts: here ~75% of the targets are "predict 0 after
0", the loss falls fast on padding alone and the real tokens get a fraction of the gradient.
The fix passes ``ignore_index=0`` (the tokenizer's pad id) to the loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from corpus import Expect, Setup

SOURCE = "https://github.com/lucidrains/DALLE-pytorch/issues/57"
EXPECT = Expect("input_sanity", says=r"ignore_index|pad")


class TextDecoder(nn.Module):
    def __init__(self, num_text_tokens, dim=32):
        super().__init__()
        self.text_emb = nn.Embedding(num_text_tokens, dim)
        self.rnn = nn.GRU(dim, dim, batch_first=True)
        self.to_logits = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, num_text_tokens))

    def forward(self, text):
        out, _ = self.rnn(self.text_emb(text))
        return self.to_logits(out)


def tokenized_captions(n, text_seq_len, num_text_tokens, generator):
    """Short captions from a tiny grammar (token ids >= 1), right-padded with 0."""
    text = torch.zeros(n, text_seq_len, dtype=torch.long)
    lengths = torch.randint(2, 7, (n,), generator=generator)
    for i, length in enumerate(lengths.tolist()):
        first = torch.randint(1, num_text_tokens, (1,), generator=generator).item()
        step = torch.randint(1, 4, (1,), generator=generator).item()
        tokens = [(first + step * j - 1) % (num_text_tokens - 1) + 1 for j in range(length)]
        text[i, :length] = torch.tensor(tokens)
    return text


def make(fixed: bool) -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    num_text_tokens, text_seq_len = 24, 13
    text = tokenized_captions(640, text_seq_len, num_text_tokens, g)
    inputs, labels = text[:, :-1], text[:, 1:]
    train = (inputs[:512], labels[:512])
    val = (inputs[512:], labels[512:])

    model = TextDecoder(num_text_tokens)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    if fixed:

        def loss_fn(logits, labels):
            return F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=0)
    else:

        def loss_fn(logits, labels):
            return F.cross_entropy(logits.transpose(1, 2), labels)

    def loop(w):
        for _epoch in range(4):
            perm = torch.randperm(512, generator=g)
            for i in range(0, 512, 16):
                idx = perm[i : i + 16]
                loss = loss_fn(model(train[0][idx]), train[1][idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                w.log(loss=loss)
            with torch.no_grad():
                w.log(val_loss=loss_fn(model(val[0]), val[1]).item())

    return Setup(
        model=model,
        data=train,
        loss_fn=loss_fn,
        optimizer=opt,
        val=val,
        loop=loop,
        check={"causal": True},
    )
