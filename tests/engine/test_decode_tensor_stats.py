"""tensor_stats: exact against a float64 torch reference, and every edge case named."""

from __future__ import annotations

import math

import pytest
import torch

from recipe_widgets.engine.decode import _tensor_stats as tensor_stats_module
from recipe_widgets.engine.decode import tensor_stats


def _reference(x: torch.Tensor) -> dict[str, float]:
    d = x.detach().double().reshape(-1)
    f = d[torch.isfinite(d)]
    return {
        "min": float(f.min()),
        "max": float(f.max()),
        "mean": float(f.mean()),
        "std": float(f.std()),
        "nan": int(torch.isnan(d).sum()),
        "posinf": int((d == math.inf).sum()),
        "neginf": int((d == -math.inf).sum()),
        "zeros": int((d == 0).sum()),
    }


def _assert_matches(x: torch.Tensor) -> None:
    s = tensor_stats(x)
    ref = _reference(x)
    assert s.min == ref["min"] and s.max == ref["max"]
    assert (s.nan, s.posinf, s.neginf, s.zeros) == (
        ref["nan"],
        ref["posinf"],
        ref["neginf"],
        ref["zeros"],
    )
    assert s.mean == pytest.approx(ref["mean"], rel=1e-5, abs=1e-9)
    assert s.std == pytest.approx(ref["std"], rel=1e-5)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Several chunks on small tensors, so merging (Chan's formula) is exercised cheaply.
    monkeypatch.setattr(tensor_stats_module, "CHUNK", 1000)


def test_planted_nan_and_huge_value_exact(small_chunks: None) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(10_007, generator=g)
    x[17] = math.nan
    x[5000] = 1e30
    x[9000] = -math.inf
    x[123] = 0.0
    _assert_matches(x)
    s = tensor_stats(x)
    assert s.count == 10_007 - 2 and not s.finite and s.inf == 1


def test_mean_1e4_std_1_keeps_its_std(small_chunks: None) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(20_000, generator=g) + 1e4
    _assert_matches(x)
    assert tensor_stats(x).std == pytest.approx(1.0, rel=0.05)


def test_default_chunk_size_float32_accuracy() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1 << 21, generator=g) * 3 + 7  # two default chunks
    _assert_matches(x)


@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float64, torch.int32, torch.int64, torch.uint8]
)
def test_dtypes(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(3000, generator=g) * 200).to(dtype)
    s = tensor_stats(x)
    ref = _reference(x)
    assert s.min == ref["min"] and s.max == ref["max"] and s.zeros == ref["zeros"]
    assert s.mean == pytest.approx(ref["mean"], rel=1e-5)
    assert s.std == pytest.approx(ref["std"], rel=1e-4)
    assert s.dtype == str(dtype).removeprefix("torch.")


def test_large_int64_ids_exact() -> None:
    x = torch.tensor([2**40 + 1, 2**40 + 3], dtype=torch.int64)
    s = tensor_stats(x)
    assert s.min == 2**40 + 1 and s.max == 2**40 + 3 and s.mean == 2**40 + 2


def test_bool_counts() -> None:
    s = tensor_stats(torch.tensor([True, False, True, True]))
    assert (s.min, s.max, s.mean, s.zeros) == (0.0, 1.0, 0.75, 1)
    assert s.std == pytest.approx(torch.tensor([1.0, 0, 1, 1]).std().item())


def test_empty_and_zero_dim() -> None:
    e = tensor_stats(torch.empty(0, 3))
    assert e.numel == 0 and e.count == 0 and e.mean is None and e.note == "empty"
    z = tensor_stats(torch.tensor(2.5))
    assert z.shape == () and (z.min, z.max, z.mean, z.std) == (2.5, 2.5, 2.5, None)


def test_all_nan() -> None:
    s = tensor_stats(torch.full((5,), math.nan))
    assert s.nan == 5 and s.count == 0 and s.min is None and s.note == "no finite values"


def test_complex_summarized_as_magnitude() -> None:
    x = torch.tensor([3 + 4j, 0j, -6 + 8j])
    s = tensor_stats(x)
    assert s.of == "|z|" and (s.min, s.max) == (0.0, 10.0) and s.mean == pytest.approx(5.0)


def test_non_contiguous_and_channels_last(small_chunks: None) -> None:
    g = torch.Generator().manual_seed(4)
    base = torch.randn(60, 70, generator=g)
    _assert_matches(base.T)
    _assert_matches(base[::3, 1::2])
    cl = torch.randn(4, 3, 20, 20, generator=g).to(memory_format=torch.channels_last)
    assert not cl.is_contiguous()
    _assert_matches(cl)


def test_skewed_sample_shift_is_redone(small_chunks: None) -> None:
    # Every sampled value (each 3rd of a 1000-chunk) is 100, the chunk's mean is ~33: the
    # shift is several stds off and the chunk must be redone around its mean.
    x = torch.zeros(3000, dtype=torch.float32)
    x[::3] = 100.0
    x += torch.linspace(0, 1e-3, 3000)
    _assert_matches(x)


def test_sorted_values() -> None:
    x = torch.sort(torch.randn(50_000, generator=torch.Generator().manual_seed(5)) * 5 + 3).values
    _assert_matches(x)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_sparse_counts_implicit_zeros() -> None:
    dense = torch.zeros(10, 10)
    dense[1, 2] = 3.0
    dense[4, 4] = -1.0
    for sp in (dense.to_sparse(), dense.to_sparse_csr()):
        s = tensor_stats(sp)
        assert s.zeros == 98 and s.count == 100 and (s.min, s.max) == (-1.0, 3.0)
        assert s.mean == pytest.approx(0.02)
        assert s.std == pytest.approx(float(dense.std()))


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
def test_uncoalesced_sparse_duplicates_add_up() -> None:
    i = torch.tensor([[0, 0], [1, 1]])
    sp = torch.sparse_coo_tensor(i, torch.tensor([1.0, 2.0]), (2, 2))
    assert tensor_stats(sp).max == 3.0


def test_meta_has_shape_only() -> None:
    s = tensor_stats(torch.empty(3, 4, device="meta"))
    assert s.shape == (3, 4) and s.count == 0 and "meta" in s.note


def test_requires_grad_untouched() -> None:
    x = torch.randn(10, requires_grad=True)
    y = x * 2
    s = tensor_stats(y)
    assert s.requires_grad and y.grad_fn is not None and x.grad is None


def test_refuses_non_tensor() -> None:
    with pytest.raises(TypeError, match="torch.Tensor"):
        tensor_stats([1, 2, 3])  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_stays_on_device() -> None:
    x = torch.randn(100_000, device="cuda")
    x[3] = math.nan
    s = tensor_stats(x)
    assert s.device.startswith("cuda") and s.nan == 1
    _assert_matches(x)


def test_zero_counts_across_chunks_with_and_without_zeros() -> None:
    """Chunks that span zero without holding one skip the count; those holding +0.0, -0.0 or a
    NaN beside zeros are counted exactly."""
    from recipe_widgets.engine.decode._tensor_stats import CHUNK

    g = torch.Generator().manual_seed(3)
    x = torch.randn(4 * CHUNK + 17, generator=g)
    x[x == 0] = 0.5  # no zero by chance in the first chunk
    x[CHUNK + 5] = 0.0
    x[CHUNK + 9] = -0.0
    x[2 * CHUNK + 1 : 2 * CHUNK + 101] = 0.0
    x[2 * CHUNK + 200] = float("nan")
    x[4 * CHUNK + 3] = -0.0  # in the short last chunk
    s = tensor_stats(x)
    assert s.zeros == 2 + 100 + 1 and s.nan == 1
