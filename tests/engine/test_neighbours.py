"""The audit's k-nearest-neighbour search: exact below the cutoff, recall >= 0.95 above it."""

from __future__ import annotations

import numpy as np

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


def test_forest_recall_at_least_095_of_exact_search() -> None:
    x = _blobs(4000, seed=1)
    got = nb.knn(x, 10, exact=False)
    truth = nb.knn(x, 10, exact=True)
    assert got.shape == (4000, 10)
    assert (got != np.arange(4000)[:, None]).all()  # never its own neighbour
    assert all(len(set(r)) == 10 for r in got)  # no neighbour twice
    assert _recall(got, truth) >= 0.95


def test_forest_is_used_above_the_cutoff_and_is_deterministic(monkeypatch) -> None:
    x = _blobs(6000, seed=2)
    monkeypatch.setattr(nb, "EXACT_BELOW", 5000)
    a = nb.knn(x, 10)
    np.testing.assert_array_equal(a, nb.knn(x, 10, exact=False))
    assert _recall(a, nb.knn(x, 10, exact=True)) >= 0.95
