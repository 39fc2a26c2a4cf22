"""A nanoGPT-style character-level GPT (one causal self-attention block) trained with AdamW,
gradient clipping and gradient accumulation over ``gradient_accumulation_steps`` micro-batches,
``get_batch('train')`` and an ``(logits, loss) = model(X, Y)`` forward. As raised against
nanoGPT's train.py, each micro-batch calls ``loss.backward()`` on the undivided mean loss, so the
accumulated gradient is the sum of 4 micro-batch means, 4x the gradient of the large batch it
stands for. Adam's normalisation and the clip hide most of it, so training looks fine. The fix
scales each micro-batch loss by ``1 / gradient_accumulation_steps`` before ``backward()``."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

from corpus import Expect, Setup

SOURCE = "https://github.com/karpathy/nanoGPT/issues/206"
EXPECT = Expect("grad_accumulation", says=r"divid|accumul")

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "dog",
    "ran",
    "to",
    "red",
    "big",
    "house",
    "and",
    "then",
    "it",
    "slept",
    "under",
    "tree",
]


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.n_head, self.n_embd = n_head, n_embd
        self.register_buffer(
            "bias",
            torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size),
        )

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size=16, n_embd=32, n_head=2):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.ln_1, self.ln_2, self.ln_f = (
            nn.LayerNorm(n_embd),
            nn.LayerNorm(n_embd),
            nn.LayerNorm(n_embd),
        )
        self.attn = CausalSelfAttention(n_embd, n_head, block_size)
        self.mlp = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd)
        )
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx, targets=None):
        pos = torch.arange(0, idx.size(1), dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def make(fixed: bool) -> Setup:
    torch.manual_seed(1337)
    rs = np.random.RandomState(1337)
    text = " ".join(rs.choice(WORDS, size=4000)) + "."
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]

    block_size, batch_size = 16, 8
    gradient_accumulation_steps, max_iters, grad_clip = 4, 60, 1.0
    g = torch.Generator().manual_seed(1337)

    def get_batch(split):
        d = train_data if split == "train" else val_data
        ix = torch.randint(len(d) - block_size, (batch_size,), generator=g)
        x = torch.stack([d[i : i + block_size] for i in ix])
        y = torch.stack([d[i + 1 : i + 1 + block_size] for i in ix])
        return x, y

    model = GPT(len(chars), block_size=block_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)

    def lm_loss(logits, targets):
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    @torch.no_grad()
    def estimate_loss():
        model.eval()
        losses = torch.zeros(5)
        for k in range(5):
            X, Y = get_batch("val")
            losses[k] = model(X, Y)[1].item()
        model.train()
        return losses.mean().item()

    def loop(w):
        X, Y = get_batch("train")
        for iter_num in range(max_iters):
            if iter_num % 20 == 0:
                w.log(val_loss=estimate_loss())
            for _micro_step in range(gradient_accumulation_steps):
                logits, loss = model(X, Y)
                if fixed:
                    loss = loss / gradient_accumulation_steps
                X, Y = get_batch("train")
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            w.log(loss=loss * gradient_accumulation_steps if fixed else loss)

    xs, ys = zip(*(get_batch("train") for _ in range(32)))
    xv, yv = zip(*(get_batch("val") for _ in range(8)))
    return Setup(
        model=model,
        data=(torch.cat(xs), torch.cat(ys)),
        loss_fn=lm_loss,
        optimizer=optimizer,
        val=(torch.cat(xv), torch.cat(yv)),
        loop=loop,
        check={"causal": True},
    )
