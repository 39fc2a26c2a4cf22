"""Array helpers every verb shares: any tensor or array-like to numpy, and the robust z-score.

Nothing here imports torch: a tensor is recognised by its ``detach`` method, so the data audit
and the explorer stay usable (and cheap to import) on numpy and pandas alone.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

#: 1.4826 * MAD estimates the standard deviation of a normal distribution.
MAD_TO_STD = 1.4826
#: (Q75 - Q25) / 1.349 does the same from the interquartile range.
IQR_TO_STD = 1.349


def to_numpy(x: Any) -> np.ndarray:
    """A tensor (any device, sparse, half precision) or array-like as a numpy array.

    Sparse tensors are made dense and float16 / bfloat16 read as float32 (numpy has no bfloat16).
    """
    detach = getattr(x, "detach", None)
    if not callable(detach):
        return np.asarray(x)
    t = detach()
    if str(t.layout) != "torch.strided":
        t = t.to_dense()
    if str(t.dtype) in ("torch.float16", "torch.bfloat16"):
        t = t.float()
    return t.cpu().numpy()


def robust_z(values: np.ndarray, fallback: str = "iqr") -> tuple[np.ndarray, np.ndarray]:
    """Per-column robust z-scores of an ``(N, F)`` array, and the mask of columns with no spread.

    z = (x - median) / (1.4826 * MAD): a few wild values cannot inflate the scale that judges
    them. Where MAD is 0 (over half the values equal) the scale is the IQR / 1.349
    (``fallback="iqr"``) or the standard deviation (``fallback="std"``); a column whose scale is
    still 0 or undefined is flagged in the mask and its z is NaN, never a division by zero.
    NaN values are ignored and stay NaN.
    """
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: their z stays NaN
        med = np.nanmedian(x, axis=0) if len(x) else np.zeros(x.shape[1:])
        mad = MAD_TO_STD * np.nanmedian(np.abs(x - med), axis=0)
        if fallback == "iqr":
            q75, q25 = np.nanpercentile(x, [75, 25], axis=0) if len(x) else (med, med)
            other = (q75 - q25) / IQR_TO_STD
        elif fallback == "std":
            other = np.nanstd(x, axis=0)
        else:
            raise ValueError(f"fallback must be 'iqr' or 'std', not {fallback!r}")
        scale = np.where(mad > 0, mad, other)
        flat = ~(scale > 0)
        z = (x - med) / np.where(flat, np.nan, scale)
    return z, flat
