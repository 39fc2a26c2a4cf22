"""Class imbalance: counts per class and split, suggested class weights, a ready sampler."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from recipe_widgets.engine.items import Items
from recipe_widgets.engine.results import Finding

WARN_RATIO = 5.0  # largest / smallest class; past this a plain loss mostly learns the big classes


def _is_classes(labels: np.ndarray) -> bool:
    """Discrete labels (ints, strings, bools) with far fewer values than items."""
    vals = [v for v in labels if v is not None and v == v]
    if not vals:
        return False
    if all(isinstance(v, (float, np.floating)) for v in vals) and not all(
        float(v).is_integer() for v in vals
    ):
        return False
    distinct = len(set(vals))
    if distinct > max(2, min(1000, len(vals) // 2)):
        return False
    # A regression target stored as whole numbers (a disease score of 25..346, 214 values in
    # 442 rows) is not 214 classes: floats with many values, or values seen about once each.
    floats = all(isinstance(v, (float, np.floating)) for v in vals)
    if distinct > 20 and (floats or len(vals) / distinct < 3):
        return False
    return True


def class_weights(labels: Any) -> dict[Any, float]:
    """``n / (k * count)`` per class: the weights that make every class count equally in a loss."""
    y = [v.item() if hasattr(v, "item") else v for v in np.asarray(labels, dtype=object).ravel()]
    counts = Counter(y)
    n, k = len(y), len(counts)
    return {c: n / (k * m) for c, m in sorted(counts.items(), key=lambda t: repr(t[0]))}


def weighted_sampler(labels: Any, *, num_samples: int | None = None, generator: Any = None) -> Any:
    """A ``WeightedRandomSampler`` drawing every class equally often (with replacement)."""
    import torch
    from torch.utils.data import WeightedRandomSampler

    detach = getattr(labels, "detach", None)
    y = np.asarray(detach().cpu() if callable(detach) else labels, dtype=object).ravel()
    y = [v.item() if hasattr(v, "item") else v for v in y]
    counts = Counter(y)
    weights = torch.tensor([1.0 / counts[v] for v in y], dtype=torch.double)
    return WeightedRandomSampler(
        weights, num_samples or len(y), replacement=True, generator=generator
    )


def imbalance(items: Items) -> list[Finding]:
    if items.labels is None:
        return [
            Finding("class_imbalance", "skip", "no labels given; pass labels= to count classes")
        ]
    if not _is_classes(items.labels):
        return [
            Finding(
                "class_imbalance",
                "skip",
                "labels look continuous (a regression target); no classes to count",
            )
        ]
    splits = list(dict.fromkeys(items.split.tolist()))
    per_split: dict[str, dict[str, int]] = {}
    all_classes: set[str] = set()
    for s in splits:
        ys = items.labels[items.split == s]
        c = Counter(
            repr(v.item() if hasattr(v, "item") else v) for v in ys if v is not None and v == v
        )
        per_split[s or "all"] = dict(sorted(c.items()))
        all_classes |= set(c)
    problems = []
    for s, c in per_split.items():
        if not c:
            continue
        ratio = max(c.values()) / min(c.values())
        if ratio >= WARN_RATIO:
            small = min(c, key=c.get)
            problems.append(f"{s}: largest class {ratio:.1f}x the smallest ({small}: {c[small]})")
        missing = sorted(all_classes - set(c))
        if missing and len(per_split) > 1:
            problems.append(f"{s}: no items of class {', '.join(missing[:5])}")
    valid = [v for v in items.labels if v is not None and v == v]
    weights = {repr(k): round(v, 4) for k, v in class_weights(valid).items()}
    evidence = {"counts": per_split, "class_weights": weights}
    if problems:
        return [
            Finding(
                "class_imbalance",
                "warn",
                "classes are imbalanced: " + "; ".join(problems),
                fix="weight the loss (evidence['class_weights'], e.g. CrossEntropyLoss(weight=...)) or "
                "sample evenly (recipe_widgets.engine.audit.weighted_sampler(labels)); judge with "
                "per-class metrics, not accuracy",
                evidence=evidence,
            )
        ]
    k = len(all_classes)
    return [
        Finding(
            "class_imbalance",
            "pass",
            f"{k} classes, balanced within {WARN_RATIO:g}x in every split",
            evidence=evidence,
        )
    ]
