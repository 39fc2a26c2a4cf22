"""One row per item: what the explorer sorts, filters and plots when data is not a DataFrame.

The items come from the kit's one reader (``engine.items``, shared with ``rw.audit``) and become
a DataFrame of per-item statistics (label, mean, std, min, max, NaN count; shape and error for
a Dataset), plus any user-defined axes, plus uint8 thumbnails when the items are images. An
item whose ``__getitem__`` raised keeps its row, with the error in the ``error`` column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recipe_widgets.engine.items import Items, read_items

Axes = Mapping[str, Callable[[Any], float]]


@dataclass(frozen=True)
class ItemTable:
    frame: pd.DataFrame
    images: np.ndarray | None  # uint8 (N, H, W) or (N, H, W, 3), or None
    how: str  # how the items were read, said to the person


def image_view(items: np.ndarray) -> np.ndarray | None:
    """(N, H, W), (N, 1|3, H, W) or (N, H, W, 1|3) as uint8 (N, H, W[, 3]); else None."""
    if items.ndim == 3 and min(items.shape[1:]) >= 4:
        view = items
    elif items.ndim == 4 and items.shape[1] in (1, 3) and items.shape[-1] not in (1, 3):
        view = np.moveaxis(items, 1, -1)  # channels first -> last
    elif items.ndim == 4 and items.shape[-1] in (1, 3):
        view = items
    else:
        return None
    if view.ndim == 4 and view.shape[-1] == 1:
        view = view[..., 0]
    if view.dtype == np.uint8:
        return view
    # The pixel mapping of rw.decode, over the whole set, never per image: a dark image must
    # look dark, and the explorer shows an item as the net's batch view does. torch (and decode)
    # load here, for images only: a DataFrame explored in a fresh kernel never pays for them.
    import torch

    from recipe_widgets.engine.decode import to_uint8

    exact = view.dtype in (np.float32, np.float64)  # decode maps in the batch's own precision
    values = torch.from_numpy(np.ascontiguousarray(view if exact else view.astype(np.float64)))
    finite = bool(torch.isfinite(values).all())
    return to_uint8(values, integer=view.dtype.kind in "biu", all_finite=finite)[0]


def item_table(data: Any, labels: Any = None, *, axes: Axes | None = None) -> ItemTable:
    """Per-item rows for arrays / tensors, ``(inputs, targets)`` pairs and map-style Datasets.

    ``axes`` functions get each item as a numpy array.
    """
    return table_of(read_items(data, labels, None, quiet=True), axes)


def table_of(items: Items, axes: Axes | None = None) -> ItemTable:
    """The explorer's table of items already read (by ``rw.audit`` or by ``item_table``)."""
    if items.array is not None:
        return _array_table(items.array, items.labels, dict(axes or {}))
    return _dataset_table(items, dict(axes or {}))


def _labels(labels: np.ndarray) -> pd.Series:
    return pd.Series(list(labels)).infer_objects()  # the reader's object array, typed again


def _array_table(items: np.ndarray, labels: np.ndarray | None, axes: Axes) -> ItemTable:
    n = len(items)
    flat = items.reshape(n, -1).astype(np.float64) if n else np.zeros((0, 1))
    cols: dict[str, Any] = {}
    if labels is not None:
        cols["label"] = _labels(labels)  # one-hot already read as the class
    with np.errstate(invalid="ignore"):
        finite = np.where(np.isfinite(flat), flat, np.nan)
        cols["mean"] = np.nanmean(finite, axis=1) if flat.shape[1] else np.full(n, np.nan)
        cols["std"] = np.nanstd(finite, axis=1) if flat.shape[1] else np.full(n, np.nan)
        cols["min"] = np.nanmin(finite, axis=1) if flat.shape[1] and n else np.full(n, np.nan)
        cols["max"] = np.nanmax(finite, axis=1) if flat.shape[1] and n else np.full(n, np.nan)
    cols["nonfinite"] = (~np.isfinite(flat)).sum(axis=1)
    for name, fn in axes.items():
        cols[name] = [float(fn(item)) for item in items]
    frame = pd.DataFrame(cols)
    images = image_view(items) if n else None
    how = f"{n} items of shape {tuple(items.shape[1:])}, dtype {items.dtype}" + (
        "; shown as images" if images is not None else ""
    )
    return ItemTable(frame, images, how)


def _dataset_row(x: np.ndarray, label: Any, axes: Axes) -> dict[str, Any]:
    arr = x.astype(np.float64)
    row: dict[str, Any] = {
        "label": label,
        "shape": str(tuple(arr.shape)),
        "mean": float(np.nanmean(arr)) if arr.size else np.nan,
        "std": float(np.nanstd(arr)) if arr.size else np.nan,
        "nonfinite": int((~np.isfinite(arr)).sum()),
        "error": "",
    }
    for name, fn in axes.items():
        row[name] = float(fn(x))
    return row


def _dataset_table(items: Items, axes: Axes) -> ItemTable:
    rows: list[dict[str, Any]] = []
    pixels: list[np.ndarray | None] = []
    for i, x in enumerate(items.rows):
        label = None if items.labels is None else items.labels[i]
        try:
            if x is None:
                raise _Unread(items.errors.get(i, "not read"))
            rows.append(_dataset_row(x, label, axes))
            pixels.append(x.astype(np.float64))
        except Exception as err:  # noqa: BLE001 - a broken item is a finding; keep scanning
            rows.append({"error": str(err) if isinstance(err, _Unread) else _error(err)})
            pixels.append(None)
    frame = pd.DataFrame(rows)
    shapes = {a.shape for a in pixels if a is not None}
    images = None
    if len(shapes) == 1 and all(a is not None for a in pixels):
        images = image_view(np.stack(pixels))  # type: ignore[arg-type]
    broken = int((frame["error"] != "").sum()) if "error" in frame else 0
    how = f"{items.n} items read from {items.reader or 'the data'}"
    how += f"; {broken} raised" if broken else ""
    how += "; interrupted, showing the items read" if items.interrupted else ""
    return ItemTable(frame, images, how)


class _Unread(Exception):
    """An item the reader could not read: its recorded error becomes the row's error."""


def _error(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"
