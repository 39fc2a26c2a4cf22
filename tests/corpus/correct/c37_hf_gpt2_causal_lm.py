"""Causal language modelling with a tiny ``GPT2LMHeadModel`` built from a ``GPT2Config``, trained the
way the Hugging Face docs show: ``outputs = model(input_ids, labels=input_ids)`` (the model shifts
the labels inside), AdamW, grad clipping at 1.0. The text is a generated stream of "counting"
sequences (each sequence adds a per-sequence step modulo the vocabulary, so the next token is
predictable from the previous two). For ``rw.check`` the user declares the model causal, takes
``out.logits`` and writes the loss the model computes internally: logits shifted left, labels
shifted right, flattened cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from transformers import GPT2Config, GPT2LMHeadModel

from corpus import Setup

SOURCE = "https://huggingface.co/docs/transformers/model_doc/gpt2"

VOCAB, SEQ = 48, 24


def counting_sequences(n, g):
    start = torch.randint(0, VOCAB, (n, 1), generator=g)
    step = torch.randint(1, 6, (n, 1), generator=g)
    return (start + step * torch.arange(SEQ)) % VOCAB


def causal_lm_loss(logits, labels):
    shift_logits = logits[..., :-1, :].contiguous()
    shift_labels = labels[..., 1:].contiguous()
    return F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))


def make() -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    train_ids, val_ids = counting_sequences(1536, g), counting_sequences(256, g)
    train_dataloader = DataLoader(TensorDataset(train_ids, train_ids), batch_size=32, shuffle=True)
    val_dataloader = DataLoader(TensorDataset(val_ids, val_ids), batch_size=64)
    config = GPT2Config(
        vocab_size=VOCAB,
        n_positions=SEQ,
        n_embd=64,
        n_layer=2,
        n_head=4,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def loop(w):
        for _epoch in range(3):
            model.train()
            for input_ids, _ in train_dataloader:
                outputs = model(input_ids, labels=input_ids)
                loss = outputs.loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                losses = [model(ids, labels=ids).loss.item() for ids, _ in val_dataloader]
            w.log(val_loss=sum(losses) / len(losses))

    return Setup(
        model=model,
        data=train_dataloader,
        loss_fn=causal_lm_loss,
        optimizer=optimizer,
        val=val_dataloader,
        loop=loop,
        check={"output_fn": lambda out: out.logits, "causal": True, "clip_grad_norm": 1.0},
    )
