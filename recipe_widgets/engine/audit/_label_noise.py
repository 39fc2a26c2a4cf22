"""Label-noise hints: items whose nearest neighbours almost all carry one other label.

A hint, not a verdict: the k = 10 nearest neighbours (Euclidean, in the same codes the
near-duplicate search uses; exact up to 20,000 items, from k-means cells above, with the search's
recall measured against exact search on a sample and stated in the evidence, see ``_neighbours``)
vote; an item is flagged when at least 8 of them agree on a label
other than its own and at most one shares its label. Even clean data has a few such items
(sklearn's digits: 6 of 1,797, genuinely ambiguous strokes), so the finding warns only when more
than ``max(10, 1%)`` of the items are flagged, and is ``info`` below that.
"""

from __future__ import annotations

import numpy as np

from recipe_widgets.engine.audit._neighbours import Neighbours, search
from recipe_widgets.engine.items import Items
from recipe_widgets.engine.results import Finding

K = 10
AGREE = 8


def label_noise(
    items: Items,
    codes: np.ndarray | None,
    usable: np.ndarray,
    is_classes: bool,
    neighbours: tuple[np.ndarray, Neighbours] | None = None,
) -> tuple[list[Finding], np.ndarray]:
    """Findings and a per-item disagreement score; ``neighbours``: ``(rows, their K nearest)``
    found already (by the near-duplicate step), used when ``rows`` are the items compared here."""
    score = np.full(items.n, np.nan)
    if items.labels is None or codes is None or not is_classes:
        return [Finding("label_noise", "skip", "needs class labels and numeric items")], score
    ok = np.flatnonzero(usable & np.isfinite(codes).all(axis=1) & ~_missing(items.labels))
    if len(ok) <= 3 * K:
        return [
            Finding(
                "label_noise",
                "skip",
                f"only {len(ok)} usable labelled items; too few to compare neighbours",
            )
        ], score
    text = [repr(v) for v in items.labels[ok]]
    keys, y = np.unique(text, return_inverse=True)
    label_of = {key: _plain(v) for key, v in zip(text, items.labels[ok])}
    if neighbours is not None and np.array_equal(neighbours[0], ok):
        found = neighbours[1]
    else:
        found = search(codes[ok], K)
    near = y[found.index]  # (n, K): the neighbours' labels, the item itself excluded
    own = (near == y[:, None]).sum(axis=1)
    score[ok] = 1 - own / K
    # a label held by >= AGREE of K sorted votes sits in the middle of them
    other = np.sort(near, axis=1)[:, K // 2 - 1]
    count = (near == other[:, None]).sum(axis=1)
    hit = np.flatnonzero((other != y) & (count >= AGREE) & (own <= 1))
    flagged = [int(ok[r]) for r in hit]
    suggested = [label_of[keys[other[r]]] for r in hit]
    evidence = {
        "method": f"{K} nearest neighbours, flagged when >= {AGREE} agree on another label",
        "k": K,
        "search": found.method,
        "recall": round(found.recall, 3),
        "recall_sample": found.sample,
    }
    if not flagged:
        return [
            Finding(
                "label_noise",
                "pass",
                "no item's neighbours contradict its label",
                evidence=evidence,
            )
        ], score
    status = "warn" if len(flagged) > max(10, 0.01 * len(ok)) else "info"
    return [
        Finding(
            "label_noise",
            status,
            f"{len(flagged)} item(s) whose neighbours almost all carry another label: possible label errors",
            fix="look at them side by side with their neighbours (rw.explore); relabel the wrong ones; "
            "a few genuinely ambiguous items are normal",
            evidence={
                **evidence,
                "indices": [items.ref(i) for i in flagged],
                "suggested": suggested,
            },
        )
    ], score


def _plain(value: object) -> object:
    """A numpy scalar label as the Python value it holds (3, not np.int64(3)) for evidence and text."""
    return value.item() if isinstance(value, np.generic) else value


def _missing(labels: np.ndarray) -> np.ndarray:
    return np.asarray([v is None or v != v for v in labels], dtype=bool)
