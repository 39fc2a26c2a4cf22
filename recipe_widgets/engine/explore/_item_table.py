"""One row per item: what the explorer sorts, filters and plots when data is not a DataFrame.

Arrays, tensors, ``(inputs, targets)`` pairs and map-style Datasets become a DataFrame of
per-item statistics (label, shape, mean, std, min, max, NaN count), plus any user-defined axes,
plus uint8 thumbnails when the items are images. An item whose ``__getitem__`` raises keeps its
row, with the error in the ``error`` column: the scan goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recipe_widgets.engine.arrays import to_numpy

MAX_ITEMS = 200_000  # past this, computing per-item stats in a notebook is the wrong tool


@dataclass(frozen=True)
class ItemTable:
    frame: pd.DataFrame
    images: np.ndarray | None  # uint8 (N, H, W) or (N, H, W, 3), or None
    how: str  # how the items were read, said to the person


def _image_view(items: np.ndarray) -> np.ndarray | None:
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
    v = view.astype(np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        return np.zeros(view.shape, dtype=np.uint8)
    lo, hi = float(v[finite].min()), float(v[finite].max())
    # One scale for the whole set, never per image: a dark image must look dark.
    scaled = (np.where(finite, v, lo) - lo) / (hi - lo if hi > lo else 1.0)
    return (scaled * 255).round().astype(np.uint8)


def item_table(
    data: Any,
    labels: Any = None,
    *,
    axes: Mapping[str, Callable[[Any], float]] | None = None,
) -> ItemTable:
    """Per-item rows for arrays / tensors, ``(inputs, targets)`` pairs and map-style Datasets."""
    axes = dict(axes or {})
    if isinstance(data, tuple) and len(data) == 2 and labels is None:
        data, labels = data
    if (
        hasattr(data, "__getitem__")
        and hasattr(data, "__len__")
        and not hasattr(data, "shape")
        and not isinstance(data, (list, tuple))
    ):
        return _dataset_table(data, axes)
    items = to_numpy(data)
    if items.dtype == object or items.ndim == 0:
        raise TypeError(
            f"cannot read items from {type(data).__name__} with dtype {items.dtype}; pass a numeric "
            "array or tensor (N, ...), an (inputs, targets) pair, a Dataset, or a DataFrame"
        )
    n = len(items)
    if n > MAX_ITEMS:
        raise ValueError(
            f"{n} items; explore a sample of at most {MAX_ITEMS} (e.g. a random Subset)"
        )
    flat = items.reshape(n, -1).astype(np.float64) if n else np.zeros((0, 1))
    cols: dict[str, Any] = {}
    if labels is not None:
        y = to_numpy(labels)
        if len(y) != n:
            raise ValueError(f"{len(y)} labels for {n} items; they must match one to one")
        cols["label"] = y.argmax(axis=1) if y.ndim == 2 else y  # one-hot shown as the class
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
    images = _image_view(items) if n else None
    how = f"{n} items of shape {tuple(items.shape[1:])}, dtype {items.dtype}" + (
        "; shown as images" if images is not None else ""
    )
    return ItemTable(frame, images, how)


def _dataset_table(dataset: Any, axes: Mapping[str, Callable[[Any], float]]) -> ItemTable:
    n = len(dataset)
    if n > MAX_ITEMS:
        raise ValueError(
            f"{n} items; explore a sample of at most {MAX_ITEMS} (e.g. a random Subset)"
        )
    rows: list[dict[str, Any]] = []
    firsts: list[np.ndarray | None] = []
    for i in range(n):
        row: dict[str, Any] = {}
        try:
            item = dataset[i]
            x, y = (
                (item[0], item[1])
                if isinstance(item, (tuple, list)) and len(item) >= 2
                else (item, None)
            )
            arr = to_numpy(x).astype(np.float64)
            row.update(
                label=_scalar(y),
                shape=str(tuple(arr.shape)),
                mean=float(np.nanmean(arr)) if arr.size else np.nan,
                std=float(np.nanstd(arr)) if arr.size else np.nan,
                nonfinite=int((~np.isfinite(arr)).sum()),
                error="",
            )
            for name, fn in axes.items():
                row[name] = float(fn(x))
            firsts.append(arr)
        except Exception as err:  # noqa: BLE001 - a broken item is a finding; keep scanning
            row.update(error=f"{type(err).__name__}: {err}")
            firsts.append(None)
        rows.append(row)
    frame = pd.DataFrame(rows)
    shapes = {a.shape for a in firsts if a is not None}
    images = None
    if len(shapes) == 1 and all(a is not None for a in firsts):
        images = _image_view(np.stack(firsts))  # type: ignore[arg-type]
    broken = int((frame["error"] != "").sum()) if "error" in frame else 0
    how = f"{n} items read from {type(dataset).__name__}" + (f"; {broken} raised" if broken else "")
    return ItemTable(frame, images, how)


def _scalar(y: Any) -> Any:
    if y is None:
        return None
    arr = to_numpy(y)
    if arr.ndim == 0:
        return arr.item()
    if arr.ndim == 1 and arr.size > 1:
        return int(arr.argmax())  # one-hot
    return str(arr.tolist())
