"""makemore parts 2-3: Bengio et al.'s character MLP. The previous ``block_size`` characters are
looked up in an embedding table ``C``, concatenated, and fed through ``Linear(bias=False) ->
BatchNorm1d -> Tanh`` layers with Kaiming-style (5/3 gain) init and a last layer scaled down by
0.1 so the net is not confidently wrong at init. Training samples random minibatches by index
for a fixed number of steps, with a step learning-rate decay written by hand, and the
train / val split losses are measured by a ``split_loss`` helper in eval mode."""

from __future__ import annotations

import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from corpus import Setup

SOURCE = "https://github.com/karpathy/nn-zero-to-hero/blob/master/lectures/makemore/makemore_part3_bn.ipynb"

SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "la",
    "an",
    "el",
    "jo",
    "sa",
    "mi",
    "ta",
    "ne",
    "ro",
    "be",
    "li",
    "da",
    "ur",
    "is",
    "ve",
    "co",
    "ya",
    "th",
    "em",
    "qu",
    "ox",
]


def make_words(n, rnd):
    out = []
    for _ in range(n):
        name = "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(1, 3)))
        if rnd.random() < 0.4:
            name += rnd.choice("nyahs")
        out.append(name)
    return out


block_size = 3  # context length: how many characters do we take to predict the next one?
n_embd = 10  # the dimensionality of the character embedding vectors
n_hidden = 64  # the number of neurons in the hidden layer of the MLP


def build_dataset(words, stoi):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    return torch.tensor(X), torch.tensor(Y)


class MLP(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.C = nn.Embedding(vocab_size, n_embd)
        self.layers = nn.Sequential(
            nn.Linear(n_embd * block_size, n_hidden, bias=False),
            nn.BatchNorm1d(n_hidden),
            nn.Tanh(),
            nn.Linear(n_hidden, n_hidden, bias=False),
            nn.BatchNorm1d(n_hidden),
            nn.Tanh(),
            nn.Linear(n_hidden, vocab_size),
        )
        with torch.no_grad():
            for layer in self.layers:
                if isinstance(layer, nn.Linear):
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="tanh")  # gain 5/3
            self.layers[-1].weight *= 0.1  # last layer: make less confident
            self.layers[-1].bias.zero_()

    def forward(self, x):
        emb = self.C(x)  # (B, block_size, n_embd)
        x = emb.view(emb.shape[0], -1)  # concatenate the vectors
        return self.layers(x)


def make() -> Setup:
    rnd = random.Random(42)
    words = make_words(1200, rnd)
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    vocab_size = len(stoi)

    random.Random(42).shuffle(words)
    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1], stoi)
    Xdev, Ydev = build_dataset(words[n1:n2], stoi)

    torch.manual_seed(2147483647)
    model = MLP(vocab_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(2147483647)

    @torch.no_grad()  # this decorator disables gradient tracking
    def split_loss(split):
        x, y = {"train": (Xtr, Ytr), "val": (Xdev, Ydev)}[split]
        model.eval()
        loss = F.cross_entropy(model(x), y)
        model.train()
        return loss.item()

    def loop(w):
        max_steps = 300
        batch_size = 32
        lossi = []
        model.train()
        for i in range(max_steps):
            # minibatch construct
            ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
            Xb, Yb = Xtr[ix], Ytr[ix]  # batch X,Y
            # forward pass
            logits = model(Xb)
            loss = F.cross_entropy(logits, Yb)  # loss function
            # backward pass
            optimizer.zero_grad()
            loss.backward()
            # update
            lr = 0.1 if i < 200 else 0.01  # step learning rate decay
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.step()
            lossi.append(loss.log10().item())
            w.log(loss=loss)
            if i % 100 == 99:
                w.log(val_loss=split_loss("val"))

    return Setup(
        model=model,
        data=(Xtr, Ytr),
        loss_fn=F.cross_entropy,
        optimizer=optimizer,
        val=(Xdev, Ydev),
        loop=loop,
    )
