"""Exact and near duplicates, within a split and leaking across splits.

Exact: a content hash (dtype, shape and bytes of an item; the values of a row). Near:

* images: each item shrunk to at most 8x8 grey levels by block means, then standardised per item
  (so a brighter or higher-contrast copy still matches) and scaled to unit length. Two images are
  near duplicates when the Euclidean distance of these codes is at most ``threshold`` (default
  0.1, i.e. a cosine similarity of at least 0.995). Calibrated on sklearn's digits: no two of its
  1,797 images are that close (the closest pair is at 0.107), while a copy with pixel noise of
  sd 0.3 (of 16) and 5% more brightness lands at 0.03 to 0.06. Candidates come from a KD-tree in an 8-d PCA
  projection (a projection never lengthens a distance, so no pair is missed) and are verified in
  the full code.
* plain vectors: the same, with each feature z-scored over all items instead of per item.
* tables and text: numeric columns z-scored and rounded to one decimal, text lower-cased with
  punctuation and repeated spaces removed; equal keys are near duplicates.
"""

from __future__ import annotations

import hashlib
import re
import warnings

import numpy as np
import pandas as pd

from recipe_widgets.engine.items import Items

NEAR_THRESHOLD = 0.1


def _hash_array(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.digest()


def _frame_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text, so mixed-type, categorical, tz-aware and bool columns all hash."""
    return frame.apply(lambda c: c.astype(str))


def _numeric(frame: pd.DataFrame) -> list[str]:
    """Columns of plain ints and floats: hashed by value, without a detour through text."""
    return [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c].dtype)
        and not pd.api.types.is_bool_dtype(frame[c].dtype)
        and isinstance(frame[c].dtype, np.dtype)
    ]


def _row_hashes(values: np.ndarray | None, text: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of a float64 block and a frame of text columns together."""
    parts = []
    if values is not None and values.shape[1]:
        values = np.where(np.isnan(values), np.nan, values + 0.0)  # one NaN, and -0.0 == 0.0
        parts.append(pd.DataFrame(values))
    if text.shape[1]:
        parts.append(text.reset_index(drop=True))
    joined = pd.concat(parts, axis=1, ignore_index=True)
    return pd.util.hash_pandas_object(joined, index=False).to_numpy()


def exact_keys(items: Items) -> list[object]:
    """One hashable key per item; ``None`` for items that could not be read.

    A table's row key hashes its numeric columns by value (float64) and its other columns as
    text (mixed-type, categorical, tz-aware and bool columns all hash that way)."""
    if items.frame is not None:
        if items.frame.shape[1] == 0:
            return [None] * items.n
        num = _numeric(items.frame)
        values = items.frame[num].to_numpy(dtype=np.float64, na_value=np.nan) if num else None
        text = _frame_strings(items.frame.drop(columns=num))
        return list(_row_hashes(values, text))
    return [None if r is None else _hash_array(r) for r in items.rows]


_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


def _norm_text(s: object) -> str:
    return _SPACE.sub(" ", _PUNCT.sub("", str(s).lower())).strip()


def near_keys(items: Items) -> list[object]:
    """Rounded / normalised keys for tables and text (see the module docstring): numeric
    columns z-scored and rounded to 0.1 (as whole tenths, so -0.04 and 0.04 agree)."""
    frame = items.frame
    assert frame is not None
    num = frame.select_dtypes(include=["number", "bool"]).astype(float)
    tenths = None
    if num.shape[1]:
        x = num.to_numpy(dtype=np.float64, na_value=np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
            sd = np.nanstd(x, axis=0, ddof=1)
            z = (x - np.nanmean(x, axis=0)) / np.where((sd > 0) & np.isfinite(sd), sd, 1.0)
        tenths = np.rint(z * 10.0)
    txt = frame.drop(columns=num.columns)
    if txt.shape[1]:
        txt = txt.apply(lambda c: c.map(_norm_text))
    if tenths is None and not txt.shape[1]:
        return [None] * items.n
    return list(_row_hashes(tenths, txt))


def _grey_small(x: np.ndarray) -> np.ndarray:
    """(B, H, W), (B, C, H, W) or (B, H, W, C) -> (B, h, w) with h, w <= 8, by block means."""
    x = x.astype(np.float64)
    if x.ndim == 4:
        channels_first = x.shape[1] in (1, 3, 4) and x.shape[-1] not in (1, 3, 4)
        x = x.mean(axis=1) if channels_first else x.mean(axis=-1)
    elif x.ndim > 4:
        x = x.reshape(x.shape[0], x.shape[1], -1)
    b, h, w = x.shape
    fh, fw = max(1, h // 8), max(1, w // 8)
    x = x[:, : (h // fh) * fh, : (w // fw) * fw]
    return x.reshape(b, h // fh, fh, w // fw, fw).mean(axis=(2, 4))  # (B, h', w')


def embed(items: Items, usable: np.ndarray) -> np.ndarray:
    """Unit-scale codes for near-duplicate search: (N, d); rows not ``usable`` are NaN.

    Usable items all share one shape (the corrupted-items check marks the others), so they are
    stacked and coded in batches.
    """
    idx = np.flatnonzero(usable)
    first = items.rows[idx[0]]
    if items.kind == "image":
        d = _grey_small(first[None]).size
        codes = np.full((items.n, d), np.nan)
        for start in range(0, len(idx), 4096):  # batches bound the float64 copy's memory
            part = idx[start : start + 4096]
            g = _grey_small(np.stack([items.rows[i] for i in part])).reshape(len(part), -1)
            g = g - g.mean(axis=1, keepdims=True)
            norm = np.linalg.norm(g, axis=1, keepdims=True)
            codes[part] = g / np.where(norm > 0, norm, 1.0)
        return codes
    d = first.size
    codes = np.full((items.n, d), np.nan)
    stack = np.stack([items.rows[i].ravel().astype(np.float64) for i in idx])
    sd = stack.std(axis=0)
    sd[sd == 0] = 1.0  # a constant feature says nothing; do not divide by zero
    codes[usable] = (stack - stack.mean(axis=0)) / sd / np.sqrt(d)
    return codes


def column_codes(x: np.ndarray) -> np.ndarray:
    """(N, D) numeric columns as codes whose distances ``near_pairs`` thresholds: each column
    z-scored, divided by sqrt(D) so a distance does not grow with the number of columns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: mean and sd are NaN
        sd = np.nanstd(x, axis=0)
        x = (x - np.nanmean(x, axis=0)) / np.where(sd > 0, sd, 1.0) / np.sqrt(x.shape[1])
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)  # missing values sit at the mean


def near_pairs(codes: np.ndarray, threshold: float) -> np.ndarray:
    """(P, 2) index pairs with distance at most ``threshold`` among the finite rows of ``codes``.

    Candidates: every pair within ``threshold`` in the top-8 PCA projection (an orthonormal
    projection never lengthens a distance, so none is missed); each is then verified in the full
    code. Eight dimensions balance the tree's pruning against the number of candidates (50,000
    random 64-d codes: about 24,000 candidates in 3 s; 16 dimensions take 13 s).
    """
    from scipy.spatial import cKDTree  # scipy comes with scikit-learn

    ok = np.flatnonzero(np.isfinite(codes).all(axis=1))
    if len(ok) < 2:
        return np.zeros((0, 2), dtype=int)
    full = codes[ok]
    centred = full - full.mean(axis=0)
    k = min(8, full.shape[1])
    sample = centred[
        np.random.default_rng(0).choice(len(centred), min(len(centred), 5000), replace=False)
    ]
    _, _, vt = np.linalg.svd(sample, full_matrices=False)
    proj = centred @ vt[:k].T  # (N, k)
    p = cKDTree(proj).query_pairs(threshold, output_type="ndarray")
    if not len(p):
        return np.zeros((0, 2), dtype=int)
    dist = np.linalg.norm(full[p[:, 0]] - full[p[:, 1]], axis=1)
    return ok[p[dist <= threshold]]


def groups_from_keys(keys: list[object]) -> list[list[int]]:
    """Items sharing a key, as groups of at least two (``None`` keys never match), in the
    order of each group's first item, members ascending."""
    at = [i for i, k in enumerate(keys) if k is not None]
    if at and all(isinstance(keys[i], (int, np.integer)) for i in at):
        try:
            arr = np.asarray([keys[i] for i in at], dtype=np.uint64)
        except (TypeError, ValueError, OverflowError):  # a negative or huge Python int
            arr = None
        if arr is not None:
            where = np.asarray(at)
            return [where[g].tolist() for g in _groups_of_ints(arr)]
    seen: dict[object, list[int]] = {}
    for i in at:
        seen.setdefault(keys[i], []).append(i)
    return [g for g in seen.values() if len(g) > 1]


def _groups_of_ints(keys: np.ndarray) -> list[np.ndarray]:
    """``groups_from_keys`` for integer keys, vectorised (a table's row hashes)."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    new = np.ones(len(sk), dtype=bool)
    new[1:] = sk[1:] != sk[:-1]
    gid = np.cumsum(new) - 1
    size = np.bincount(gid)
    keep = size[gid] > 1
    members, gids = order[keep], gid[keep]
    cut = np.flatnonzero(np.diff(gids)) + 1
    groups = np.split(members, cut) if len(members) else []
    return sorted(groups, key=lambda g: g[0])


def groups_from_pairs(n: int, pairs: np.ndarray) -> list[list[int]]:
    """Connected components of the pair graph (union-find), groups of at least two."""
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    for a, b in pairs:
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    out: dict[int, list[int]] = {}
    for i in np.unique(pairs) if len(pairs) else []:
        out.setdefault(root(int(i)), []).append(int(i))
    return [sorted(g) for g in out.values() if len(g) > 1]
