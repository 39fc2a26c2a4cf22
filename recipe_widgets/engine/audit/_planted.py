"""A copy of sklearn's digits with known defects planted: the audit's ground truth.

Used by the tests (recall and false-alarm bars) and the tutorial notebook, so a person can see
each kind of defect the audit finds, and check that it finds exactly those.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def planted_digits(
    seed: int = 0, n_each: int = 20
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, Any]]:
    """``(splits, truth)``: ``splits = {"train": (X, y), "test": (X, y)}`` with ``X`` float
    images ``(N, 8, 8)`` in 0..16, and ``truth[defect]`` the planted ``[split, index]`` items.

    Planted (``n_each`` of each): exact copies inside train, near copies inside train (pixel
    noise with sd 0.3 and 5% brighter), train items copied into test, flipped train labels, and
    corrupted train items (a NaN pixel, an Inf pixel, or all zeros; ``n_each // 2`` in all).
    ``truth["originals"]`` lists the items the copies were made from.
    """
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits()
    x = digits.images.astype(np.float64)  # (1797, 8, 8)
    y = digits.target.astype(np.int64)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    n_train = 1400
    xtr, ytr, xte, yte = (
        x[:n_train].copy(),
        y[:n_train].copy(),
        x[n_train:].copy(),
        y[n_train:].copy(),
    )
    n_corrupt = n_each // 2
    picks = rng.choice(n_train, size=4 * n_each + n_corrupt, replace=False)
    exact_src, near_src, leak_src = (
        picks[:n_each],
        picks[n_each : 2 * n_each],
        picks[2 * n_each : 3 * n_each],
    )
    flip, corrupt = picks[3 * n_each : 4 * n_each], picks[4 * n_each :]
    truth: dict[str, list[list[Any]]] = {
        k: []
        for k in (
            "exact_duplicates",
            "near_duplicates",
            "split_leakage",
            "label_noise",
            "corrupted_items",
            "originals",
        )
    }
    for i in flip:
        ytr[i] = (ytr[i] + rng.integers(1, 10)) % 10
        truth["label_noise"].append(["train", int(i)])
    for j, i in enumerate(corrupt):
        kind = j % 3
        if kind == 0:
            xtr[i, rng.integers(8), rng.integers(8)] = np.nan
        elif kind == 1:
            xtr[i, rng.integers(8), rng.integers(8)] = np.inf
        else:
            xtr[i] = 0.0
        truth["corrupted_items"].append(["train", int(i)])
    extra_x, extra_y = [], []
    for i in exact_src:
        extra_x.append(xtr[i].copy())
        extra_y.append(ytr[i])
        truth["exact_duplicates"].append(["train", n_train + len(extra_x) - 1])
    for i in near_src:
        noisy = np.clip(xtr[i] * 1.05 + rng.normal(0, 0.3, size=(8, 8)), 0, None)
        extra_x.append(noisy)
        extra_y.append(ytr[i])
        truth["near_duplicates"].append(["train", n_train + len(extra_x) - 1])
    xtr = np.concatenate([xtr, np.stack(extra_x)])
    ytr = np.concatenate([ytr, np.asarray(extra_y)])
    n_test = len(xte)
    xte = np.concatenate([xte, xtr[leak_src]])
    yte = np.concatenate([yte, ytr[leak_src]])
    truth["split_leakage"] = [["test", n_test + k] for k in range(n_each)]
    truth["originals"] = [
        ["train", int(i)] for i in np.concatenate([exact_src, near_src, leak_src])
    ]
    return {"train": (xtr, ytr), "test": (xte, yte)}, truth
