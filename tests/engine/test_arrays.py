import numpy as np
import pytest
import torch

from recipe_widgets.engine.arrays import robust_z, to_numpy


def test_to_numpy_reads_half_precision_sparse_and_plain_inputs() -> None:
    bf = to_numpy(torch.tensor([1.5, -2.0], dtype=torch.bfloat16))
    assert bf.dtype == np.float32 and bf.tolist() == [1.5, -2.0]
    sparse = torch.eye(3).to_sparse()
    assert to_numpy(sparse).tolist() == np.eye(3).tolist()
    assert to_numpy([1, 2]).tolist() == [1, 2]


def test_robust_z_is_not_fooled_by_the_outlier_and_flags_flat_columns() -> None:
    x = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0], [1000.0, 5.0]])
    z, flat = robust_z(x)
    assert z[4, 0] > 100  # a plain z-score would give under 2
    assert flat.tolist() == [False, True] and np.isnan(z[:, 1]).all()


@pytest.mark.parametrize("fallback", ["iqr", "std"])
def test_robust_z_falls_back_when_over_half_the_values_are_equal(fallback) -> None:
    x = np.array([[0.0], [0.0], [0.0], [1.0], [1.0]])
    z, flat = robust_z(x, fallback=fallback)
    assert not flat[0]
    if fallback == "iqr":  # IQR is 1 here: q75 = 1, q25 = 0
        expected = 1 / (1 / 1.349)
    else:
        expected = 1 / float(np.std(x))
    assert z[3, 0] == pytest.approx(expected)
