"""Corrupted items: reads that raised, NaN/Inf, odd shapes or dtypes, constant or empty items,
missing or out-of-range labels, and columns with no values at all."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from recipe_widgets.engine.items import Items
from recipe_widgets.engine.results import Finding


def corrupted(items: Items) -> tuple[list[Finding], np.ndarray, np.ndarray]:
    """Findings, a per-item reason array ('' when fine), and which items later checks may use.

    Constant items are reported but kept out of near-duplicate and neighbour searches: a blank
    image matches every other blank one and says nothing about its label.
    """
    n = items.n
    reason = np.full(n, "", dtype=object)
    usable = np.ones(n, dtype=bool)
    findings: list[Finding] = []
    for i, err in items.errors.items():
        reason[i] = f"raised {err}"
    if items.frame is None:
        arrays = [(i, r) for i, r in enumerate(items.rows) if r is not None]
        shapes = Counter(r.shape for _, r in arrays)
        dtypes = Counter(r.dtype.str for _, r in arrays)
        main_shape = shapes.most_common(1)[0][0] if shapes else None
        main_dtype = dtypes.most_common(1)[0][0] if dtypes else None
        for i, r in arrays:
            if r.size == 0:
                reason[i] = "empty"
            elif r.shape != main_shape:
                reason[i] = f"shape {r.shape} where most items are {main_shape}"
            elif r.dtype.str != main_dtype:
                reason[i] = f"dtype {r.dtype} where most items are {np.dtype(main_dtype)}"
            elif r.dtype.kind in "fc" and not np.isfinite(r).all():
                reason[i] = f"{int((~np.isfinite(r)).sum())} NaN/Inf values"
            elif r.dtype.kind not in "biufc":
                reason[i] = f"non-numeric dtype {r.dtype}"
            elif r.size >= 4 and np.all(r == r.flat[0]):
                reason[i] = f"constant (every value {r.flat[0].item()!r})"
        usable &= np.asarray([r is not None for r in items.rows], dtype=bool)
    else:
        num = items.frame.select_dtypes(include=["number"])
        if num.shape[1]:
            values = num.to_numpy(dtype=np.float64, na_value=np.nan)
            # Missing cells (NaN, None, pd.NA) of columns that are not empty: a NaN feature turns
            # the loss into NaN as surely as an Inf one does.
            present = ~np.isnan(values).all(axis=0)
            nan = np.isnan(values[:, present]).any(axis=1)
            inf = np.isinf(values).any(axis=1)
            reason[nan] = "NaN values"
            reason[inf] = "Inf values"
        empty_cols = [c for c in items.frame.columns if items.frame[c].isna().all()]
        if empty_cols and n:
            findings.append(
                Finding(
                    "empty_columns",
                    "warn",
                    f"{len(empty_cols)} column(s) hold no values at all: {', '.join(map(str, empty_cols[:10]))}",
                    fix="drop them, or find where the values were lost in loading",
                    evidence={"columns": empty_cols},
                )
            )
    if items.labels is not None:
        _label_problems(items.labels, reason)
    bad = np.flatnonzero(reason != "")
    usable[bad] = False
    if len(bad):
        kinds = Counter(re.sub(r"^[\d.]+ ", "", str(r)).split(" ")[0] for r in reason[bad])
        summary = ", ".join(f"{k} x{v}" for k, v in kinds.most_common())
        findings.append(
            Finding(
                "corrupted_items",
                "warn",
                f"{len(bad)} of {n} items look corrupted ({summary})",
                fix="look at these items (rw.explore); fix or drop them before training, because one "
                "NaN item turns the whole loss into NaN and a wrong shape crashes a batch",
                evidence={
                    "indices": [items.ref(i) for i in bad],
                    "reasons": [str(reason[i]) for i in bad],
                },
            )
        )
    elif n:
        findings.append(Finding("corrupted_items", "pass", f"all {n} items read cleanly"))
    return findings, reason, usable


def _label_problems(labels: np.ndarray, reason: np.ndarray) -> None:
    missing = pd.isna(pd.Series(labels, dtype=object)).to_numpy()
    present = labels[~missing]
    if missing.any() and (~missing).any():
        for i in np.flatnonzero(missing):
            reason[i] = reason[i] or "label missing"
    numeric = [
        v
        for v in present
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    ]
    if len(numeric) != len(present) or not len(present):
        return
    vals = np.asarray(numeric, dtype=np.float64)
    integral = np.isfinite(vals) & (vals == np.round(vals))
    if integral.mean() < 0.99:
        return  # a regression target: no class range to check
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(vals) | (vals < 0) | (vals != np.round(vals))
    for i in np.flatnonzero(~missing)[bad]:
        reason[i] = reason[i] or f"label {labels[i]!r} out of range"
