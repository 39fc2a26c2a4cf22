"""Label-noise hints: items whose nearest neighbours almost all carry one other label.

A hint, not a verdict: the k = 10 nearest neighbours (Euclidean, in the same codes the
near-duplicate search uses) vote; an item is flagged when at least 8 of them agree on a label
other than its own and at most one shares its label. Even clean data has a few such items
(sklearn's digits: 6 of 1,797, genuinely ambiguous strokes), so the finding warns only when more
than ``max(10, 1%)`` of the items are flagged, and is ``info`` below that.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from recipe_widgets.engine.items import Items
from recipe_widgets.engine.results import Finding

K = 10
AGREE = 8


def label_noise(
    items: Items, codes: np.ndarray | None, usable: np.ndarray, is_classes: bool
) -> tuple[list[Finding], np.ndarray]:
    score = np.full(items.n, np.nan)
    if items.labels is None or codes is None or not is_classes:
        return [Finding("label_noise", "skip", "needs class labels and numeric items")], score
    from sklearn.neighbors import NearestNeighbors

    ok = np.flatnonzero(usable & np.isfinite(codes).all(axis=1) & ~_missing(items.labels))
    if len(ok) <= 3 * K:
        return [
            Finding(
                "label_noise",
                "skip",
                f"only {len(ok)} usable labelled items; too few to compare neighbours",
            )
        ], score
    y = np.asarray([repr(v) for v in items.labels[ok]])
    label_of = {key: _plain(v) for key, v in zip(y, items.labels[ok])}
    nn = NearestNeighbors(n_neighbors=K + 1).fit(codes[ok])
    _, idx = nn.kneighbors(codes[ok])
    flagged, suggested = [], []
    for row, (own, neigh) in enumerate(zip(y, idx)):
        votes = Counter(y[[j for j in neigh if j != row][:K]])
        score[ok[row]] = 1 - votes.get(own, 0) / K
        other, count = next(((lab, c) for lab, c in votes.most_common() if lab != own), (None, 0))
        if count >= AGREE and votes.get(own, 0) <= 1:
            flagged.append(int(ok[row]))
            suggested.append(label_of[other])
    evidence = {
        "method": f"{K} nearest neighbours, flagged when >= {AGREE} agree on another label",
        "k": K,
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
