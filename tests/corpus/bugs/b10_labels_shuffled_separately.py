"""The Udacity self-driving-car "mini-batching" quiz: a hand-written ``batches(batch_size,
features, labels)`` helper feeding a linear softmax classifier (digits here instead of MNIST).
The report: the features and the labels can be shuffled *separately* (two independent
``np.random.shuffle`` calls) before batching and the quiz still passes; the pairs no longer
match, so the net is trained on labels that have nothing to do with its inputs. The loss still
falls a little (towards the label prior) and nothing errors. The fix shuffles one permutation
and indexes both arrays with it."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

from corpus import Expect, Setup

SOURCE = "https://github.com/udacity/sdc-issue-reports/issues/1326"
EXPECT = Expect("input_independent_baseline", says=r"label|shuffl")


def batches(batch_size, features, labels):
    """Create batches of features and labels
    :param batch_size: The batch size
    :param features: List of features
    :param labels: List of labels
    :return: Batches of (Features, Labels)
    """
    assert len(features) == len(labels)
    output_batches = []
    sample_size = len(features)
    for start_i in range(0, sample_size, batch_size):
        end_i = start_i + batch_size
        batch = [features[start_i:end_i], labels[start_i:end_i]]
        output_batches.append(batch)
    return output_batches


def make(fixed: bool) -> Setup:
    np.random.seed(1326)
    torch.manual_seed(1326)
    digits = load_digits()
    features = (digits.data / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    train_features, test_features = features[:1400].copy(), features[1400:]
    train_labels, test_labels = labels[:1400].copy(), labels[1400:]

    # Shuffle the training set before batching
    if fixed:
        perm = np.random.permutation(len(train_features))
        train_features, train_labels = train_features[perm], train_labels[perm]
    else:
        np.random.shuffle(train_features)
        np.random.shuffle(train_labels)

    train_features, train_labels = torch.from_numpy(train_features), torch.from_numpy(train_labels)
    test_features, test_labels = torch.from_numpy(test_features), torch.from_numpy(test_labels)

    n_input, n_classes = 64, 10
    learning_rate = 0.5
    batch_size = 128
    model = torch.nn.Linear(n_input, n_classes)
    cost = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

    def loop(w):
        for _epoch_i in range(16):
            for batch_features, batch_labels in batches(batch_size, train_features, train_labels):
                optimizer.zero_grad()
                loss = cost(model(batch_features), batch_labels)
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            with torch.no_grad():
                w.log(val_loss=cost(model(test_features), test_labels).item())

    return Setup(
        model=model,
        data=(train_features, train_labels),
        loss_fn=cost,
        optimizer=optimizer,
        val=(test_features, test_labels),
        loop=loop,
    )
