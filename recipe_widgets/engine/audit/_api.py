"""``rw.audit``: every data check in one pass, as a ``Report``; and the per-item table behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recipe_widgets.engine.audit import _duplicates as dup
from recipe_widgets.engine.audit._corrupt import corrupted
from recipe_widgets.engine.audit._imbalance import _is_classes, imbalance
from recipe_widgets.engine.audit._label_noise import K, label_noise
from recipe_widgets.engine.audit._neighbours import search
from recipe_widgets.engine.audit._outliers import outliers
from recipe_widgets.engine.items import Items, read_items
from recipe_widgets.engine.progress import progress
from recipe_widgets.engine.results import Finding, Report
from recipe_widgets.engine.validate import not_text


@dataclass(frozen=True, repr=False, eq=False)
class AuditReport(Report):
    """The audit's ``Report``, holding the items it read: ``rw.explore(report=...)`` shows them
    without reading the data again. Prints, compares and serialises as any ``Report``."""

    items: Items | None = field(default=None, compare=False, repr=False)


CHECKS = (
    "corrupted_items",
    "exact_duplicates",
    "near_duplicates",
    "split_leakage",
    "class_imbalance",
    "outliers",
    "label_noise",
)


def audit(
    data: Any = None,
    *,
    labels: Any = None,
    splits: Mapping[str, Any] | None = None,
    near_threshold: float = dup.NEAR_THRESHOLD,
    quiet: bool = False,
    **table: Any,
) -> Report:
    """Find what is wrong with a dataset before a net learns it (the recipe's first step).

    ``data``: a DataFrame, an ``(inputs, targets)`` pair of arrays / tensors, an array, or a
    map-style Dataset; ``labels``: a column name or an array; ``splits``: ``{"train": ..., ...}``
    instead of ``data``. Item-level findings list flagged items in ``evidence["indices"]``
    (``[split, index]`` pairs with splits) and duplicate groups in ``evidence["groups"]``.
    Ctrl-C during a long scan returns the findings so far, with a ``scan_interrupted`` finding.

    A Parquet file / glob / folder, a CSV path, a DuckDB relation, Arrow or Polars data is
    audited in place by DuckDB (``[data]`` extra): ``labels`` and ``splits`` then name columns,
    findings name rows by row id, near duplicates are looked for on a stated random sample
    (``near_sample=``); ``con=`` and ``memory_limit=`` go to DuckDB.
    """
    from recipe_widgets.engine.explore import is_table

    if is_table(data):
        from recipe_widgets.engine.audit._table import audit_data

        return audit_data(
            data, labels=labels, splits=splits, near_threshold=near_threshold, **table
        )
    if table:
        raise TypeError(f"unexpected arguments {sorted(table)} for data in memory")
    return audit_table(
        data, labels=labels, splits=splits, near_threshold=near_threshold, quiet=quiet
    )[0]


def _schemas(splits: Mapping[str, Any] | None) -> list[Finding]:
    """A finding when the splits' tables have different columns: duplicates and leakage are
    compared on what the splits share, so a renamed column hides them."""
    if not isinstance(splits, Mapping):
        return []
    cols = {}
    for name, part in splits.items():
        frame = part[0] if isinstance(part, tuple) and part else part
        if isinstance(frame, pd.DataFrame):
            cols[str(name)] = [str(c) for c in frame.columns]
    if len(cols) < 2 or len({tuple(sorted(c)) for c in cols.values()}) == 1:
        return []
    common = set.intersection(*(set(c) for c in cols.values()))
    only = {n: [c for c in cs if c not in common] for n, cs in cols.items()}
    parts = "; ".join(f"{n} only: {', '.join(cs)}" for n, cs in only.items() if cs)
    return [
        Finding(
            "split_schemas",
            "warn",
            f"the splits have different columns ({parts}): items are compared across splits on"
            " their values, so a renamed or missing column can hide duplicates and leakage.",
            fix="Give every split the same columns (rename, or drop the extra ones) and audit"
            " again.",
            evidence={"columns": cols},
        )
    ]


def audit_table(
    data: Any = None,
    *,
    labels: Any = None,
    splits: Mapping[str, Any] | None = None,
    near_threshold: float = dup.NEAR_THRESHOLD,
    quiet: bool = False,
) -> tuple[Report, pd.DataFrame]:
    """The report plus one row per item (split, index, label, the audit's scores and flags)."""
    if not (
        isinstance(near_threshold, (int, float))
        and not isinstance(near_threshold, bool)
        and 0 <= near_threshold <= 2
    ):
        raise ValueError(
            f"near_threshold={near_threshold!r}; a distance between unit-length codes lies in [0, 2]"
        )
    not_text("data", data)
    items = read_items(data, labels, splits, quiet)
    title = "Data audit"
    table = pd.DataFrame({"split": items.split, "index": items.index})
    if items.labels is not None:
        table["label"] = items.labels
    findings: list[Finding] = _schemas(splits)
    if items.n == 0:
        findings.append(
            Finding(
                "empty_data",
                "warn",
                "there are no items to audit",
                fix="check the loading code: a filter or a wrong path may have removed everything",
            )
        )
        return _finish(findings, items, title), table
    state: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("corrupted items", lambda: _step_corrupt(items, state, table)),
        ("duplicates", lambda: _step_duplicates(items, state, table, near_threshold)),
        ("class imbalance", lambda: imbalance(items)),
        ("outliers", lambda: _step_outliers(items, state, table)),
        ("label noise", lambda: _step_labels(items, state, table)),
    ]
    done = []
    try:
        for name, step in progress(steps, total=len(steps), desc="audit", quiet=quiet):
            findings.extend(step())
            done.append(name)
    except KeyboardInterrupt:
        items.interrupted = True
        items.notes.append(f"stopped during {steps[len(done)][0]}")
    return _finish(findings, items, title), table


def _finish(findings: list[Finding], items: Items, title: str) -> Report:
    if items.interrupted:
        findings.append(
            Finding(
                "scan_interrupted",
                "info",
                f"the scan was interrupted ({'; '.join(items.notes) or 'while reading items'}): "
                f"these findings cover {items.n} item(s) read and the checks finished before it",
                fix="run rw.audit again to completion, or on a random subset to go faster",
            )
        )
    return AuditReport(tuple(findings), title=title, items=items)


def _step_corrupt(items: Items, state: dict[str, Any], table: pd.DataFrame) -> list[Finding]:
    findings, reason, usable = corrupted(items)
    state["usable"] = usable
    table["problem"] = reason
    return findings


def _codes(items: Items, usable: np.ndarray) -> np.ndarray | None:
    if not usable.any():
        return None
    if items.frame is None:
        return dup.embed(items, usable)
    num = items.frame.select_dtypes(include=["number", "bool"]).astype(np.float64)
    if num.shape[1] == 0:
        return None
    x = dup.column_codes(num.to_numpy())
    x[~usable] = np.nan
    return x


def _refs(items: Items, group: list[int]) -> list[Any]:
    return [items.ref(i) for i in group]


def _duplicate_groups(
    items: Items, state: dict[str, Any], threshold: float
) -> tuple[list[list[int]], list[list[int]], str]:
    """Exact and near duplicate groups (item positions), and how "near" was judged."""
    usable = state["usable"]
    # corrupted items are reported once, as corrupted: three blank images are not "duplicates"
    keys = [k if u else None for k, u in zip(dup.exact_keys(items), usable)]
    exact = dup.groups_from_keys(keys)
    codes = _codes(items, usable)
    state["codes"] = codes
    if items.frame is not None:
        near = dup.groups_from_keys(
            [k if u else None for k, u in zip(dup.near_keys(items), usable)]
        )
        how = "numeric columns z-scored and rounded to 0.1; text lower-cased without punctuation"
        close = _close_pairs(items, state, codes, threshold)
        if close is not None:
            chain = [(g[i], g[i + 1]) for g in near for i in range(len(g) - 1)]
            pairs = np.concatenate([np.asarray(chain, dtype=np.int64).reshape(-1, 2), close])
            near = dup.groups_from_pairs(items.n, pairs)
            how += (
                f"; or within distance {threshold:g} of z-scored rows (over sqrt(columns)) among "
                f"each row's {K} nearest"
            )
    else:
        pairs = dup.near_pairs(codes, threshold) if codes is not None else np.zeros((0, 2), int)
        near = dup.groups_from_pairs(items.n, pairs)
        how = f"distance <= {threshold:g} between unit-length codes (" + (
            "8x8 grey, standardised per image)" if items.kind == "image" else "features z-scored)"
        )
    # a near group whose members are all one exact group is already reported as exact
    near = [g for g in near if len({keys[i] for i in g}) > 1]
    return exact, near, how


def _close_pairs(
    items: Items, state: dict[str, Any], codes: np.ndarray | None, threshold: float
) -> np.ndarray | None:
    """Pairs of rows whose codes lie within ``threshold``, among each row's K nearest (the
    neighbours label noise uses too, kept in ``state``): the rows that the rounding to 0.1
    puts on two sides of a step. Only for tables whose every column is numeric (the codes are
    the whole row); ``None`` otherwise."""
    assert items.frame is not None
    if codes is None or codes.shape[1] != items.frame.shape[1]:
        return None
    ok = np.flatnonzero(np.isfinite(codes).all(axis=1))
    if len(ok) <= 3 * K:
        return None
    found = search(codes[ok], K)
    state["neighbours"] = (ok, found)
    x = codes[ok].astype(np.float32)
    pairs = []
    for s in range(0, len(ok), 65_536):  # blocks bound the (rows, K, columns) differences
        nb = found.index[s : s + 65_536]
        diff = x[nb] - x[s : s + len(nb), None, :]
        r, c = np.nonzero(np.einsum("rkd,rkd->rk", diff, diff) <= threshold**2)
        pairs.append(np.stack([ok[s + r], ok[nb[r, c]]], axis=1))
    return np.concatenate(pairs)


def _chance_status(items: Items, codes: np.ndarray | None) -> tuple[str, str]:
    """``warn`` with a plain message, or ``info`` and a note when collisions may be chance.

    With few features (iris: 4 columns measured to 0.1 cm; 2-d points) equal or close items
    happen by chance; there they are info. Images and 8+ features make chance collisions unlikely.
    """
    width = (
        items.frame.shape[1]
        if items.frame is not None
        else (codes.shape[1] if codes is not None else 0)
    )
    if items.kind != "image" and width < 8:
        return "info", f" (only {width} features per item: close or equal items may be genuine)"
    return "warn", ""


def _within_and_across(
    items: Items, groups: list[list[int]]
) -> tuple[list[list[int]], list[list[int]]]:
    """Each group's members split by split: the parts inside one split, and the cross-split groups."""
    within: list[list[int]] = []
    leaks: list[list[int]] = []
    for g in groups:
        by_split: dict[str, list[int]] = {}
        for i in g:
            by_split.setdefault(str(items.split[i]), []).append(i)
        within += [s for s in by_split.values() if len(s) > 1]
        if len(by_split) > 1:
            leaks.append(g)
    return within, leaks


def _duplicates_finding(
    items: Items, check: str, within: list[list[int]], status: str, note: str, method: str
) -> Finding:
    what = check.replace("_", " ")
    if not within:
        return Finding(check, "pass", f"no {what} within a split", evidence={"method": method})
    flagged = sorted({i for g in within for i in g})
    return Finding(
        check,
        status,
        f"{len(within)} group(s) of {what} ({len(flagged)} items) within a split{note}",
        fix="drop the copies: duplicates weigh some items twice in the loss and inflate metrics",
        evidence={
            "indices": _refs(items, flagged),
            "groups": [_refs(items, g) for g in within],
            "method": method,
        },
    )


def _leakage_finding(items: Items, leaks: list[list[int]], status: str, note: str) -> Finding:
    if not leaks:
        return Finding("split_leakage", "pass", "no item appears in more than one split")
    flagged = sorted({i for g in leaks for i in g})
    return Finding(
        "split_leakage",
        status,
        f"{len(leaks)} item group(s) appear in more than one split ({len(flagged)} items): the "
        f"evaluation sees training data{note}",
        fix="remove the copies from the evaluation splits (or split by group, e.g. GroupShuffleSplit)",
        evidence={
            "indices": _refs(items, flagged),
            "groups": [_refs(items, g) for g in leaks],
        },
    )


def _step_duplicates(
    items: Items, state: dict[str, Any], table: pd.DataFrame, threshold: float
) -> list[Finding]:
    exact, near, how = _duplicate_groups(items, state, threshold)
    for column, groups in (("exact_group", exact), ("near_group", near)):
        gid = np.full(items.n, -1, dtype=np.int64)
        for g, members in enumerate(groups):
            gid[members] = g
        table[column] = gid
    status, note = _chance_status(items, state["codes"])
    findings = []
    leaks: list[list[int]] = []
    for check, groups, method in (
        ("exact_duplicates", exact, "content hash"),
        ("near_duplicates", near, how),
    ):
        within, across = _within_and_across(items, groups)
        leaks += across
        findings.append(_duplicates_finding(items, check, within, status, note, method))
    if len(set(items.split.tolist())) > 1:
        findings.append(_leakage_finding(items, leaks, status, note))
    return findings


def _step_outliers(items: Items, state: dict[str, Any], table: pd.DataFrame) -> list[Finding]:
    findings, scores = outliers(items, state["usable"])
    for c in scores.columns:
        table[c] = scores[c].to_numpy()
    return findings


def _step_labels(items: Items, state: dict[str, Any], table: pd.DataFrame) -> list[Finding]:
    is_classes = items.labels is not None and _is_classes(items.labels)
    findings, score = label_noise(
        items, state.get("codes"), state["usable"], is_classes, state.get("neighbours")
    )
    table["label_disagreement"] = score
    return findings
