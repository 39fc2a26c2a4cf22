"""Gradient accumulation as in Thomas Wolf's "Training larger batches" post: micro-batches of 8,
``loss = loss / accumulation_steps`` before ``backward()``, and ``optimizer.step()`` +
``model.zero_grad()`` only every 4th micro-batch (effective batch 32). The loop logs the
accumulated (mean) loss of each optimizer step. A tanh MLP on the digits, Adam."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://medium.com/huggingface/training-larger-batches-practical-tips-on-1-gpu-multi-gpu-distributed-setups-ec88c3e51255"


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    X = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target)
    training_set = DataLoader(TensorDataset(X[:1400], y[:1400]), batch_size=8, shuffle=True)
    validation_set = DataLoader(TensorDataset(X[1400:], y[1400:]), batch_size=128)

    model = nn.Sequential(nn.Linear(64, 100), nn.Tanh(), nn.Linear(100, 10))
    loss_function = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    accumulation_steps = 4

    def loop(w):
        for _epoch in range(5):
            model.train()
            model.zero_grad()  # Reset gradients tensors
            accumulated = 0.0
            for i, (inputs, labels) in enumerate(training_set):
                predictions = model(inputs)  # Forward pass
                loss = loss_function(predictions, labels)  # Compute loss function
                loss = loss / accumulation_steps  # Normalize our loss (if averaged)
                loss.backward()  # Backward pass
                accumulated += loss.item()
                if (i + 1) % accumulation_steps == 0:  # Wait for several backward steps
                    optimizer.step()  # Now we can do an optimizer step
                    model.zero_grad()  # Reset gradients tensors
                    w.log(loss=accumulated)
                    accumulated = 0.0
            model.eval()
            with torch.no_grad():
                val_loss = sum(loss_function(model(a), b).item() for a, b in validation_set)
            w.log(val_loss=val_loss / len(validation_set))

    return Setup(
        model=model,
        data=training_set,
        loss_fn=loss_function,
        optimizer=optimizer,
        val=validation_set,
        loop=loop,
    )
