"""The explorer's table with the audit joined in: per-item flags, duplicate groups, thumbnails.

``explore_table`` is everything ``rw.explore`` computes before it draws: the items (a DataFrame
as it is, anything else one row per item, or the items an ``rw.audit`` report already read),
the columns that put the audit's findings on the items, and the pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recipe_widgets.engine.arrays import to_numpy
from recipe_widgets.engine.explore._item_table import Axes, image_view, item_table, table_of


@dataclass(frozen=True)
class ExploreTable:
    """What the explorer shows: one row per item, optional thumbnails, the label column, a note."""

    frame: pd.DataFrame
    images: np.ndarray | None
    label_column: str | None
    note: str


def _resolve_split(findings: list[Any], split: str | None, key: str) -> str | None:
    """The split whose ``(split, index)`` pairs count; asks for one when several are named."""
    named: set[str] = set()
    for f in findings:
        for entry in f.evidence.get(key, ()):
            for i in entry if key == "groups" else (entry,):
                if isinstance(i, (list, tuple)) and i:
                    named.add(str(i[0]))
    if split is None and len(named) > 1:
        raise ValueError(
            f"this audit ran over splits {sorted(named)}: pass split='train' (or another name) "
            "to say which split these items are"
        )
    return split if split is not None else (next(iter(named)) if named else None)


def _item(index: Any, split: str | None, n_items: int) -> int | None:
    """The row of ``index`` (an int or a ``(split, index)`` pair) in this table, else ``None``."""
    if isinstance(index, (list, tuple)):
        if len(index) != 2 or str(index[0]) != split:
            return None
        index = index[1]
    if isinstance(index, (int, np.integer)) and 0 <= int(index) < n_items:
        return int(index)
    return None


def flag_column(n_items: int, report: Any, split: str | None = None) -> list[str]:
    """Per item, the ids of the findings that flagged it (``evidence["indices"]``), comma-joined.

    An audit over ``splits`` flags ``(split, index)`` pairs: the explorer shows one split, so
    ``split`` says which (needed only when the pairs name more than one split).
    """
    flagged = [f for f in getattr(report, "findings", ()) if f.status in ("warn", "fail", "info")]
    split = _resolve_split(flagged, split, "indices")
    flags: list[list[str]] = [[] for _ in range(n_items)]
    for finding in flagged:
        for index in finding.evidence.get("indices", ()):
            i = _item(index, split, n_items)
            if i is not None and finding.check not in flags[i]:
                flags[i].append(finding.check)
    return [", ".join(f) for f in flags]


def group_column(n_items: int, report: Any, split: str | None = None) -> list[str]:
    """Per item, the duplicate groups it belongs to (``exact_duplicates#3``), comma-joined.

    Sorting the explorer by this column puts each item next to its copies; filtering with
    ``group matches "(^|, )exact_duplicates#3(,|$)"`` (what :meth:`Explorer.show_group` does)
    shows one group side by side.
    """
    grouped = [f for f in getattr(report, "findings", ()) if f.evidence.get("groups")]
    split = _resolve_split(grouped, split, "groups")
    names: list[list[str]] = [[] for _ in range(n_items)]
    for finding in grouped:
        for k, members in enumerate(finding.evidence["groups"]):
            for index in members:
                i = _item(index, split, n_items)
                if i is not None:
                    names[i].append(f"{finding.check}#{k}")
    return [", ".join(n) for n in names]


def thumbnails(images: Any, n: int) -> np.ndarray:
    """``images=`` for a DataFrame's rows as uint8 thumbnails, one scale for the whole set."""
    arr = to_numpy(images)
    if len(arr) != n:
        raise ValueError(f"{len(arr)} images for {n} rows; they must match one to one")
    view = image_view(arr) if arr.dtype.kind in "biuf" else None
    if view is None:
        raise ValueError(
            "images= must be (N, H, W), (N, C, H, W) or (N, H, W, C) numbers; "
            f"got {arr.dtype} {arr.shape}"
        )
    return view


def _audited_items(report: Any, data: Any, split: str | None) -> Any:
    """The items ``rw.audit`` read for ``report``, when ``data`` is them (or not given); else None."""
    items = getattr(report, "items", None)
    if items is None or not (data is None or items.read_from(data)):
        return None
    splits = sorted(set(items.split))
    if split is not None:
        return items.of_split(split)
    if len(splits) > 1:
        raise ValueError(
            f"this audit ran over splits {splits}: pass split='train' (or another name) "
            "to say which split to explore"
        )
    return items


def _frame_table(frame: pd.DataFrame, labels: Any, axes: Axes | None, images: Any) -> ExploreTable:
    if axes:
        raise ValueError("axes= computes columns from items; a DataFrame already has its columns")
    label_column = labels if isinstance(labels, str) else None
    pictures = thumbnails(images, len(frame)) if images is not None else None
    return ExploreTable(frame, pictures, label_column, "")


def _items_table(
    data: Any, labels: Any, axes: Axes | None, report: Any, split: str | None, images: Any
) -> ExploreTable:
    if images is not None:
        raise ValueError(
            "images= goes with a DataFrame; arrays, tensors and Datasets show their own items"
        )
    items = _audited_items(report, data, split) if report is not None else None
    if items is not None and items.frame is not None:  # the audit read a DataFrame
        frame = items.frame
        if items.labels is not None:
            frame = frame.assign(label=pd.Series(list(items.labels)).infer_objects())
        return _frame_table(frame, "label" if items.labels is not None else None, axes, None)
    if items is None and data is None:
        raise ValueError(
            "pass the data to explore, or report= from rw.audit (which keeps its items)"
        )
    table = table_of(items, axes) if items is not None else item_table(data, labels, axes=axes)
    label_column = "label" if "label" in table.frame.columns else None
    return ExploreTable(table.frame, table.images, label_column, table.how)


def explore_table(
    data: Any = None,
    labels: Any = None,
    *,
    axes: Axes | None = None,
    report: Any = None,
    split: str | None = None,
    images: Any = None,
) -> ExploreTable:
    """The explorer's table, with an audit report's flags and duplicate groups as columns.

    With ``report=`` from ``rw.audit`` and ``data`` either left out or the very object audited,
    the items the audit read are reused: nothing is read twice.
    """
    if isinstance(data, pd.DataFrame):
        table = _frame_table(data, labels, axes, images)
    else:
        table = _items_table(data, labels, axes, report, split, images)
    if report is None:
        return table
    frame = table.frame.assign(flags=flag_column(len(table.frame), report, split))
    groups = group_column(len(table.frame), report, split)
    if any(groups):
        frame = frame.assign(group=groups)
    return ExploreTable(frame, table.images, table.label_column, table.note)
