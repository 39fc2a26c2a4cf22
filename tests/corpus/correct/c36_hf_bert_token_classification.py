"""Hugging Face token classification ("Token classification" course chapter / docs) with a tiny
``BertForTokenClassification`` built from a ``BertConfig``: dict batches of ``input_ids``,
``attention_mask`` and ``labels``, where the labels of [CLS], [SEP] and padding are -100 so the
model's internal ``CrossEntropyLoss`` ignores them; ``outputs = model(**batch); loss =
outputs.loss``, AdamW with a linear decay schedule (``get_linear_schedule_with_warmup`` style)
stepped per batch. The tags are generated: a token's tag depends on the token and on its left
neighbour (entity-begin / entity-inside), so context matters. The user tells the kit how to split a
batch and hands it the same flattened cross-entropy with ``ignore_index=-100``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader, Dataset
from transformers import BertConfig, BertForTokenClassification

from corpus import Setup

SOURCE = "https://huggingface.co/learn/nlp-course/chapter7/2"

PAD, CLS, SEP = 0, 1, 2
VOCAB = 40
NUM_LABELS = 5  # O, B-PER, I-PER, B-LOC, I-LOC
MAX_LEN = 16


def make_example(g):
    n = int(torch.randint(4, MAX_LEN - 2, (1,), generator=g))
    toks = torch.randint(3, VOCAB, (n,), generator=g).tolist()
    tags, prev_entity = [], 0
    for t in toks:
        ent = 1 if 3 <= t < 11 else (2 if 11 <= t < 19 else 0)  # PER words, LOC words
        if ent == 0:
            tags.append(0)
        else:
            tags.append(2 * ent if prev_entity == ent else 2 * ent - 1)
        prev_entity = ent
    input_ids = [CLS] + toks + [SEP]
    labels = [-100] + tags + [-100]
    pad = MAX_LEN - len(input_ids)
    return {
        "input_ids": torch.tensor(input_ids + [PAD] * pad),
        "attention_mask": torch.tensor([1] * len(input_ids) + [0] * pad),
        "labels": torch.tensor(labels + [-100] * pad),
    }


class TokenDataset(Dataset):
    def __init__(self, n, g):
        self.examples = [make_example(g) for _ in range(n)]

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, i):
        return self.examples[i]


def make() -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    train_dataloader = DataLoader(TokenDataset(1024, g), shuffle=True, batch_size=16)
    eval_dataloader = DataLoader(TokenDataset(256, g), batch_size=32)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LEN,
        num_labels=NUM_LABELS,
        pad_token_id=PAD,
    )
    model = BertForTokenClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    num_train_epochs = 3
    num_training_steps = num_train_epochs * len(train_dataloader)

    def linear_schedule(opt):
        return LambdaLR(
            opt, lambda step: max(0.0, (num_training_steps - step) / num_training_steps)
        )

    lr_scheduler = linear_schedule(optimizer)

    def token_ce(logits, labels):
        return F.cross_entropy(logits.view(-1, NUM_LABELS), labels.view(-1), ignore_index=-100)

    def loop(w):
        for _epoch in range(num_train_epochs):
            model.train()
            for batch in train_dataloader:
                outputs = model(**batch)
                loss = outputs.loss
                loss.backward()
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad()
                w.log(loss=loss)
            model.eval()
            losses = []
            for batch in eval_dataloader:
                with torch.no_grad():
                    losses.append(model(**batch).loss.item())
            w.log(val_loss=sum(losses) / len(losses))

    return Setup(
        model=model,
        data=train_dataloader,
        loss_fn=token_ce,
        optimizer=optimizer,
        val=eval_dataloader,
        loop=loop,
        check={
            "batch_fn": lambda b: (
                {"input_ids": b["input_ids"], "attention_mask": b["attention_mask"]},
                b["labels"],
            ),
            "output_fn": lambda out: out.logits,
            "scheduler": linear_schedule,
            "steps": num_training_steps,
        },
    )
