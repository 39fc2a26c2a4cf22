"""makemore part 1, the bigram model "as a neural net": the previous character is one-hot encoded
and multiplied by a single 27x27 weight matrix ``W`` to give log-counts, which are exponentiated
and normalised into next-character probabilities; the loss is the average negative log
likelihood of the next character. Training is full-batch gradient descent with a big step
(``W.data += -50 * W.grad``) and a small L2 pull of ``W`` towards zero, with no optimizer object,
so the user hands ``rw.check`` an optimizer factory matching the manual update. The names are
generated from a seeded list of syllables instead of names.txt."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from corpus import Setup

SOURCE = "https://github.com/karpathy/nn-zero-to-hero/blob/master/lectures/makemore/makemore_part1_bigrams.ipynb"

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
]
ENDINGS = ["", "", "", "n", "a", "h", "y", "s"]


def make_words(n, rs):
    words = []
    for _ in range(n):
        k = rs.randint(1, 4)
        words.append("".join(rs.choice(SYLLABLES, size=k)) + rs.choice(ENDINGS))
    return words


class BigramNet(nn.Module):
    """W holds the log-counts: row i is the logits of the character that follows character i."""

    def __init__(self, vocab_size, g):
        super().__init__()
        self.W = nn.Parameter(torch.randn((vocab_size, vocab_size), generator=g))

    def forward(self, xs):
        xenc = F.one_hot(xs, num_classes=self.W.shape[0]).float()  # input to the network
        return xenc @ self.W  # predict log-counts


def nll(logits, ys):
    counts = logits.exp()  # equivalent to the N matrix
    probs = counts / counts.sum(1, keepdims=True)  # probabilities for the next character
    return -probs[torch.arange(ys.shape[0]), ys].log().mean()


def make() -> Setup:
    rs = np.random.RandomState(42)
    words = make_words(1500, rs)
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0

    # create the training set of bigrams (x, y)
    xs, ys = [], []
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs = torch.tensor(xs)
    ys = torch.tensor(ys)

    g = torch.Generator().manual_seed(2147483647)
    net = BigramNet(len(stoi), g)

    def loop(w):
        # gradient descent
        for k in range(100):
            # forward pass
            logits = net(xs)
            loss = nll(logits, ys) + 0.01 * (net.W**2).mean()
            # backward pass
            net.W.grad = None  # set to zero the gradient
            loss.backward()
            # update
            net.W.data += -50 * net.W.grad
            w.log(step=k, loss=loss)

    # no optimizer object in the notebook: the user describes the manual update as a factory
    return Setup(
        model=net,
        data=(xs, ys),
        loss_fn=nll,
        optimizer=lambda params: torch.optim.SGD(params, lr=50),
        loop=loop,
    )
