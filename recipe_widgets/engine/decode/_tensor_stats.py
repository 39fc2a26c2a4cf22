"""An exact summary of any tensor: min, max, mean, std over finite values; NaN/Inf/zero counts.

Why not ``x.min(), x.max(), x.mean(), x.std()`` directly: each is a pass over memory, NaN
poisons all of them, integer tensors have no ``mean``, half precision overflows, and a CUDA
tensor copied to the CPU to be summarized can be gigabytes. Here the tensor is walked in
chunks of at most ``CHUNK`` elements on its own device; per chunk one ``aminmax`` tells whether
the chunk is all finite (NaN propagates through min/max, an Inf shows up as one), and only
chunks that are not pay for the masking. Each chunk's variance is taken around its own mean
(no sum-of-squares cancellation: a mean of 1e4 with a std of 1 keeps its std), and chunk
results are merged with Chan's parallel formula in float64.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from recipe_widgets.engine.threads import small_work

#: Elements per chunk: large enough that per-call overhead is small, small enough that the
#: chunk and its scratch buffer (deviations from its mean) stay in cache between the passes
#: (2 MB of float32 each; 4 MB chunks measured 20% slower with an 8 MB L3).
CHUNK = 1 << 19

_SPARSE_LAYOUTS = {
    torch.sparse_coo,
    torch.sparse_csr,
    torch.sparse_csc,
    torch.sparse_bsr,
    torch.sparse_bsc,
}


@dataclass(frozen=True)
class TensorStats:
    """The summary of one tensor. Statistics are ``None`` when there is nothing to summarize.

    ``count`` is the number of finite values the statistics are over. ``std`` is the sample
    standard deviation (``correction=1``, like ``torch.std``), ``None`` below two values.
    ``of`` says what was summarized when it is not the values themselves (``"|z|"`` for complex).
    """

    shape: tuple[int, ...]
    dtype: str
    device: str
    layout: str
    numel: int
    count: int
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    nan: int
    posinf: int
    neginf: int
    zeros: int
    requires_grad: bool = False
    of: str = ""
    note: str = ""
    nbytes: int = 0  # memory the elements take (dense layouts; 0 when not simply numel * size)

    @property
    def inf(self) -> int:
        return self.posinf + self.neginf

    @property
    def finite(self) -> bool:
        """True when no value is NaN or infinite."""
        return self.nan == 0 and self.inf == 0


@dataclass
class _Acc:
    """Running count / mean / M2 (sum of squared deviations) / min / max, merged chunk by chunk."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf

    def merge(self, n: int, mean: float, m2: float, lo: float, hi: float) -> None:
        if n == 0:
            return
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        self.lo = min(self.lo, lo)
        self.hi = max(self.hi, hi)


def _chunks(flat_source: torch.Tensor) -> Iterator[torch.Tensor]:
    """1-D chunks of the tensor's values without materialising a full copy.

    A contiguous tensor is flattened as a view; a non-contiguous one (a transpose, a slice,
    channels_last) is cut along its first dimension so only one chunk is ever copied.
    """
    x = flat_source
    if x.is_contiguous():
        flat = x.reshape(-1)
        for start in range(0, flat.numel(), CHUNK):
            yield flat[start : start + CHUNK]
        return
    if x.dim() == 0:
        yield x.reshape(1)
        return
    rows = x.shape[0]
    per_row = max(1, x.numel() // max(rows, 1))
    step = max(1, CHUNK // per_row)
    for start in range(0, rows, step):
        part = x[start : start + step]
        if part.dim() > 1 and part.shape[0] == 1 and part[0].numel() > CHUNK:
            yield from _chunks(part[0])  # one huge row: recurse into it
        else:
            yield part.reshape(-1)


def _as_real(chunk: torch.Tensor) -> torch.Tensor:
    """A float view of the chunk that ``var_mean`` accepts: ints, bools and halves are cast.

    float32 stays as it is (the CPU kernels accumulate in double); float64 stays exact.
    """
    if chunk.dtype in (torch.float32, torch.float64):
        return chunk
    if chunk.dtype in (torch.int64, torch.uint64):
        return chunk.to(torch.float64)  # float32 would round ids above 2**24
    return chunk.to(torch.float32)


def _scratch(real: torch.Tensor, buf: torch.Tensor | None) -> torch.Tensor:
    """A buffer of at least ``real``'s size, dtype and device, reused from chunk to chunk."""
    n = real.numel()
    if buf is None or buf.dtype != real.dtype or buf.device != real.device or buf.numel() < n:
        buf = torch.empty(max(n, CHUNK), dtype=real.dtype, device=real.device)
    return buf


def _zeros(real: torch.Tensor, buf: torch.Tensor) -> int:
    """How many values of ``real`` are zero. Most chunks whose range spans zero hold none
    (weights, normal data): the smallest magnitude says so in two cache passes, where
    ``count_nonzero`` costs about five times as long (measured: 90 against 276 us per chunk)."""
    n = real.numel()
    if float(torch.abs(real, out=buf[:n]).amin()) > 0:  # NaN compares False: counted below
        return 0
    return n - int(torch.count_nonzero(real))


def _moments(
    real: torch.Tensor, buf: torch.Tensor | None, bad: int = 0, fill: float = 0.0
) -> tuple[float, float, torch.Tensor]:
    """Mean and M2 of one chunk, with one pass over the chunk's memory.

    Deviations are taken from a shift (the mean of ~256 evenly spaced values) into a reused
    buffer that stays in cache, so the sum, the sum of squares and their correction,
    ``M2 = sum(d^2) - sum(d)^2 / n``, cost cache passes only. The correction is exact
    algebra; rounding stays small while the shift is within about a std of the chunk's mean,
    and when it is not (a skewed sample) the chunk is redone around its true mean. Sums are
    torch's cascade summation: a BLAS ``dot`` would accumulate naively and lose 1e-5 of the
    std on a million values.

    ``bad`` values of ``real`` are placeholders equal to ``fill`` (where NaN/Inf stood): their
    exact contribution is taken out again, so no compacting copy of the finite values is needed.
    """
    n = real.numel()
    count = n - bad
    buf = _scratch(real, buf)
    sample = real[:: max(1, n // 256)]
    shift = float(sample.sum()) / sample.numel()
    for _ in range(2):
        dev = torch.sub(real, shift, out=buf[:n])
        s1 = float(dev.sum())
        sq = float(torch.mul(dev, dev, out=dev).sum())
        if bad:
            off = float(torch.tensor(fill - shift, dtype=real.dtype))  # as rounded in dev
            s1 -= bad * off
            sq -= bad * off * off
        d_mean = s1 / count
        m2 = sq - s1 * d_mean
        if d_mean * d_mean <= max(m2, 0.0) / count:
            break
        shift += d_mean  # the shift was more than a std off: once more around the mean
    return shift + d_mean, max(m2, 0.0), buf


def _summarize_values(values: torch.Tensor, acc: _Acc, counts: dict[str, int]) -> None:
    buf: torch.Tensor | None = None
    for chunk in _chunks(values):
        n = chunk.numel()
        if n == 0:
            continue
        if chunk.dtype == torch.bool:  # True is 1: the stats follow from one count
            ones = int(torch.count_nonzero(chunk))
            counts["zeros"] += n - ones
            mean = ones / n
            m2 = ones * (1 - mean) ** 2 + (n - ones) * mean**2
            acc.merge(n, mean, m2, 0.0 if ones < n else 1.0, 1.0 if ones else 0.0)
            continue
        real = _as_real(chunk)
        lo_t, hi_t = torch.aminmax(real)
        lo, hi = float(lo_t), float(hi_t)
        if lo <= 0.0 <= hi or not (math.isfinite(lo) and math.isfinite(hi)):
            buf = _scratch(real, buf)  # else no zero can be there
            counts["zeros"] += _zeros(real, buf)
        bad, fill = 0, 0.0
        if not (math.isfinite(lo) and math.isfinite(hi)):
            # The slow path, only for chunks that hold a NaN or an Inf: count them, then put
            # one of the chunk's own finite values in their place (min/max stay right).
            finite = torch.isfinite(real)
            bad = n - int(torch.count_nonzero(finite))
            nan = int(torch.count_nonzero(torch.isnan(real)))
            pos = int(torch.count_nonzero(real == math.inf)) if bad > nan else 0
            counts["nan"] += nan
            counts["posinf"] += pos
            counts["neginf"] += bad - nan - pos
            if bad == n:
                continue
            sample = real[:: max(1, n // 256)]
            good = sample[torch.isfinite(sample)]
            if good.numel() == 0:
                good = real[finite][:1]  # rare: the sample missed every finite value
            fill = float(good[0])
            real = torch.where(finite, real, good[0])
            lo_t, hi_t = torch.aminmax(real)
            lo, hi = float(lo_t), float(hi_t)
        if real.dtype != torch.float64 and max(-lo, hi) > 1e18:
            real = real.to(torch.float64)  # squared deviations would overflow float32
        mean, m2, buf = _moments(real, buf, bad, fill)
        acc.merge(n - bad, mean, m2, lo, hi)


def tensor_stats(x: torch.Tensor) -> TensorStats:
    """Summarize ``x`` exactly, on its own device; only a handful of scalars reach the CPU.

    Works for every dtype and layout torch has: empty and 0-dim tensors, bool (True is 1),
    ints (cast per chunk, int64 to float64 so large ids stay exact), float16/bfloat16 (cast per
    chunk so sums do not overflow), complex (summarized as magnitudes ``|z|``), sparse (stored
    values plus the implicit zeros), quantized (dequantized per tensor), and meta tensors
    (shape only: they hold no data).

    On the CPU it runs on one intra-op thread (your ``torch.get_num_threads()`` is restored
    afterwards): the summary is thousands of 2 MB ops, and their thread barriers make it 10-30x
    slower with several threads when other processes keep the cores busy (see ``threads``).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"tensor_stats expects a torch.Tensor, got {type(x).__name__}")
    with small_work():
        return _tensor_stats(x)


@torch.no_grad()
def _tensor_stats(x: torch.Tensor) -> TensorStats:
    """``tensor_stats`` at the caller's thread count (the benchmark times both)."""
    shape = tuple(int(s) for s in x.shape)
    numel = math.prod(shape)
    base = {
        "shape": shape,
        "dtype": str(x.dtype).removeprefix("torch."),
        "device": str(x.device),
        "layout": str(x.layout).removeprefix("torch."),
        "numel": numel,
        "requires_grad": bool(x.requires_grad),
        # what a meta tensor would take once real; sparse storage is not numel * size
        "nbytes": numel * x.element_size() if x.layout == torch.strided else 0,
    }
    empty = {"count": 0, "min": None, "max": None, "mean": None, "std": None}
    if x.device.type == "meta":
        return TensorStats(
            **base, **empty, nan=0, posinf=0, neginf=0, zeros=0, note="meta tensor: no data"
        )
    x = x.detach()
    of = ""
    implicit_zeros = 0
    if x.layout in _SPARSE_LAYOUTS:
        if x.layout == torch.sparse_coo:
            x = x.coalesce()  # duplicate indices add up; coalescing makes the values unique
        values = x.values()
        implicit_zeros = numel - values.numel()
        x = values
    if x.is_quantized:
        x = x.dequantize()
    if x.is_complex():
        x = x.abs()
        of = "|z|"
    acc = _Acc()
    counts = {"nan": 0, "posinf": 0, "neginf": 0, "zeros": 0}
    _summarize_values(x, acc, counts)
    if implicit_zeros:
        counts["zeros"] += implicit_zeros
        acc.merge(implicit_zeros, 0.0, 0.0, 0.0, 0.0)
    if acc.n == 0:
        note = "no finite values" if numel else "empty"
        return TensorStats(**base, **empty, **counts, of=of, note=note)
    std = math.sqrt(acc.m2 / (acc.n - 1)) if acc.n > 1 else None
    return TensorStats(
        **base,
        count=acc.n,
        min=acc.lo,
        max=acc.hi,
        mean=acc.mean,
        std=std,
        **counts,
        of=of,
    )
