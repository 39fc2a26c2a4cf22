"""Tensor summary and batch decoding, side by side with lovely-tensors, in the same run.

    python benchmarks/decode.py            # 100M elements, 256x3x64x64 grid, bars enforced
    python benchmarks/decode.py --smoke    # small, no bars (make test)

Measures (ratios against the floor, not absolute times: the machine is shared):
  1. exact summary stats (min, max, mean, std over finite values, NaN/Inf/zero counts) of a finite
     float32 tensor against one ``torch.aminmax`` over it (a single pass over memory, the floor;
     bar: <= 8x) and against lovely-tensors' summary of the same tensor (bar: >= 10x faster);
  2. the same with a planted NaN and a 1e30 (bar: <= 40x aminmax), checked exact against a
     float64 reference (min/max/counts equal, mean/std within 1e-5 relative); and, reported
     without a bar, with NaN/Inf spread through every chunk (the masked path everywhere);
  3. decoding and rendering a 256x3x64x64 batch as an HTML grid (bar: < 300 ms, median).
lovely-tensors (``pip install lovely-tensors``) patches ``torch.Tensor.__repr__`` only when asked
(``monkey_patch()``); its ``lovely(t)`` summary is called directly, and the run checks that no
patch was left on. Interleaved repeats, medians. Last line ``RESULT decode ...``; exit 1 when a
bar is missed.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recipe_widgets.display._decode import decoded_html  # noqa: E402 - after sys.path
from recipe_widgets.engine.decode import decode, tensor_stats  # noqa: E402


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _lovely() -> Callable[[torch.Tensor], str] | None:
    try:
        import lovely_tensors
    except ImportError:
        return None
    return lambda t: str(lovely_tensors.lovely(t))


def _reference(x: torch.Tensor) -> dict[str, float]:
    """float64 reference, chunked so a 100M tensor costs no 800 MB copy."""
    n = 0
    total = 0.0
    lo, hi = math.inf, -math.inf
    counts = {"nan": 0, "posinf": 0, "neginf": 0, "zeros": 0}
    for c in x.reshape(-1).split(1 << 22):
        d = c.double()
        counts["nan"] += int(torch.isnan(d).sum())
        counts["posinf"] += int((d == math.inf).sum())
        counts["neginf"] += int((d == -math.inf).sum())
        counts["zeros"] += int((d == 0).sum())
        f = d[torch.isfinite(d)]
        n += f.numel()
        total += float(f.sum())
        lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    mean = total / n
    m2 = sum(
        float(((f - mean) ** 2).sum())
        for f in (c.double()[torch.isfinite(c)] for c in x.reshape(-1).split(1 << 22))
    )
    return {"min": lo, "max": hi, "mean": mean, "std": math.sqrt(m2 / (n - 1)), **counts}


def _exact(x: torch.Tensor) -> bool:
    s, r = tensor_stats(x), _reference(x)
    same = (s.min, s.max, s.nan, s.posinf, s.neginf, s.zeros) == (
        r["min"],
        r["max"],
        r["nan"],
        r["posinf"],
        r["neginf"],
        r["zeros"],
    )
    return (
        same
        and abs(s.mean - r["mean"]) <= 1e-5 * abs(r["mean"]) + 1e-12
        and abs(s.std - r["std"]) <= 1e-5 * r["std"]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, no bars")
    args = parser.parse_args()
    smoke = args.smoke
    n = 1_000_000 if smoke else 100_000_000
    repeats = 2 if smoke else 5
    batch_shape = (16, 3, 32, 32) if smoke else (256, 3, 64, 64)
    repr_before = torch.Tensor.__repr__
    lovely = _lovely()

    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, generator=g)
    times: dict[str, list[float]] = {"aminmax": [], "rw stats": [], "lovely-tensors": []}
    for i in range(repeats):  # interleaved: each repeat runs every contender once
        times["aminmax"].append(_timed(partial(torch.aminmax, x)))
        times["rw stats"].append(_timed(partial(tensor_stats, x)))
        if lovely is not None and i < max(2, repeats - 2):  # ~2 s each on 100M: three runs suffice
            times["lovely-tensors"].append(_timed(partial(lovely, x)))
    finite_exact = _exact(x)

    x[n // 3] = math.nan
    x[n // 2] = 1e30
    nan_times: dict[str, list[float]] = {"aminmax": [], "rw stats": []}
    for _ in range(repeats):
        nan_times["aminmax"].append(_timed(partial(torch.aminmax, x)))
        nan_times["rw stats"].append(_timed(partial(tensor_stats, x)))
    nan_exact = _exact(x)
    # Reported, no bar: NaN/Inf in every chunk, so every chunk takes the masked path.
    x[::1000] = math.nan
    x[5::777] = math.inf
    spread = [
        (_timed(partial(torch.aminmax, x)), _timed(partial(tensor_stats, x)))
        for _ in range(max(2, repeats - 2))
    ]
    spread_ratio = statistics.median(b / a for a, b in spread)
    spread_exact = _exact(x)
    del x  # 400 MB back before the grid is timed

    batch = torch.rand(*batch_shape, generator=g)
    grid = [_timed(lambda: decoded_html(decode(batch))) for _ in range(repeats)]
    html_items = decoded_html(decode(batch)).count("<figure")

    med = {k: statistics.median(v) for k, v in times.items() if v}
    nan_med = {k: statistics.median(v) for k, v in nan_times.items()}
    stats_ratio = med["rw stats"] / med["aminmax"]
    nan_ratio = nan_med["rw stats"] / nan_med["aminmax"]
    lovely_ratio = (
        med["lovely-tensors"] / med["rw stats"] if "lovely-tensors" in med else float("nan")
    )
    grid_ms = statistics.median(grid) * 1000

    print(f"tensor of {n:,} float32 elements, {repeats} interleaved repeats, medians")
    print(f"{'work':<44}{'median ms':>12}{'vs aminmax':>12}")
    for k, v in med.items():
        print(f"{'finite: ' + k:<44}{v * 1000:>12.1f}{v / med['aminmax']:>11.1f}x")
    for k, v in nan_med.items():
        print(f"{'NaN + 1e30 planted: ' + k:<44}{v * 1000:>12.1f}{v / nan_med['aminmax']:>11.1f}x")
    print(f"{'NaN/Inf in every chunk: rw stats (no bar)':<44}{'':>12}{spread_ratio:>11.1f}x")
    print(f"{f'decode + HTML grid {batch_shape} ({html_items} items)':<44}{grid_ms:>12.1f}")
    print(
        f"exact vs float64 reference: finite {finite_exact}, with NaN/1e30 {nan_exact}, "
        f"NaN/Inf spread {spread_exact}"
    )
    nan_exact = nan_exact and spread_exact
    if lovely is None:
        print("lovely-tensors not installed (pip install lovely-tensors): no side-by-side figure")
    patched = torch.Tensor.__repr__ is not repr_before
    if patched:
        print("lovely-tensors left torch.Tensor.__repr__ patched")

    bars = {
        "stats <= 8x aminmax": stats_ratio <= 8,
        "stats with NaN/Inf <= 40x aminmax": nan_ratio <= 40,
        "lovely-tensors / stats >= 10x": lovely is None or lovely_ratio >= 10,
        "grid < 300 ms": grid_ms < 300,
        "exact": finite_exact and nan_exact,
        "no patch left": not patched,
    }
    missed = [k for k, ok in bars.items() if not ok]
    if not smoke:
        print("bars: " + ", ".join(f"{k} {'ok' if ok else 'MISSED'}" for k, ok in bars.items()))
    print(
        f"RESULT decode stats_vs_aminmax={stats_ratio:.2f}x nan_vs_aminmax={nan_ratio:.2f}x "
        f"spread_nan_vs_aminmax={spread_ratio:.1f}x lovely_vs_stats={lovely_ratio:.1f}x grid_ms={grid_ms:.0f} exact={finite_exact and nan_exact}"
        + (" smoke" if smoke else "")
    )
    # Exactness and hygiene are not timing bars: they hold in smoke mode too.
    if not (finite_exact and nan_exact) or patched:
        return 1
    return 1 if missed and not smoke else 0


if __name__ == "__main__":
    raise SystemExit(main())
