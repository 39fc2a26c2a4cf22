"""The audit's k-nearest-neighbour search: exact below the cutoff, recall >= 0.95 above it, and
the recall it states about itself close to the one measured here."""

from __future__ import annotations

import numpy as np
import pytest

from recipe_widgets.engine.audit import _neighbours as nb


def _blobs(n: int, d: int = 20, seed: int = 0) -> np.ndarray:
    """Gaussian class blobs, isotropic inside each: hard for any index (no low-dim structure)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(5, d))
    return (centres[rng.integers(0, 5, n)] + rng.normal(0, 1, size=(n, d))) / np.sqrt(d)


def _brute(x: np.ndarray, k: int) -> np.ndarray:
    """Every distance, plainly: the reference."""
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, truth)]))


def test_below_the_cutoff_the_search_is_exact() -> None:
    x = _blobs(1500)
    got = nb.knn(x, 10)
    assert 1500 <= nb.EXACT_BELOW
    np.testing.assert_array_equal(got, _brute(x, 10))  # same neighbours, same order


def test_cells_recall_at_least_095_of_exact_search() -> None:
    x = _blobs(4000, seed=1)
    got = nb.knn(x, 10, exact=False)
    truth = nb.knn(x, 10, exact=True)
    assert got.shape == (4000, 10)
    assert (got != np.arange(4000)[:, None]).all()  # never its own neighbour
    assert all(len(set(r)) == 10 for r in got)  # no neighbour twice
    assert _recall(got, truth) >= 0.95


def test_cells_are_used_above_the_cutoff_and_are_deterministic(monkeypatch) -> None:
    x = _blobs(6000, seed=2)
    monkeypatch.setattr(nb, "EXACT_BELOW", 5000)
    a = nb.knn(x, 10)
    np.testing.assert_array_equal(a, nb.knn(x, 10, exact=False))
    assert _recall(a, nb.knn(x, 10, exact=True)) >= 0.95


def _truth_of(x: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Exact k nearest of ``rows`` among all of ``x``, in float64 blocks."""
    out = []
    for s in range(0, len(rows), 500):
        q = x[rows[s : s + 500]]
        d = (q**2).sum(1)[:, None] + (x**2).sum(1)[None, :] - 2 * q @ x.T
        d[np.arange(len(q)), rows[s : s + 500]] = np.inf
        out.append(np.argsort(d, axis=1, kind="stable")[:, :k])
    return np.concatenate(out)


def test_50k_clustered_rows_recall_at_least_095_and_stated_honestly() -> None:
    """50,000 rows in 40 clusters of varied spread over 20 columns: the cells find >= 95% of
    the exact 10 nearest (on 2,000 random rows), and the recall the search states, measured on
    its own sample, is within 0.05 of that."""
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 4, size=(40, 20))
    which = rng.integers(0, 40, 50_000)
    spread = rng.uniform(0.5, 1.5, size=40)[which, None]
    x = centres[which] + rng.normal(0, 1, size=(50_000, 20)) * spread
    assert nb.EXACT_BELOW < 50_000
    found = nb.search(x, 10)
    assert "k-means cells" in found.method and found.sample == nb.RECALL_SAMPLE
    rows = np.sort(rng.choice(50_000, 2000, replace=False))
    recall = _recall(found.index[rows], _truth_of(x, rows, 10))
    assert recall >= 0.95
    assert abs(found.recall - recall) <= 0.05
    assert nb.search(x[:100], 10).method.startswith("exact")


def test_bad_k_is_named() -> None:
    with pytest.raises(ValueError, match="k="):
        nb.knn(np.zeros((50, 3)), 0)
    with pytest.raises(ValueError, match="k=10"):
        nb.knn(np.zeros((5, 3)), 10)


@pytest.mark.parametrize("width", [7, 79, 80, 641, 7168, 7001])
def test_blocked_smallest_equals_a_plain_top_k(width: int) -> None:
    """The block-pruned top-k returns what ``topk`` does, smallest first, on widths that split
    into whole blocks and ones that leave a tail, with infinities and repeated values present."""
    import torch

    gen = torch.Generator().manual_seed(width)
    d = torch.randn(37, width, generator=gen)
    d[:, : min(width, 5)] = float("inf")  # the row itself, masked as the search does
    d[3] = d[3].round()  # many ties: the values, not the columns, must agree
    got = nb._smallest(d, 5)
    want = d.topk(5, dim=1, largest=False)
    assert torch.equal(d.gather(1, got), want.values)
    tie_free = [r for r in range(37) if r != 3]
    assert torch.equal(got[tie_free], want.indices[tie_free])
