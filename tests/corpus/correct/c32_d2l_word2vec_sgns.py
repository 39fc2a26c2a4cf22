"""d2l.ai's word2vec pretraining: skip-gram with negative sampling. Every center word is paired
with the words in its context window and K noise words per context word drawn from the unigram
distribution raised to 0.75; the model holds two embedding tables (center ``embed_v`` and
context ``embed_u``), scores each (center, context-or-noise) pair by a dot product computed
with ``torch.bmm``, and is trained with binary cross-entropy on the logits (1 for context,
0 for noise) using Adam. Here the window has a fixed size, so no padding mask is needed, and
the corpus is generated from topic-coherent sentences instead of PTB."""

from __future__ import annotations

import collections
import random

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://d2l.ai/chapter_natural-language-processing-pretraining/word2vec-pretraining.html"

TOPICS = [
    "river bank water fish boat shore stream bridge",
    "bank money loan credit interest account cash deposit",
    "music song guitar drum band concert singer melody",
    "school teacher student class exam lesson book homework",
    "doctor nurse hospital patient medicine health clinic fever",
]
FILLER = "the a is of and to in it".split()


def generate_corpus(n_sentences, rnd):
    sentences = []
    for _ in range(n_sentences):
        words = TOPICS[rnd.randrange(len(TOPICS))].split()
        sent = []
        for _ in range(rnd.randint(8, 14)):
            sent.append(rnd.choice(words) if rnd.random() < 0.7 else rnd.choice(FILLER))
        sentences.append(sent)
    return sentences


class RandomGenerator:
    """Randomly draw among {1, ..., n} according to n sampling weights."""

    def __init__(self, sampling_weights, rnd):
        self.population = list(range(1, len(sampling_weights) + 1))
        self.sampling_weights = sampling_weights
        self.candidates = []
        self.i = 0
        self.rnd = rnd

    def draw(self):
        if self.i == len(self.candidates):
            # cache 10000 random sampling results
            self.candidates = self.rnd.choices(self.population, self.sampling_weights, k=10000)
            self.i = 0
        self.i = self.i + 1
        return self.candidates[self.i - 1]


class SkipGram(nn.Module):
    def __init__(self, vocab_size, embed_size):
        super().__init__()
        self.embed_v = nn.Embedding(vocab_size, embed_size)  # center words
        self.embed_u = nn.Embedding(vocab_size, embed_size)  # context and noise words

    def forward(self, center, contexts_and_negatives):
        v = self.embed_v(center)  # (batch, 1, embed)
        u = self.embed_u(contexts_and_negatives)  # (batch, L, embed)
        pred = torch.bmm(v, u.permute(0, 2, 1))  # (batch, 1, L)
        return pred.squeeze(1)


def make() -> Setup:
    rnd = random.Random(0)
    torch.manual_seed(0)
    sentences = generate_corpus(600, rnd)
    counter = collections.Counter(tok for line in sentences for tok in line)
    idx_to_token = ["<unk>"] + sorted(counter)
    token_to_idx = {t: i for i, t in enumerate(idx_to_token)}
    corpus = [[token_to_idx[t] for t in line] for line in sentences]

    window, K = 2, 5
    sampling_weights = [counter[idx_to_token[i]] ** 0.75 for i in range(1, len(idx_to_token))]
    generator = RandomGenerator(sampling_weights, rnd)

    centers, contexts_negatives, labels = [], [], []
    for line in corpus:
        for i in range(window, len(line) - window):
            context = line[i - window : i] + line[i + 1 : i + 1 + window]
            negatives = []
            while len(negatives) < len(context) * K:
                neg = generator.draw()
                if neg not in context:  # noise words cannot be context words
                    negatives.append(neg)
            centers.append([line[i]])
            contexts_negatives.append(context + negatives)
            labels.append([1.0] * len(context) + [0.0] * len(negatives))
    centers = torch.tensor(centers)
    contexts_negatives = torch.tensor(contexts_negatives)
    labels = torch.tensor(labels)
    data_iter = DataLoader(
        TensorDataset(centers, contexts_negatives, labels), batch_size=128, shuffle=True
    )

    embed_size = 32
    net = SkipGram(len(idx_to_token), embed_size)

    def init_weights(module):
        if type(module) is nn.Embedding:
            nn.init.xavier_uniform_(module.weight)

    net.apply(init_weights)
    lr, num_epochs = 0.005, 3
    loss = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)

    def train(w):
        for epoch in range(num_epochs):
            metric_sum, metric_n = 0.0, 0
            for center, context_negative, label in data_iter:
                optimizer.zero_grad()
                pred = net(center, context_negative)
                l = loss(pred.reshape(label.shape).float(), label.float())  # noqa: E741
                l.backward()
                optimizer.step()
                w.log(loss=l)
                metric_sum += l.item() * label.shape[0]
                metric_n += label.shape[0]

    return Setup(model=net, data=data_iter, loss_fn=loss, optimizer=optimizer, loop=train)
