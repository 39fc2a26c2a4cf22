"""k nearest neighbours of every row, in time linear in the number of rows (numpy only).

Up to ``EXACT_BELOW`` rows the search is exact (scikit-learn's brute force). Its cost grows
with the square of the rows, the forest's about linearly, and they cross near 100,000 rows x 20
columns (measured side by side on a 2-core machine under load: at 50,000 rows brute force took
13.5 s and the forest 26 s, at 100,000 rows 64 s and 96 s; the 312 s audit of 200,000 rows was
mostly brute force). Above the cutoff the rows go into a forest of random-projection trees:

* one tree splits the rows in half at the median of their projection on a random direction
  (for every node, the line through two of its rows picked at random), again and again until
  the leaves hold at most ``LEAF`` rows. All nodes of a level split at once, by one sort of the
  rows keyed by (node, projection), so a tree costs one sort of the rows per level;
* each row's candidates are the rows of its own leaf, and of a window of the same width shifted
  by half a leaf along the tree's order (it straddles the boundary between sibling leaves, where
  a row's true neighbours are most often cut off);
* ``TREES`` trees with independent directions are searched and their candidates merged (a
  neighbour found twice counts once); then one refinement round compares each row with its
  neighbours' neighbours and with the rows that list it (neighbour graphs are nearly
  symmetric), and the k nearest of all candidates are the answer.

Each tree costs about ``rows x 2 LEAF x columns`` multiply-adds and the refinement
``rows x 2 k (k + 1) x columns``, so the whole search is linear in the rows for a fixed leaf size
and number of trees (a tree's sorts add a log factor). Recall, the fraction of the exact k = 10
nearest neighbours found: 0.95 on 50,000 rows x 20 columns of isotropic Gaussian blobs (the
hard case: no low-dimensional structure for the splits to follow), 0.99 on a 10,000-row sample
of ``benchmarks/audit_scale.py``'s table (it measures this on a sample against exact search each
run), 0.999 on ``tests/engine/test_neighbours.py``'s 4,000 rows (pinned at >= 0.95). Recall
falls slowly as rows grow at a fixed leaf size. The answer is deterministic (a fixed seed).
"""

from __future__ import annotations

import numpy as np

EXACT_BELOW = 100_000
LEAF = 256
TREES = 12
REFINE = 1
_BLOCK_ELEMENTS = 4_000_000  # distance entries computed at once (at most 32 MB)


def knn(x: np.ndarray, k: int, *, exact: bool | None = None, seed: int = 0) -> np.ndarray:
    """``(N, k)`` indices of each row's k nearest other rows (Euclidean), nearest first.

    ``exact=None`` searches exactly up to ``EXACT_BELOW`` rows and with the tree forest above;
    ``True`` / ``False`` force one. Needs more than k finite rows.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = len(x)
    if n <= k:
        raise ValueError(f"{n} rows; k={k} neighbours need at least {k + 1}")
    if exact or (exact is None and n <= EXACT_BELOW):
        return _exact(x, k)
    # float32 halves the memory traffic; rounding reorders only near-ties among candidates
    return _forest(x.astype(np.float32), k, seed)


def _exact(x: np.ndarray, k: int) -> np.ndarray:
    """scikit-learn's brute force (blocked BLAS distances and a compiled k-smallest): the
    k + 1 nearest, the row itself dropped (or the farthest, when equal rows hide it)."""
    from sklearn.neighbors import NearestNeighbors

    _, idx = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(x).kneighbors(x)
    own = idx == np.arange(len(x))[:, None]
    own[~own.any(axis=1), k] = True
    return idx[~own].reshape(len(x), k)


def _tree_order(x: np.ndarray, rng: np.random.Generator, leaf: int) -> tuple[np.ndarray, int]:
    """The rows in the order of one random-projection tree's leaves, and the tree's depth."""
    n, d = x.shape
    depth = max(0, int(np.ceil(np.log2(n / leaf))))
    order = np.arange(n)
    pos = np.arange(n)
    for level in range(depth):
        node = pos * (1 << level) // n  # nearly equal nodes, contiguous along ``order``
        # each node's direction joins two of its rows picked at random (as Annoy does): it
        # follows the data's spread, where a Gaussian direction would often cut across it
        nodes = 1 << level
        lo = (np.arange(nodes) * n + nodes - 1) // nodes  # first position of each node
        size = np.diff(np.append(lo, n))
        a = order[lo + rng.integers(0, size)]
        b = order[lo + rng.integers(0, size)]
        dirs = x[a] - x[b]
        proj = np.einsum("ij,ij->i", x[order], dirs[node])
        order = order[np.lexsort((proj, node))]
    return order, depth


def _window_candidates(
    x: np.ndarray, order: np.ndarray, start: int, width: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``order[start:]`` in windows of ``width``: (rows, their k best, distances)."""
    n = len(order)
    m = (n - start) // width
    if m == 0:
        return np.zeros(0, np.int64), np.zeros((0, k), np.int64), np.zeros((0, k))
    idx = order[start : start + m * width].reshape(m, width)
    rows_all, best_all, dist_all = [], [], []
    per = max(1, _BLOCK_ELEMENTS // (width * width))
    eye = np.eye(width, dtype=bool)
    kk = min(k, width - 1)
    for b in range(0, m, per):
        w = idx[b : b + per]  # (B, W)
        pts = x[w]  # (B, W, d)
        sq = np.einsum("bwd,bwd->bw", pts, pts)
        dist = sq[:, :, None] - 2.0 * (pts @ pts.transpose(0, 2, 1)) + sq[:, None, :]
        dist[:, eye] = np.inf
        part = np.argpartition(dist, kk - 1, axis=2)[:, :, :kk]  # (B, W, kk)
        pd_ = np.take_along_axis(dist, part, axis=2)
        nb = np.take_along_axis(np.broadcast_to(w[:, None, :], dist.shape), part, axis=2)
        rows_all.append(w.reshape(-1))
        best_all.append(nb.reshape(-1, kk))
        dist_all.append(pd_.reshape(-1, kk))
    return np.concatenate(rows_all), np.concatenate(best_all), np.concatenate(dist_all)


def _merge(
    best: np.ndarray, dist: np.ndarray, rows: np.ndarray, cand: np.ndarray, cdist: np.ndarray
) -> None:
    """Fold candidates for ``rows`` into the running k best (in place), a repeat counted once."""
    k = best.shape[1]
    kk = cand.shape[1]
    if kk < k:
        cand = np.pad(cand, ((0, 0), (0, k - kk)), constant_values=-1)
        cdist = np.pad(cdist, ((0, 0), (0, k - kk)), constant_values=np.inf)
    ids = np.concatenate([best[rows], cand], axis=1)
    ds = np.concatenate([dist[rows], cdist], axis=1)
    srt = np.argsort(ids, axis=1, kind="stable")
    ids = np.take_along_axis(ids, srt, axis=1)
    ds = np.take_along_axis(ds, srt, axis=1)
    repeat = np.zeros_like(ids, dtype=bool)
    repeat[:, 1:] = (ids[:, 1:] == ids[:, :-1]) & (ids[:, 1:] >= 0)
    ds[repeat] = np.inf
    keep = np.argpartition(ds, k - 1, axis=1)[:, :k]
    best[rows] = np.take_along_axis(ids, keep, axis=1)
    dist[rows] = np.take_along_axis(ds, keep, axis=1)


def _forest(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    n = len(x)
    rng = np.random.default_rng(seed)
    best = np.full((n, k), -1, dtype=np.int64)
    dist = np.full((n, k), np.inf, dtype=x.dtype)
    for _ in range(TREES):
        order, depth = _tree_order(x, rng, LEAF)
        width = int(np.ceil(n / (1 << depth)))  # the largest leaf
        # leaves are equal to within one row; windows of the largest leaf's width cover them
        for start in (0, width // 2):
            rows, cand, cdist = _window_candidates(x, order, start, width, k)
            _merge(best, dist, rows, cand, cdist)
        tail = n % width  # rows past the last full window: one window ending at the last row
        if tail:
            rows, cand, cdist = _window_candidates(x, order, n - width, width, k)
            _merge(best, dist, rows, cand, cdist)
    for _ in range(REFINE):
        _refine(x, best, dist)
    order = np.argsort(dist, axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1)


def _reverse(best: np.ndarray) -> np.ndarray:
    """``(N, k)``: up to k rows that list each row among their k best (-1 pads)."""
    n, k = best.shape
    src = np.repeat(np.arange(n), k)
    dst = best.reshape(-1)
    srt = np.argsort(dst, kind="stable")
    src, dst = src[srt], dst[srt]
    first = np.searchsorted(dst, np.arange(n))
    rank = np.arange(len(dst)) - first[dst]
    keep = rank < k
    rev = np.full((n, k), -1, dtype=np.int64)
    rev[dst[keep], rank[keep]] = src[keep]
    return rev


def _refine(x: np.ndarray, best: np.ndarray, dist: np.ndarray) -> None:
    """One round of "a neighbour's neighbour is likely a neighbour", in place: each row is
    compared with the rows that list it, and with the k best of its k best and of those rows."""
    n, k = best.shape
    joint = np.concatenate([best, _reverse(best)], axis=1)  # (N, 2k)
    step = max(1, _BLOCK_ELEMENTS // (3 * k * k * x.shape[1]))
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        j = joint[rows]
        cand = np.concatenate([j, best[j].reshape(len(rows), -1)], axis=1)  # (R, 2k + 2k*k)
        bad = np.concatenate([j < 0, np.repeat(j < 0, k, axis=1)], axis=1) | (cand == rows[:, None])
        cand[bad] = -1
        diff = x[cand] - x[rows, None, :]
        cd = np.einsum("rcd,rcd->rc", diff, diff)
        cd[bad] = np.inf
        _merge(best, dist, rows, cand, cd)
