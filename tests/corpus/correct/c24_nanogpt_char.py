"""nanoGPT's ``train.py`` + ``model.py`` shrunk to a 2-layer character GPT (block_size 16) on a
generated character stream: causal self-attention masked by a ``torch.tril`` buffer, pre-norm
blocks, tied input/output embeddings, random ``get_batch`` windows with next-token targets,
AdamW with weight-decay / no-decay parameter groups, a warmup + cosine ``get_lr(it)`` written
into ``param_group['lr']`` by hand, grad clipping at 1.0 and an ``estimate_loss()`` helper
every ``eval_interval`` iterations. As in nanoGPT, ``forward(idx)`` without targets returns only
the last position's logits, so the user feeds the targets through ``batch_fn`` to get the full
``(B, T, vocab)`` logits, declares the model causal and hands the schedule to ``rw.check``."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from corpus import Setup

SOURCE = "https://github.com/karpathy/nanoGPT/blob/master/train.py"


class LayerNorm(nn.Module):
    """LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False"""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config["n_embd"] % config["n_head"] == 0
        self.c_attn = nn.Linear(config["n_embd"], 3 * config["n_embd"], bias=config["bias"])
        self.c_proj = nn.Linear(config["n_embd"], config["n_embd"], bias=config["bias"])
        self.attn_dropout = nn.Dropout(config["dropout"])
        self.resid_dropout = nn.Dropout(config["dropout"])
        self.n_head = config["n_head"]
        self.n_embd = config["n_embd"]
        bs = config["block_size"]
        # causal mask to ensure that attention is only applied to the left in the input sequence
        self.register_buffer("bias", torch.tril(torch.ones(bs, bs)).view(1, 1, bs, bs))

    def forward(self, x):
        B, T, C = x.size()  # batch size, sequence length, embedding dimensionality (n_embd)
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        # manual implementation of attention
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = (
            y.transpose(1, 2).contiguous().view(B, T, C)
        )  # re-assemble all head outputs side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config["n_embd"], 4 * config["n_embd"], bias=config["bias"])
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config["n_embd"], config["n_embd"], bias=config["bias"])
        self.dropout = nn.Dropout(config["dropout"])

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config["n_embd"], bias=config["bias"])
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config["n_embd"], bias=config["bias"])
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config["vocab_size"], config["n_embd"]),
                wpe=nn.Embedding(config["block_size"], config["n_embd"]),
                drop=nn.Dropout(config["dropout"]),
                h=nn.ModuleList([Block(config) for _ in range(config["n_layer"])]),
                ln_f=LayerNorm(config["n_embd"], bias=config["bias"]),
            )
        )
        self.lm_head = nn.Linear(config["n_embd"], config["vocab_size"], bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        # apply special scaled init to the residual projections, per GPT-2 paper
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config["n_layer"]))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        assert t <= self.config["block_size"], f"Cannot forward sequence of length {t}"
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        tok_emb = self.transformer.wte(idx)
        pos_emb = self.transformer.wpe(pos)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1
            )
        else:
            # inference-time mini-optimization: only forward the lm_head on the very last position
            logits = self.lm_head(x[:, [-1], :])
            loss = None
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        # any parameter that is 2D will be weight decayed, otherwise no.
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {"params": decay_params, "weight_decay": weight_decay},
            {"params": nodecay_params, "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)


def generate_text(n_chars, g):
    """A character stream from a tiny grammar: enough structure for a char model to learn."""
    subjects = ["the cat", "a dog", "my aunt", "the king", "one bird"]
    verbs = ["sees", "eats", "likes", "finds", "hears"]
    objects = ["the fish", "a hat", "some bread", "the moon", "a song"]
    out = []
    while sum(len(s) for s in out) < n_chars:
        i, j, k = torch.randint(0, 5, (3,), generator=g).tolist()
        out.append(f"{subjects[i]} {verbs[j]} {objects[k]}. ")
    return "".join(out)


# -----------------------------------------------------------------------------
eval_interval = 50
eval_iters = 5
batch_size = 16
block_size = 16
n_layer, n_head, n_embd, dropout, bias = 2, 2, 32, 0.0, False
learning_rate = 3e-3  # with baby networks can afford to go a bit higher
max_iters = 100
weight_decay = 1e-1
beta1, beta2 = 0.9, 0.99
grad_clip = 1.0
warmup_iters = 10
lr_decay_iters = 100  # make equal to max_iters usually
min_lr = 3e-4  # learning_rate / 10 usually
# -----------------------------------------------------------------------------


def get_lr(it):
    # 1) linear warmup for warmup_iters steps
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    # 2) if it > lr_decay_iters, return min learning rate
    if it > lr_decay_iters:
        return min_lr
    # 3) in between, use cosine decay down to min learning rate
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))  # coeff ranges 0..1
    return min_lr + coeff * (learning_rate - min_lr)


def make() -> Setup:
    torch.manual_seed(1337)
    text = generate_text(20000, torch.Generator().manual_seed(1337))
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]

    def get_batch(split):
        d = train_data if split == "train" else val_data
        ix = torch.randint(len(d) - block_size, (batch_size,))
        x = torch.stack([d[i : i + block_size] for i in ix])
        y = torch.stack([d[i + 1 : i + 1 + block_size] for i in ix])
        return x, y

    model_args = dict(
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        block_size=block_size,
        bias=bias,
        vocab_size=len(chars),
        dropout=dropout,
    )
    model = GPT(model_args)
    optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2))

    # a few hundred windows for rw.check, drawn the way training draws them
    xs, ys = zip(*[get_batch("train") for _ in range(16)])
    check_data = (torch.cat(xs), torch.cat(ys))
    xs, ys = zip(*[get_batch("val") for _ in range(8)])
    check_val = (torch.cat(xs), torch.cat(ys))

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    def loop(w):
        X, Y = get_batch("train")  # fetch the very first batch
        iter_num = 0
        while True:
            # determine and set the learning rate for this iteration
            lr = get_lr(iter_num)
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr
            # evaluate the loss on train/val sets
            if iter_num % eval_interval == 0 and iter_num > 0:
                losses = estimate_loss()
                w.log(val_loss=losses["val"])
            logits, loss = model(X, Y)
            X, Y = get_batch("train")  # prefetch the next batch
            loss.backward()
            if grad_clip != 0.0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            w.log(loss=loss)
            iter_num += 1
            if iter_num > max_iters:
                break

    def lm_loss(logits, targets):
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

    return Setup(
        model=model,
        data=check_data,
        loss_fn=lm_loss,
        optimizer=optimizer,
        val=check_val,
        check=dict(
            causal=True,
            batch_fn=lambda b: ((b[0], b[1]), b[1]),  # forward(idx, targets) -> full logits
            scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(
                opt, lambda it: get_lr(it) / learning_rate
            ),
            steps=max_iters,
        ),
        loop=loop,
    )
