"""A character-level GPT in the style of the "let's build GPT" ``gpt.py`` (token + position
embeddings, one pre-norm transformer block, AdamW, ``estimate_loss()`` every ``eval_interval``)
trained on a tiny corpus, as in the ThiruvalluvarGPT issue: the validation loss drops, flattens
and then climbs steadily while the training loss keeps falling, and the run
continues to ``max_iters`` and keeps the last weights. Nothing errors: the model memorises the
training text. The fix is early stopping: keep the weights of the best validation loss and stop
after ``patience`` evaluations without improvement."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

from corpus import Expect, Setup

SOURCE = "https://github.com/codetiger/ThiruvalluvarGPT/issues/4"
EXPECT = Expect("overfitting", says=r"stop|early|best")

batch_size, block_size, max_iters, eval_interval, eval_iters = 16, 16, 240, 20, 4
learning_rate, n_embd, n_head, dropout = 4e-3, 48, 2, 0.0
SYLLABLES = ["ka", "ru", "tha", "va", "li", "na", "ma", "pe", "rum", "ul", "ai", "yo", "ti"]


class Head(nn.Module):
    def __init__(self, head_size):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))

    def forward(self, x):
        B, T, C = x.shape
        k, q = self.key(x), self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = F.softmax(wei.masked_fill(self.tril[:T, :T] == 0, float("-inf")), dim=-1)
        return wei @ self.value(x)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleList([Head(n_embd // n_head) for _ in range(n_head)])
        self.proj = nn.Linear(n_embd, n_embd)
        self.ffwd = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd)
        )
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.proj(torch.cat([h(self.ln1(x)) for h in self.heads], dim=-1))
        return x + self.ffwd(self.ln2(x))


class GPTLanguageModel(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(Block())
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T))
        logits = self.lm_head(self.ln_f(self.blocks(x)))
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))


def make(fixed: bool) -> Setup:
    torch.manual_seed(1337)
    rs = np.random.RandomState(1337)
    lines = []
    for _ in range(40):  # a tiny corpus of short two-word lines
        words = ["".join(rs.choice(SYLLABLES, size=rs.randint(2, 4))) for _ in range(2)]
        lines.append(" ".join(words) + "\n")
    text = "".join(lines)
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.8 * len(data))
    train_data, val_data = data[:n], data[n:]
    g = torch.Generator().manual_seed(1337)

    def get_batch(split):
        d = train_data if split == "train" else val_data
        ix = torch.randint(len(d) - block_size, (batch_size,), generator=g)
        return torch.stack([d[i : i + block_size] for i in ix]), torch.stack(
            [d[i + 1 : i + block_size + 1] for i in ix]
        )

    model = GPTLanguageModel(len(chars))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                losses[k] = model(X, Y)[1].item()
            out[split] = losses.mean().item()
        model.train()
        return out

    def lm_loss(logits, targets):
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))

    def loop(w):
        best_val, best_state, bad_evals, patience = float("inf"), None, 0, 3
        for iter in range(max_iters):
            if iter % eval_interval == 0 or iter == max_iters - 1:
                losses = estimate_loss()
                w.log(val_loss=losses["val"])
                if fixed:
                    if losses["val"] < best_val:
                        best_val, best_state, bad_evals = (
                            losses["val"],
                            copy.deepcopy(model.state_dict()),
                            0,
                        )
                    else:
                        bad_evals += 1
                        if bad_evals >= patience:
                            model.load_state_dict(best_state)
                            break
            xb, yb = get_batch("train")
            logits, loss = model(xb, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            w.log(loss=loss)

    xs, ys = zip(*(get_batch("train") for _ in range(16)))
    xv, yv = zip(*(get_batch("val") for _ in range(4)))
    return Setup(
        model=model,
        data=(torch.cat(xs), torch.cat(ys)),
        loss_fn=lm_loss,
        optimizer=optimizer,
        val=(torch.cat(xv), torch.cat(yv)),
        loop=loop,
        check={"causal": True},
    )
