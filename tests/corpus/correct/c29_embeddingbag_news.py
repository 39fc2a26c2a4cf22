"""PyTorch's "Text classification with the torchtext library" tutorial: an ``nn.EmbeddingBag``
(mean mode) + ``Linear`` classifier over AG_NEWS-style headlines. ``collate_batch`` turns each
batch into ``(label, text, offsets)``: all token ids concatenated into one flat tensor plus the
offset where each example starts, so no padding is ever built. SGD at lr 5 with
``clip_grad_norm_(0.1)``; ``StepLR(1, gamma=0.1)`` is stepped only when the validation
accuracy stops improving; ``train()`` / ``evaluate()`` functions per epoch. The headlines are
generated from four topics' vocabularies; the user reorders the batch with ``batch_fn``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.dataset import random_split

from corpus import Setup

SOURCE = "https://pytorch.org/tutorials/beginner/text_sentiment_ngrams_tutorial.html"

TOPIC_WORDS = {
    1: "election senate minister vote treaty president parliament talks border summit",  # World
    2: "match goal season coach league striker final injury title tournament",  # Sports
    3: "shares profit market earnings merger investors stocks quarter bank oil",  # Business
    4: "software chip internet launch browser researchers space wireless device startup",  # Sci/Tech
}
COMMON = "the a of in on to for after with new says report over week as by at from".split()


def make_news(n, rs):
    items = []
    for _ in range(n):
        label = int(rs.randint(1, 5))
        topic = TOPIC_WORDS[label].split()
        words = list(rs.choice(COMMON, size=rs.randint(5, 14)))
        for _ in range(rs.randint(1, 4)):
            words.insert(rs.randint(len(words) + 1), str(rs.choice(topic)))
        if rs.rand() < 0.2:  # a word from another topic
            other = TOPIC_WORDS[int(rs.randint(1, 5))].split()
            words.insert(rs.randint(len(words) + 1), str(rs.choice(other)))
        items.append((label, " ".join(words)))
    return items


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


def make() -> Setup:
    torch.manual_seed(0)
    rs = np.random.RandomState(0)
    train_iter, test_iter = make_news(1600, rs), make_news(400, rs)

    tokenizer = str.split  # basic_english on already lower-case text
    vocab = {"<unk>": 0}
    for _, text in train_iter:
        for tok in tokenizer(text):
            vocab.setdefault(tok, len(vocab))

    def text_pipeline(x):
        return [vocab.get(tok, 0) for tok in tokenizer(x)]

    def label_pipeline(x):
        return int(x) - 1

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(label_pipeline(_label))
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list, text_list, offsets

    num_class = 4
    vocab_size = len(vocab)
    emsize = 32
    model = TextClassificationModel(vocab_size, emsize, num_class)

    EPOCHS = 6  # epoch
    LR = 5  # learning rate
    BATCH_SIZE = 64  # batch size for training

    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)

    num_train = int(len(train_iter) * 0.95)
    split_train_, split_valid_ = random_split(
        train_iter,
        [num_train, len(train_iter) - num_train],
        generator=torch.Generator().manual_seed(0),
    )
    train_dataloader = DataLoader(
        split_train_, batch_size=BATCH_SIZE, shuffle=True, collate_fn=collate_batch
    )
    valid_dataloader = DataLoader(
        split_valid_, batch_size=BATCH_SIZE, shuffle=False, collate_fn=collate_batch
    )

    def train(w, dataloader):
        model.train()
        total_acc, total_count = 0, 0
        log_interval = 10
        for idx, (label, text, offsets) in enumerate(dataloader):
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            w.log(loss=loss)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
            if idx % log_interval == 0 and idx > 0:
                total_acc, total_count = 0, 0

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count, total_loss = 0, 0, 0.0
        with torch.no_grad():
            for idx, (label, text, offsets) in enumerate(dataloader):
                predicted_label = model(text, offsets)
                total_loss += criterion(predicted_label, label).item() * label.size(0)
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count, total_loss / total_count

    def loop(w):
        total_accu = None
        for epoch in range(1, EPOCHS + 1):
            train(w, train_dataloader)
            accu_val, loss_val = evaluate(valid_dataloader)
            w.log(val_loss=loss_val)
            if total_accu is not None and total_accu > accu_val:
                scheduler.step()
            else:
                total_accu = accu_val

    return Setup(
        model=model,
        data=train_dataloader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=valid_dataloader,
        check=dict(batch_fn=lambda b: ((b[1], b[2]), b[0])),  # (label, text, offsets)
        loop=loop,
    )
