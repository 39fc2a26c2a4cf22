"""A sentence classifier built on the Sentence-VAE encoder: embedding, a bidirectional GRU with
``batch_first=True``, and the final hidden state flattened to ``(batch, 2 * hidden)`` with
``hidden.view(batch_size, hidden_size * hidden_factor)``. The issue points out that the GRU's
hidden state is ``(num_layers * num_directions, batch, hidden)`` even with ``batch_first``, so
the view glues together the states of two *different* sentences and splits each sentence over
two rows: every prediction is made from other examples of the batch. Shapes match and nothing
errors; the net just cannot learn the labels. The fix moves the batch axis first
(``hidden.transpose(0, 1)``) before the reshape."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/timbmg/Sentence-VAE/issues/15"
EXPECT = Expect("batch_independence", says=r"permute|batch")


class SentenceClassifier(nn.Module):
    def __init__(
        self,
        vocab_size,
        embedding_size,
        hidden_size,
        num_classes,
        bidirectional=True,
        num_layers=1,
        fixed=False,
    ):
        super().__init__()
        self.fixed = fixed
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.encoder_rnn = nn.GRU(
            embedding_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=self.bidirectional,
            batch_first=True,
        )
        self.hidden_factor = (2 if bidirectional else 1) * num_layers
        self.hidden2logits = nn.Linear(hidden_size * self.hidden_factor, num_classes)

    def forward(self, input_sequence):
        batch_size = input_sequence.size(0)
        input_embedding = self.embedding(input_sequence)
        _, hidden = self.encoder_rnn(input_embedding)

        if self.bidirectional or self.num_layers > 1:
            # flatten hidden state
            if self.fixed:
                hidden = hidden.transpose(0, 1).contiguous()
            hidden = hidden.view(batch_size, self.hidden_size * self.hidden_factor)
        else:
            hidden = hidden.squeeze()

        return self.hidden2logits(hidden)


def make(fixed: bool) -> Setup:
    torch.manual_seed(42)
    g = torch.Generator().manual_seed(42)
    # token 1 = "good", token 2 = "bad"; a sentence is positive when it says "good" more often
    sentences = torch.randint(3, 30, (1216, 12), generator=g)
    marks = torch.randint(0, 3, (1216, 12), generator=g)
    sentences = torch.where(torch.rand(1216, 12, generator=g) < 0.3, marks, sentences)
    sentences[sentences == 0] = 3
    labels = ((sentences == 1).sum(1) > (sentences == 2).sum(1)).long()
    datasets = {
        "train": TensorDataset(sentences[:960], labels[:960]),
        "valid": TensorDataset(sentences[960:], labels[960:]),
    }
    train_loader = DataLoader(datasets["train"], batch_size=32, shuffle=True)
    valid_loader = DataLoader(datasets["valid"], batch_size=64, shuffle=False)

    model = SentenceClassifier(
        vocab_size=30, embedding_size=16, hidden_size=24, num_classes=2, fixed=fixed
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    loss_fn = nn.CrossEntropyLoss()

    def loop(w):
        for _epoch in range(5):
            for split, loader in (("train", train_loader), ("valid", valid_loader)):
                if split == "train":
                    model.train()
                else:
                    model.eval()
                total = 0.0
                for batch, target in loader:
                    with torch.set_grad_enabled(split == "train"):
                        logits = model(batch)
                        loss = loss_fn(logits, target)
                    if split == "train":
                        optimizer.zero_grad()
                        loss.backward()
                        optimizer.step()
                        w.log(loss=loss)
                    total += loss.item() * len(target)
                if split == "valid":
                    w.log(val_loss=total / len(datasets["valid"]))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=loss_fn,
        optimizer=optimizer,
        val=valid_loader,
        loop=loop,
    )
