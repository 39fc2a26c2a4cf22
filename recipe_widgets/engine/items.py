"""The one item reader of the kit: any supported data as ``Items``, for ``rw.audit`` and ``rw.explore``.

A DataFrame, an ``(inputs, targets)`` pair of arrays or tensors, a bare array, or a map-style
torch ``Dataset`` become aligned per-item rows: the raw item vectors the duplicate, outlier and
label checks look at, and what the explorer turns into its table. ``rw.audit`` keeps what it
read on its report, so ``rw.explore(report=...)`` shows the same items without reading again. Splits are read one by one and concatenated, each
item remembering its ``(split, index)``. A Dataset item whose ``__getitem__`` raises keeps its
place with the error recorded, and the scan goes on; Ctrl-C stops reading and keeps what was read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from recipe_widgets.engine.arrays import to_numpy
from recipe_widgets.engine.progress import progress

#: The most items one reader holds. Every item stays in memory (the audit compares them all, the
#: explorer pages through them), so past two million a random sample (``torch.utils.data.Subset``,
#: ``x[rng.choice(len(x), n)]``) answers the same questions in a fraction of the time and memory.
MAX_ITEMS = 2_000_000


@dataclass
class Items:
    """Every item of every split, aligned row by row."""

    kind: str  # "image", "vector", "tabular" or "text"
    split: np.ndarray  # (N,) split name per item ("" without splits)
    index: np.ndarray  # (N,) position inside its split
    rows: list[np.ndarray | None]  # raw item content (None when the item raised)
    labels: np.ndarray | None  # (N,) object array or None
    errors: dict[int, str] = field(default_factory=dict)
    frame: pd.DataFrame | None = None  # the tabular view (DataFrame input only)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    array: np.ndarray | None = None  # all items as one array, when they were given as one
    sources: dict[str, Any] = field(default_factory=dict)  # split -> the object read for it
    reader: str = ""  # the Dataset class read item by item ("" for arrays and frames)

    @property
    def n(self) -> int:
        return len(self.rows)

    def ref(self, i: int) -> Any:
        """How the report names item ``i``: its index, or ``(split, index)`` with splits."""
        return (
            [str(self.split[i]), int(self.index[i])] if self.split[i] != "" else int(self.index[i])
        )

    def of_split(self, split: str) -> Items:
        """The items of one split, in their order (``index`` 0, 1, ...)."""
        keep = np.flatnonzero(self.split == split)
        if not len(keep):
            raise ValueError(f"no split {split!r}; the splits are {sorted(set(self.split))}")
        new_at = {int(old): k for k, old in enumerate(keep)}
        labels = None if self.labels is None else self.labels[keep]
        if labels is not None and all(v is None for v in labels):
            labels = None  # another split had labels, this one none
        return Items(
            self.kind,
            self.split[keep],
            self.index[keep],
            [self.rows[i] for i in keep],
            labels,
            {new_at[i]: e for i, e in self.errors.items() if i in new_at},
            None if self.frame is None else self.frame.iloc[keep].reset_index(drop=True),
            list(self.notes),
            self.interrupted,
            None if self.array is None else self.array[keep],
            {split: self.sources[split]} if split in self.sources else {},
            self.reader,
        )

    def read_from(self, data: Any) -> bool:
        """Whether ``data`` (or the inputs of an ``(inputs, targets)`` pair) is what was read."""
        return any(
            data is src or (isinstance(src, tuple) and len(src) == 2 and data is src[0])
            for src in self.sources.values()
        )


def _clean_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Make a frame safe to scan: unique string column names, positional rows, plain dtypes."""
    frame = frame.copy()
    if isinstance(frame.columns, pd.MultiIndex):  # ("a", "b") -> "a/b": one name per column
        frame.columns = ["/".join(map(str, c)) for c in frame.columns]
    names = [str(c) for c in frame.columns]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise ValueError(
            f"duplicate column names {dupes[:5]}: the audit cannot tell which column is which; "
            "rename them (e.g. frame.columns = [...]) and audit again"
        )
    frame.columns = names
    return frame.reset_index(
        drop=True
    )  # MultiIndex / non-unique rows: positions are what we report


def _frame_items(frame: pd.DataFrame, labels: Any) -> tuple[pd.DataFrame, np.ndarray | None]:
    frame = _clean_frame(frame)
    y = None
    if isinstance(labels, str):
        if labels not in frame.columns:
            raise ValueError(
                f"labels={labels!r} is not a column; columns are {list(frame.columns)[:20]}"
            )
        y = frame[labels].to_numpy(dtype=object)
        frame = frame.drop(columns=[labels])
    elif labels is not None:
        y = to_numpy(labels).astype(object)
        if len(y) != len(frame):
            raise ValueError(f"{len(y)} labels for {len(frame)} rows; they must match one to one")
    return frame, y


def frame_kind(frame: pd.DataFrame) -> str:
    text = [
        c
        for c in frame.columns
        if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)
    ]
    return "text" if text and len(text) == frame.shape[1] else "tabular"


def read_one(data: Any, labels: Any, split: str, quiet: bool) -> Items:
    """Read one split (or the whole data when there are no splits)."""
    items = _read_one(data, labels, split, quiet)
    items.sources[split] = data
    return items


def _too_many(n: int) -> None:
    if n > MAX_ITEMS:
        raise ValueError(
            f"{n} items; audit or explore a random sample of at most {MAX_ITEMS} "
            "(e.g. a torch.utils.data.Subset)"
        )


def _label(y: Any) -> Any:
    """One item's label: a scalar as it is, a one-hot or score vector as its class."""
    if y is None:
        return None
    yv = to_numpy(y)
    return yv.item() if yv.size == 1 else int(yv.argmax())


def _read_one(data: Any, labels: Any, split: str, quiet: bool) -> Items:
    if isinstance(data, pd.DataFrame):
        frame, y = _frame_items(data, labels)
        n = len(frame)
        rows = [None] * n  # tabular content is read from the frame itself
        return Items(
            frame_kind(frame), np.full(n, split, dtype=object), np.arange(n), rows, y, frame=frame
        )
    if isinstance(data, tuple) and len(data) == 2 and labels is None:
        data, labels = data
    is_dataset = (
        hasattr(data, "__getitem__") and hasattr(data, "__len__") and not hasattr(data, "shape")
    )
    if is_dataset and not isinstance(data, (list, tuple)):
        return _read_dataset(data, split, quiet)
    x = to_numpy(data)
    if x.dtype == object or x.ndim == 0:
        raise TypeError(
            f"cannot read items from {type(data).__name__} with dtype {x.dtype}; pass a DataFrame, "
            "a numeric array or tensor (N, ...), an (inputs, targets) pair, or a map-style Dataset"
        )
    n = len(x)
    _too_many(n)
    y = None
    if labels is not None:
        y = to_numpy(labels)
        if len(y) != n:
            raise ValueError(f"{len(y)} labels for {n} items; they must match one to one")
        y = (y.argmax(axis=1) if y.ndim == 2 else y).astype(object)
    kind = "image" if x.ndim >= 3 else "vector"
    return Items(kind, np.full(n, split, dtype=object), np.arange(n), list(x), y, array=x)


def _read_dataset(dataset: Any, split: str, quiet: bool) -> Items:
    n = len(dataset)
    _too_many(n)
    rows: list[np.ndarray | None] = []
    ys: list[Any] = []
    errors: dict[int, str] = {}
    interrupted = False
    try:
        for i in progress(range(n), total=n, desc=f"reading {split or 'items'}", quiet=quiet):
            try:
                item = dataset[i]
                x, y = (
                    (item[0], item[1])
                    if isinstance(item, (tuple, list)) and len(item) >= 2
                    else (item, None)
                )
                row, label = to_numpy(x), _label(y)
            except Exception as err:  # noqa: BLE001 - a broken item is a finding; keep scanning
                errors[i] = f"{type(err).__name__}: {err}"[:300]
                row, label = None, None
            rows.append(row)
            ys.append(label)
    except KeyboardInterrupt:
        interrupted = True  # keep what was read; the report says the scan stopped
    m = len(rows)
    shapes = {r.shape for r in rows if r is not None}
    kind = "image" if any(len(s) >= 2 for s in shapes) else "vector"
    y = np.asarray(ys, dtype=object) if any(v is not None for v in ys) else None
    return Items(
        kind,
        np.full(m, split, dtype=object),
        np.arange(m),
        rows,
        y,
        errors,
        interrupted=interrupted,
        reader=type(dataset).__name__,
    )


def read_items(data: Any, labels: Any, splits: Mapping[str, Any] | None, quiet: bool) -> Items:
    """All items, splits concatenated in the order given."""
    if splits is None:
        if data is None:
            raise ValueError(
                "pass data (rw.audit(data)) or splits (rw.audit(splits={'train': ..., 'val': ...}))"
            )
        return read_one(data, labels, "", quiet)
    if data is not None:
        raise ValueError(
            "pass either data or splits, not both: with splits, each split holds its own data"
        )
    if labels is not None and not isinstance(labels, str):
        raise ValueError(
            "with splits, labels= can only name a column; give each split its own labels, "
            "e.g. splits={'train': (X_train, y_train), 'val': (X_val, y_val)}"
        )
    if not isinstance(splits, Mapping) or not splits:
        raise ValueError("splits must be a non-empty dict such as {'train': (X, y), 'val': (X, y)}")
    parts = []
    for name, part in splits.items():
        one = read_one(part, labels if isinstance(labels, str) else None, str(name), quiet)
        parts.append(one)
        if one.interrupted:
            break
    kinds = {p.kind for p in parts}
    if len(kinds) > 1:
        raise ValueError(
            f"the splits hold different kinds of data ({sorted(kinds)}); audit them alike"
        )
    frames = [p.frame for p in parts]
    frame = None
    if all(f is not None for f in frames):
        frame = pd.concat(frames, ignore_index=True)
    has_labels = [p.labels is not None for p in parts]
    y = None
    if any(has_labels):
        y = np.concatenate(
            [p.labels if p.labels is not None else np.full(p.n, None, dtype=object) for p in parts]
        )
    errors: dict[int, str] = {}
    offset = 0
    for p in parts:
        errors.update({offset + k: v for k, v in p.errors.items()})
        offset += p.n
    return Items(
        parts[0].kind,
        np.concatenate([p.split for p in parts]),
        np.concatenate([p.index for p in parts]),
        [r for p in parts for r in p.rows],
        y,
        errors,
        frame=frame,
        interrupted=any(p.interrupted for p in parts),
        array=_concat_arrays([p.array for p in parts]),
        sources={s: src for p in parts for s, src in p.sources.items()},
        reader=parts[0].reader,
    )


def _concat_arrays(arrays: list[np.ndarray | None]) -> np.ndarray | None:
    if any(a is None for a in arrays) or len({a.shape[1:] for a in arrays}) != 1:  # type: ignore[union-attr]
        return None
    return np.concatenate(arrays)  # type: ignore[arg-type]
