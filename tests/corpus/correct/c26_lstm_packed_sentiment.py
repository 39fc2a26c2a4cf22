"""bentrevett's pytorch-sentiment-analysis, notebook 2 ("Recurrent Neural Networks"): a
bidirectional 2-layer LSTM classifier over variable-length token sequences. A ``collate_fn``
pads each batch with ``pad_index`` 0 and returns a dict of ``ids``, ``length`` and ``label``;
``forward(ids, length)`` packs the embedded batch with ``pack_padded_sequence(...,
enforce_sorted=False)`` so the LSTM never reads the padding, concatenates the last forward and
backward hidden states and classifies with cross-entropy. ``train()`` / ``evaluate()``
functions run each epoch and the best validation loss is kept. The reviews are generated
(positive / negative / neutral words), and the user maps the dict batches with ``batch_fn``."""

from __future__ import annotations

import collections

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from corpus import Setup

SOURCE = "https://github.com/bentrevett/pytorch-sentiment-analysis/blob/main/2%20-%20Recurrent%20Neural%20Networks.ipynb"

POSITIVE = ["great", "loved", "superb", "fun", "moving", "brilliant", "charming"]
NEGATIVE = ["boring", "awful", "dull", "hated", "mess", "weak", "tedious"]
NEUTRAL = [
    "the",
    "film",
    "plot",
    "actor",
    "was",
    "and",
    "it",
    "a",
    "scene",
    "story",
    "very",
    "music",
    "of",
    "this",
    "ending",
    "quite",
]


def make_reviews(n, rs):
    data = []
    for _ in range(n):
        label = int(rs.randint(2))
        length = int(rs.randint(4, 25))
        own, other = (POSITIVE, NEGATIVE) if label == 1 else (NEGATIVE, POSITIVE)
        tokens = list(rs.choice(NEUTRAL, size=length))
        for _ in range(int(rs.randint(1, 4))):
            tokens[int(rs.randint(length))] = str(rs.choice(own))
        if rs.rand() < 0.3:
            tokens[int(rs.randint(length))] = str(rs.choice(other))
        data.append({"tokens": tokens, "label": label})
    return data


class LSTM(nn.Module):
    def __init__(
        self,
        vocab_size,
        embedding_dim,
        hidden_dim,
        output_dim,
        n_layers,
        bidirectional,
        dropout_rate,
        pad_index,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.lstm = nn.LSTM(
            embedding_dim,
            hidden_dim,
            n_layers,
            bidirectional=bidirectional,
            dropout=dropout_rate,
            batch_first=True,
        )
        self.fc = nn.Linear(hidden_dim * 2 if bidirectional else hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, ids, length):
        # ids = [batch size, seq len]
        # length = [batch size]
        embedded = self.dropout(self.embedding(ids))
        packed_embedded = nn.utils.rnn.pack_padded_sequence(
            embedded, length, batch_first=True, enforce_sorted=False
        )
        packed_output, (hidden, cell) = self.lstm(packed_embedded)
        # hidden = [n layers * n directions, batch size, hidden dim]
        if self.lstm.bidirectional:
            hidden = self.dropout(torch.cat([hidden[-1], hidden[-2]], dim=-1))
        else:
            hidden = self.dropout(hidden[-1])
        prediction = self.fc(hidden)
        # prediction = [batch size, output dim]
        return prediction


def get_collate_fn(pad_index):
    def collate_fn(batch):
        batch_ids = [i["ids"] for i in batch]
        batch_ids = nn.utils.rnn.pad_sequence(batch_ids, padding_value=pad_index, batch_first=True)
        batch_length = torch.stack([i["length"] for i in batch])
        batch_label = torch.stack([i["label"] for i in batch])
        return {"ids": batch_ids, "length": batch_length, "label": batch_label}

    return collate_fn


def get_data_loader(dataset, batch_size, pad_index, shuffle=False):
    collate_fn = get_collate_fn(pad_index)
    return DataLoader(
        dataset=dataset, batch_size=batch_size, collate_fn=collate_fn, shuffle=shuffle
    )


def get_accuracy(prediction, label):
    batch_size, _ = prediction.shape
    predicted_classes = prediction.argmax(dim=-1)
    correct_predictions = predicted_classes.eq(label).sum()
    return correct_predictions / batch_size


def make() -> Setup:
    seed = 1234
    np.random.seed(seed)
    torch.manual_seed(seed)
    rs = np.random.RandomState(seed)
    train_raw, valid_raw = make_reviews(800, rs), make_reviews(200, rs)

    counter = collections.Counter(t for ex in train_raw for t in ex["tokens"])
    special_tokens = ["<pad>", "<unk>"]
    itos = special_tokens + [t for t, c in counter.most_common() if c >= 5]
    stoi = {t: i for i, t in enumerate(itos)}
    unk_index, pad_index = stoi["<unk>"], stoi["<pad>"]

    def numericalize(ex):
        ids = [stoi.get(t, unk_index) for t in ex["tokens"]]
        return {
            "ids": torch.tensor(ids),
            "length": torch.tensor(len(ids)),
            "label": torch.tensor(ex["label"]),
        }

    train_data = [numericalize(ex) for ex in train_raw]
    valid_data = [numericalize(ex) for ex in valid_raw]

    batch_size = 32
    train_data_loader = get_data_loader(train_data, batch_size, pad_index, shuffle=True)
    valid_data_loader = get_data_loader(valid_data, batch_size, pad_index)

    model = LSTM(
        len(itos),
        embedding_dim=32,
        hidden_dim=32,
        output_dim=2,
        n_layers=2,
        bidirectional=True,
        dropout_rate=0.5,
        pad_index=pad_index,
    )

    def initialize_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LSTM):
            for name, param in m.named_parameters():
                if "bias" in name:
                    nn.init.zeros_(param)
                elif "weight" in name:
                    nn.init.orthogonal_(param)

    model.apply(initialize_weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    criterion = nn.CrossEntropyLoss()

    def train(w, data_loader, model, criterion, optimizer):
        model.train()
        epoch_losses, epoch_accs = [], []
        for batch in data_loader:
            ids = batch["ids"]
            length = batch["length"]
            label = batch["label"]
            prediction = model(ids, length)
            loss = criterion(prediction, label)
            accuracy = get_accuracy(prediction, label)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            w.log(loss=loss)
            epoch_losses.append(loss.item())
            epoch_accs.append(accuracy.item())
        return np.mean(epoch_losses), np.mean(epoch_accs)

    def evaluate(data_loader, model, criterion):
        model.eval()
        epoch_losses, epoch_accs = [], []
        with torch.no_grad():
            for batch in data_loader:
                prediction = model(batch["ids"], batch["length"])
                loss = criterion(prediction, batch["label"])
                epoch_losses.append(loss.item())
                epoch_accs.append(get_accuracy(prediction, batch["label"]).item())
        return np.mean(epoch_losses), np.mean(epoch_accs)

    def loop(w):
        n_epochs = 5
        best_valid_loss = float("inf")
        metrics = collections.defaultdict(list)
        for epoch in range(n_epochs):
            train_loss, train_acc = train(w, train_data_loader, model, criterion, optimizer)
            valid_loss, valid_acc = evaluate(valid_data_loader, model, criterion)
            w.log(val_loss=valid_loss)
            metrics["train_losses"].append(train_loss)
            metrics["valid_losses"].append(valid_loss)
            if valid_loss < best_valid_loss:
                best_valid_loss = valid_loss
                best_state = {k: v.clone() for k, v in model.state_dict().items()}

    return Setup(
        model=model,
        data=train_data_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=valid_data_loader,
        check=dict(batch_fn=lambda b: ((b["ids"], b["length"]), b["label"])),
        loop=loop,
    )
