"""A NER tagger trained the way HVPNeT's ``NERTrainer`` sets up its optimizer: parameter groups
collected by name, the encoder (``bert``) with one learning rate and the tagging head (``fc``,
and the CRF in the original) with a larger one. The issue: the head's group is filled but never
appended to the list passed to ``AdamW``, so the head is never trained. Gradients reach it and
the loss still falls (the encoder learns to suit a random head), so nothing looks wrong. The
fix appends the group. Here the encoder is a small embedding + BiGRU, the head a linear layer
over BIO tags of a synthetic entity vocabulary."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Expect, Setup

SOURCE = "https://github.com/zjunlp/HVPNeT/issues/5"
EXPECT = Expect("parameter_coverage", says=r"optimizer")

LABELS = ["O", "B-ENT", "I-ENT"]


class Encoder(nn.Module):
    def __init__(self, vocab_size, hidden_size):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, hidden_size)
        self.rnn = nn.GRU(hidden_size, hidden_size // 2, batch_first=True, bidirectional=True)

    def forward(self, input_ids):
        return self.rnn(self.embeddings(input_ids))[0]


class NERModel(nn.Module):
    def __init__(self, vocab_size, num_labels, hidden_size=24):
        super().__init__()
        self.bert = Encoder(vocab_size, hidden_size)
        self.dropout = nn.Dropout(0.1)
        self.fc = nn.Linear(hidden_size, num_labels)

    def forward(self, input_ids):
        sequence_output = self.dropout(self.bert(input_ids))
        emissions = self.fc(sequence_output)  # (bsz, len, labels)
        return emissions


def make(fixed: bool) -> Setup:
    torch.manual_seed(5)
    g = torch.Generator().manual_seed(5)
    # tokens 1..9 are entity words, 10..39 ordinary words; consecutive entity words form one entity
    input_ids = torch.randint(10, 40, (1100, 12), generator=g)
    ent = torch.rand(1100, 12, generator=g) < 0.25
    input_ids[ent] = torch.randint(1, 10, (int(ent.sum()),), generator=g)
    is_ent = input_ids < 10
    prev = torch.cat([torch.zeros(1100, 1, dtype=torch.bool), is_ent[:, :-1]], 1)
    labels = torch.where(is_ent, torch.where(prev, 2, 1), 0)
    train_dataloader = DataLoader(
        TensorDataset(input_ids[:900], labels[:900]), batch_size=32, shuffle=True
    )
    dev_dataloader = DataLoader(TensorDataset(input_ids[900:], labels[900:]), batch_size=100)

    model = NERModel(vocab_size=40, num_labels=len(LABELS))
    ce = nn.CrossEntropyLoss()

    def ner_loss(emissions, labels):
        return ce(emissions.view(-1, len(LABELS)), labels.view(-1))

    # before_train: parameter groups by name
    parameters = []
    params = {"lr": 3e-3, "weight_decay": 1e-2}
    params["params"] = [param for name, param in model.named_parameters() if "bert" in name]
    parameters.append(params)

    params = {"lr": 5e-2, "weight_decay": 1e-2}
    params["params"] = []
    for name, param in model.named_parameters():
        if "crf" in name or name.startswith("fc"):
            params["params"].append(param)
    if fixed:
        parameters.append(params)

    optimizer = torch.optim.AdamW(parameters, lr=3e-3)

    def loop(w):
        for _epoch in range(7):
            model.train()
            for input_ids_b, labels_b in train_dataloader:
                loss = ner_loss(model(input_ids_b), labels_b)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                dev = [ner_loss(model(ids), tags).item() for ids, tags in dev_dataloader]
            w.log(val_loss=sum(dev) / len(dev))

    return Setup(
        model=model,
        data=train_dataloader,
        loss_fn=ner_loss,
        optimizer=optimizer,
        val=dev_dataloader,
        loop=loop,
    )
