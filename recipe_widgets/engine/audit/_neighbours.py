"""k nearest neighbours of every row, in time linear in the number of rows (torch on the CPU).

Up to ``EXACT_BELOW`` rows the search is exact (scikit-learn's brute force, whose cost grows with
the square of the rows: on a busy 2-core machine 20,000 rows x 20 columns took about 4 s, 100,000
rows 105 s). Above it the rows go into an inverted file of k-means cells, searched cell by cell:

* k-means (``KMEANS_ROUNDS`` Lloyd rounds on a sample of ``SAMPLE_PER_CELL`` rows per centroid)
  cuts the rows into cells of about ``CELL`` rows, and every row goes to its nearest centroid;
* which cells a cell searches is voted by the sampled rows: each names its ``PROBES`` nearest
  centroids, and a cell searches its own rows and those of the ``GROUP - 1`` cells its sampled
  members named most often;
* the rows of one cell are searched together: one block of distances (cell rows x candidate
  rows, a matrix product) and one top-k give each row its k nearest candidates. Each row meets
  about ``CELL x GROUP`` candidates (about 7,000) whatever the table's size, so the cost is
  linear in the rows.

Recall, the fraction of the exact k = 10 nearest neighbours returned, is measured by the search
itself on ``RECALL_SAMPLE`` random rows against exact search over all rows (float64 distances),
and returned with the answer (``Neighbours.recall``); the audit states it in the label-noise
evidence. The hard case is Gaussian blobs isotropic in 20 dimensions (``benchmarks/audit_scale.py``'s
table: no low-dimensional structure for any index to exploit): recall 0.96 at 50,000 rows, 0.90
at 100,000, 0.60 at 300,000 and 0.42 at 1,000,000, because the same number of candidates is a
smaller share of a larger table (any index with a fixed cost per row behaves so there). The
label-noise finding resting on these neighbours degrades far less: it finds 98% of the labels
planted wrong at 100,000 rows and 97.6% at 1,000,000 (a vote of 8 of 10 close rows survives
neighbours that are close but not the closest). Data with structure
(separated clusters, fewer effective dimensions) is found almost exactly
(``tests/engine/test_neighbours.py``). Work runs on one intra-op thread
(``engine.threads.small_work``): on a busy 2-core machine two threads made the same search three
times slower (100,000 rows: 27 s against 9 s). The answer is deterministic (a fixed seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

EXACT_BELOW = 20_000
CELL = 512  # rows per k-means cell
PROBES = 8  # nearest centroids each row names
GROUP = 14  # cells searched for the rows of one cell
KMEANS_ROUNDS = 4
SAMPLE_PER_CELL = 32
RECALL_SAMPLE = 200
THREADS = 1
# Distances are made and reduced in blocks of about 2 MB (a core's L2 cache): on this machine a
# 65,536-row block (512 MB of distances to 1,953 centroids) took 8.5 s per million rows to assign
# to centroids, 256-row blocks 4.4 s; a cell searched 64 rows at a time, 20% less than all at once.
_BLOCK_BYTES = 1 << 21


def _rows_per_block(columns: int, itemsize: int = 4) -> int:
    return max(16, _BLOCK_BYTES // (itemsize * max(1, columns)))


@dataclass(frozen=True)
class Neighbours:
    """``index``: ``(N, k)`` neighbour rows, nearest first; ``method``: how they were found;
    ``recall``: the measured fraction of the exact neighbours returned (1.0 when exact), on
    ``sample`` random rows (0 when exact)."""

    index: np.ndarray
    method: str
    recall: float
    sample: int


def knn(x: np.ndarray, k: int, *, exact: bool | None = None, seed: int = 0) -> np.ndarray:
    """``(N, k)`` indices of each row's k nearest other rows (Euclidean), nearest first.

    ``exact=None`` searches exactly up to ``EXACT_BELOW`` rows and with k-means cells above;
    ``True`` / ``False`` force one. Needs more than k finite rows.
    """
    return search(x, k, exact=exact, seed=seed, measure=False).index


def search(
    x: np.ndarray, k: int, *, exact: bool | None = None, seed: int = 0, measure: bool = True
) -> Neighbours:
    """``knn`` with how it ran: the method and, for the approximate search, its recall measured
    against exact search on ``RECALL_SAMPLE`` random rows (``measure=False`` skips that)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = len(x)
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}; the number of neighbours must be a positive integer")
    if n <= k:
        raise ValueError(f"{n} rows; k={k} neighbours need at least {k + 1}")
    if exact or (exact is None and n <= EXACT_BELOW):
        return Neighbours(_exact(x, k), "exact (brute force)", 1.0, 0)
    import torch

    from recipe_widgets.engine.threads import small_work

    # float32 halves the memory traffic; rounding reorders only near-ties among candidates
    xt = torch.from_numpy(x.astype(np.float32))
    with small_work(THREADS):
        idx = _cells(xt, k, seed)
        recall, m = _measured_recall(xt, idx, seed) if measure else (float("nan"), 0)
    method = (
        f"k-means cells of about {CELL} rows, each searched against the {GROUP} cells its rows "
        f"are nearest to (about {CELL * GROUP:,} candidates per row)"
    )
    return Neighbours(idx, method, recall, m)


def _exact(x: np.ndarray, k: int) -> np.ndarray:
    """scikit-learn's brute force (blocked BLAS distances and a compiled k-smallest): the
    k + 1 nearest, the row itself dropped (or the farthest, when equal rows hide it)."""
    from sklearn.neighbors import NearestNeighbors

    _, idx = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(x).kneighbors(x)
    own = idx == np.arange(len(x))[:, None]
    own[~own.any(axis=1), k] = True
    return idx[~own].reshape(len(x), k)


def _nearest_centroids(x: torch.Tensor, cent: torch.Tensor, p: int) -> torch.Tensor:
    """``(N, p)`` each row's p nearest centroids, nearest first (``p = 1``: an argmin)."""
    import torch

    cn = (cent * cent).sum(1)
    out = []
    step = _rows_per_block(len(cent))
    for s in range(0, len(x), step):
        d = torch.addmm(cn[None, :], x[s : s + step], cent.T, alpha=-2.0)  # + |x|^2 per row
        out.append(_smallest(d, p) if p > 1 else d.argmin(1)[:, None])
    return torch.cat(out)


def _smallest(d: torch.Tensor, k: int) -> torch.Tensor:
    """The columns of each row's k smallest values, smallest first: ``d.topk(k, largest=False)``
    (the same columns, ties apart) in about 80% of its time on wide rows (6.8 against 8.6 ms
    for 512 rows of 7,168 candidates, one thread). The row is cut into blocks; the k blocks
    with the smallest minima hold the k smallest values (a value in any other block has k block
    minima at or below it), so one top-k runs over those blocks only."""
    import torch

    n, m = d.shape
    b = m // (8 * k)  # about 8k blocks
    if b < 8:
        return d.topk(k, dim=1, largest=False).indices
    full = (m // b) * b
    blocks = d[:, :full].reshape(n, m // b, b).amin(2).topk(k, dim=1, largest=False).indices
    cols = (blocks[:, :, None] * b + torch.arange(b)).reshape(n, k * b)
    if full < m:  # the columns past the last whole block are candidates always
        cols = torch.cat([cols, torch.arange(full, m).expand(n, -1)], 1)
    return cols.gather(1, d.gather(1, cols).topk(k, dim=1, largest=False).indices)


def _kmeans(x: torch.Tensor, cells: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroids from Lloyd rounds on a sample of ``SAMPLE_PER_CELL`` rows per centroid, and
    that sample."""
    import torch

    sample = x[torch.randperm(len(x), generator=gen)[: min(len(x), SAMPLE_PER_CELL * cells)]]
    cent = sample[torch.randperm(len(sample), generator=gen)[:cells]].clone()
    for _ in range(KMEANS_ROUNDS):
        a = _nearest_centroids(sample, cent, 1)[:, 0]
        sums = torch.zeros_like(cent).index_add_(0, a, sample)
        count = torch.bincount(a, minlength=cells)
        ok = count > 0  # an empty cell keeps its centroid
        cent[ok] = sums[ok] / count[ok, None].to(sums.dtype)
    return cent, sample


def _cells(x: torch.Tensor, k: int, seed: int) -> np.ndarray:
    import torch

    n = len(x)
    gen = torch.Generator().manual_seed(seed)
    cells = max(1, n // CELL)
    cent, sample = _kmeans(x, cells, gen)
    own = _nearest_centroids(x, cent, 1)[:, 0]
    # which cells a cell searches: voted by a sample of rows naming their nearest centroids
    probes = _nearest_centroids(sample, cent, min(PROBES, cells))
    group = _groups(probes[:, 0].numpy(), probes.numpy(), cells)
    order = torch.argsort(own, stable=True)
    start = [0, *torch.bincount(own, minlength=cells).cumsum(0).tolist()]
    xs = x[order]
    sq = (xs * xs).sum(1)
    best = torch.empty((n, k), dtype=torch.int64)
    for c in range(cells):
        a, b = start[c], start[c + 1]
        if a == b:
            continue
        cand = torch.cat([torch.arange(start[j], start[j + 1]) for j in group[c]])
        if len(cand) <= k:  # a tiny neighbourhood: widen it to every row
            cand = torch.cat([torch.arange(a, b), torch.arange(0, a), torch.arange(b, n)])
        cn, ct = sq[cand][None, :], xs[cand].T
        step = _rows_per_block(len(cand))
        for r in range(a, b, step):
            e = min(b, r + step)
            # |q - c|^2 less |q|^2, the same along a row: enough to rank a row's candidates
            d = torch.addmm(cn, xs[r:e], ct, alpha=-2.0)
            # the cell's own rows come first among the candidates: a row is never its own
            d[:, r - a : e - a].diagonal().fill_(float("inf"))
            best[r:e] = order[cand[_smallest(d, k)]]  # nearest first
    out = torch.empty_like(best)
    out[order] = best
    return out.numpy()


def _groups(own: np.ndarray, probes: np.ndarray, cells: int) -> list[list[int]]:
    """Per cell, the ``GROUP`` cells its rows name most often among their nearest centroids
    (its own cell first), from the (cell, named cell) pairs counted sparsely."""
    pairs, votes = np.unique(own[:, None] * cells + probes, return_counts=True)
    cell, named = pairs // cells, pairs % cells
    votes[cell == named] = len(own) + 1  # its own cell first, always
    order = np.lexsort((-votes, cell))
    cell, named = cell[order], named[order]
    first = np.searchsorted(cell, np.arange(cells))
    keep = np.arange(len(cell)) - first[cell] < GROUP
    out: list[list[int]] = [[c] for c in range(cells)]  # a cell no row names has its own rows only
    for c, j in zip(cell[keep].tolist(), named[keep].tolist()):
        if j != c:
            out[c].append(j)
    return out


def _measured_recall(x: torch.Tensor, idx: np.ndarray, seed: int) -> tuple[float, int]:
    """The fraction of the exact k nearest that ``idx`` holds, on a random sample of rows."""
    import torch

    n, k = idx.shape
    m = min(n, RECALL_SAMPLE)
    rows = np.sort(np.random.default_rng(seed + 1).choice(n, m, replace=False))
    q = x[torch.from_numpy(rows)].double()
    qn = (q * q).sum(1)[:, None]
    best_d, best_i = [], []
    step = _rows_per_block(m, itemsize=8)
    for s in range(0, n, step):  # exact distances, in float64, block by block of columns
        xb = x[s : s + step].double()
        d = qn + (xb * xb).sum(1)[None, :] - 2.0 * (q @ xb.T)
        mine = np.flatnonzero((rows >= s) & (rows < s + len(xb)))  # sampled rows in this block
        d[mine, rows[mine] - s] = float("inf")  # never itself
        top = d.topk(min(k, len(xb)), dim=1, largest=False)
        best_d.append(top.values)
        best_i.append(top.indices + s)
    pick = torch.cat(best_d, 1).topk(k, dim=1, largest=False).indices
    truth = torch.cat(best_i, 1).gather(1, pick).numpy()
    found = (idx[rows][:, :, None] == truth[:, None, :]).any(axis=2)
    return float(found.mean()), m
