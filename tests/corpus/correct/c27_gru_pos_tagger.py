"""A part-of-speech tagger in the style of bentrevett's pytorch-pos-tagging, with a
bidirectional GRU in place of the LSTM: embeddings -> BiGRU -> dropout -> per-token linear
layer. Sentences are padded to one length with token id 0 and their tags with -100, the
default ``ignore_index`` of ``nn.CrossEntropyLoss``, so padding is neither a class nor counted
in the loss; the ``(B, T, C)`` logits are permuted to ``(B, C, T)`` for the loss, and the
accuracy skips padded positions. The tagged sentences are generated from templates in which
some words ("can", "run", "watch") are a noun or a verb depending on their neighbours."""

from __future__ import annotations

import random

import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/bentrevett/pytorch-pos-tagging/blob/master/1%20-%20BiLSTM%20for%20PoS%20Tagging.ipynb"

LEXICON = {
    "DET": ["the", "a", "this", "every"],
    "NOUN": ["dog", "cat", "man", "idea", "house", "can", "run", "watch"],
    "VERB": ["sees", "likes", "can", "run", "watch", "eats"],
    "ADJ": ["big", "old", "green", "quick"],
    "PRON": ["i", "you", "they", "we"],
    "ADP": ["in", "on", "near"],
    "PUNCT": ["."],
}
TEMPLATES = [
    ["DET", "NOUN", "VERB", "DET", "NOUN", "PUNCT"],
    ["DET", "ADJ", "NOUN", "VERB", "DET", "NOUN", "ADP", "DET", "NOUN", "PUNCT"],
    ["PRON", "VERB", "DET", "ADJ", "NOUN", "PUNCT"],
    ["PRON", "VERB", "PUNCT"],
    ["DET", "NOUN", "ADP", "DET", "NOUN", "VERB", "PRON", "PUNCT"],
]
TAGS = sorted(LEXICON)
TAG_PAD_IDX = -100  # ignored by nn.CrossEntropyLoss


def tagged_sentences(n, rnd):
    out = []
    for _ in range(n):
        tags = rnd.choice(TEMPLATES)
        out.append([(rnd.choice(LEXICON[t]), t) for t in tags])
    return out


class BiGRUPOSTagger(nn.Module):
    def __init__(
        self,
        input_dim,
        embedding_dim,
        hidden_dim,
        output_dim,
        n_layers,
        bidirectional,
        dropout,
        pad_idx,
    ):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, embedding_dim, padding_idx=pad_idx)
        self.gru = nn.GRU(
            embedding_dim,
            hidden_dim,
            num_layers=n_layers,
            bidirectional=bidirectional,
            dropout=dropout if n_layers > 1 else 0,
            batch_first=True,
        )
        self.fc = nn.Linear(hidden_dim * 2 if bidirectional else hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text):
        # text = [batch size, sent len]
        embedded = self.dropout(self.embedding(text))
        outputs, hidden = self.gru(embedded)
        # outputs = [batch size, sent len, hid dim * n directions]
        predictions = self.fc(self.dropout(outputs))
        # predictions = [batch size, sent len, output dim]
        return predictions


def categorical_accuracy(preds, y, tag_pad_idx):
    max_preds = preds.argmax(dim=-1, keepdim=True)
    non_pad_elements = (y != tag_pad_idx).nonzero(as_tuple=True)
    correct = max_preds.squeeze(-1)[non_pad_elements].eq(y[non_pad_elements])
    return correct.sum() / y[non_pad_elements].shape[0]


def make() -> Setup:
    SEED = 1234
    rnd = random.Random(SEED)
    torch.manual_seed(SEED)
    train_sents, valid_sents = tagged_sentences(1200, rnd), tagged_sentences(200, rnd)

    words = sorted({w for s in train_sents + valid_sents for w, _ in s})
    PAD_IDX = 0
    word2idx = {w: i + 1 for i, w in enumerate(words)}  # 0 is <pad>
    tag2idx = {t: i for i, t in enumerate(TAGS)}
    max_len = max(len(s) for s in train_sents + valid_sents)

    def tensorize(sents):
        text = torch.full((len(sents), max_len), PAD_IDX, dtype=torch.long)
        tags = torch.full((len(sents), max_len), TAG_PAD_IDX, dtype=torch.long)
        for i, s in enumerate(sents):
            text[i, : len(s)] = torch.tensor([word2idx[w] for w, _ in s])
            tags[i, : len(s)] = torch.tensor([tag2idx[t] for _, t in s])
        return TensorDataset(text, tags)

    train_iterator = DataLoader(tensorize(train_sents), batch_size=64, shuffle=True)
    valid_iterator = DataLoader(tensorize(valid_sents), batch_size=64)

    model = BiGRUPOSTagger(
        len(word2idx) + 1,
        32,
        32,
        len(TAGS),
        n_layers=1,
        bidirectional=True,
        dropout=0.25,
        pad_idx=PAD_IDX,
    )

    def init_weights(m):
        for name, param in m.named_parameters():
            nn.init.normal_(param.data, mean=0, std=0.1)

    model.apply(init_weights)
    model.embedding.weight.data[PAD_IDX] = torch.zeros(32)

    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    criterion = nn.CrossEntropyLoss(ignore_index=TAG_PAD_IDX)

    def tag_loss(predictions, tags):
        # CrossEntropyLoss wants the classes on dim 1: [batch size, n tags, sent len]
        return criterion(predictions.permute(0, 2, 1), tags)

    def train(w, model, iterator, optimizer):
        epoch_loss, epoch_acc = 0.0, 0.0
        model.train()
        for text, tags in iterator:
            optimizer.zero_grad()
            predictions = model(text)
            loss = tag_loss(predictions, tags)
            acc = categorical_accuracy(predictions, tags, TAG_PAD_IDX)
            loss.backward()
            optimizer.step()
            w.log(loss=loss)
            epoch_loss += loss.item()
            epoch_acc += acc.item()
        return epoch_loss / len(iterator), epoch_acc / len(iterator)

    def evaluate(model, iterator):
        epoch_loss, epoch_acc = 0.0, 0.0
        model.eval()
        with torch.no_grad():
            for text, tags in iterator:
                predictions = model(text)
                epoch_loss += tag_loss(predictions, tags).item()
                epoch_acc += categorical_accuracy(predictions, tags, TAG_PAD_IDX).item()
        return epoch_loss / len(iterator), epoch_acc / len(iterator)

    def loop(w):
        N_EPOCHS = 6
        best_valid_loss = float("inf")
        for epoch in range(N_EPOCHS):
            train_loss, train_acc = train(w, model, train_iterator, optimizer)
            valid_loss, valid_acc = evaluate(model, valid_iterator)
            w.log(val_loss=valid_loss)
            if valid_loss < best_valid_loss:
                best_valid_loss = valid_loss

    return Setup(
        model=model,
        data=train_iterator,
        loss_fn=tag_loss,
        optimizer=optimizer,
        val=valid_iterator,
        loop=loop,
    )
