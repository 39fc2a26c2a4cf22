"""Tensor summary and batch decoding, side by side with lovely-tensors, in the same run.

    python benchmarks/decode.py            # 100M elements, 256x3x64x64 grid, bars enforced
    python benchmarks/decode.py --smoke    # small, no bars (make test)

Every summary figure is taken three times in one run: quiet, beside another multithreaded torch
process, and beside one busy Python process per core (``benchmarks/_load.py``); each ratio is
against ``torch.aminmax`` under the same load, and the bars hold in every condition.
Measures (ratios against the floor, not absolute times: the machine is shared):
  1. exact summary stats (min, max, mean, std over finite values, NaN/Inf/zero counts) of a finite
     float32 tensor against one ``torch.aminmax`` over it (a single pass over memory, the floor;
     bar: <= 8x) and against lovely-tensors' summary of the same tensor (bar: >= 10x faster);
     beside them, the summary at torch's default thread count instead of the one thread it
     uses (the measurement behind that choice, no bar);
  2. the same with a planted NaN and a 1e30 (bar: <= 40x aminmax), checked exact against a
     float64 reference (min/max/counts equal, mean/std within 1e-5 relative); and, reported
     quiet without a bar, with NaN/Inf spread through every chunk (the masked path everywhere);
  3. decoding and rendering a 256x3x64x64 batch as an HTML grid, quiet (bar: < 300 ms, median).
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
from recipe_widgets.engine.decode._tensor_stats import _tensor_stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import CONDITIONS, load  # noqa: E402 - the benchmarks' standard busy machine


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


def _at_threads(n: int, x: torch.Tensor) -> None:
    """The summary at ``n`` intra-op threads (the measurement behind one thread), then back."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        _tensor_stats(x)
    finally:
        torch.set_num_threads(before)


def _finite_round(x: torch.Tensor, lovely, repeats: int) -> dict[str, float]:
    """Medians of interleaved repeats on the finite tensor, under whatever load is running."""
    default = torch.get_num_threads()
    work = {
        "aminmax": partial(torch.aminmax, x),
        "rw stats": partial(tensor_stats, x),
        f"rw stats at {default} threads": partial(_at_threads, default, x),
        "lovely-tensors": None if lovely is None else partial(lovely, x),
    }
    times: dict[str, list[float]] = {k: [] for k, fn in work.items() if fn is not None}
    for i in range(repeats):  # interleaved: each repeat runs every contender once
        for k, fn in work.items():
            slow = k.startswith("lovely") or k.endswith("threads")  # seconds each on 100M
            if fn is not None and (not slow or i < max(2, repeats - 3)):
                times[k].append(_timed(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def _nan_round(x: torch.Tensor, repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {"aminmax": [], "rw stats": []}
    for _ in range(repeats):
        times["aminmax"].append(_timed(partial(torch.aminmax, x)))
        times["rw stats"].append(_timed(partial(tensor_stats, x)))
    return {k: statistics.median(v) for k, v in times.items()}


def _grid(batch_shape: tuple[int, ...], repeats: int) -> tuple[float, int]:
    batch = torch.rand(*batch_shape, generator=torch.Generator().manual_seed(1))
    grid = [_timed(lambda: decoded_html(decode(batch))) for _ in range(repeats)]
    return statistics.median(grid) * 1000, decoded_html(decode(batch)).count("<figure")


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

    x = torch.randn(n, generator=torch.Generator().manual_seed(0))
    y = x.clone()  # the NaN/Inf case, side by side under each load
    y[n // 3] = math.nan
    y[n // 2] = 1e30
    finite: dict[str, dict[str, float]] = {}
    nan: dict[str, dict[str, float]] = {}
    loads: list[str] = []
    for cond in CONDITIONS:
        with load(cond) as what:
            loads.append(what)
            finite[cond] = _finite_round(x, lovely, repeats)
            nan[cond] = _nan_round(y, repeats)
    finite_exact, nan_exact = _exact(x), _exact(y)
    del y
    # Reported quiet, no bar: NaN/Inf in every chunk, so every chunk takes the masked path.
    x[::1000] = math.nan
    x[5::777] = math.inf
    spread = [
        (_timed(partial(torch.aminmax, x)), _timed(partial(tensor_stats, x)))
        for _ in range(max(2, repeats - 2))
    ]
    spread_ratio = statistics.median(b / a for a, b in spread)
    spread_exact = _exact(x)
    del x  # 400 MB back before the grid is timed
    grid_ms, html_items = _grid(batch_shape, repeats)

    print(f"tensor of {n:,} float32 elements, {repeats} interleaved repeats, medians")
    print("loads: " + " | ".join(loads))
    print(
        f"{'work (ms, and x aminmax under the same load)':<44}"
        + "".join(f"{c:>22}" for c in CONDITIONS)
    )
    for k in finite["quiet"]:
        cells = "".join(
            f"{finite[c][k] * 1e3:>12.1f} {finite[c][k] / finite[c]['aminmax']:>8.1f}x"
            for c in CONDITIONS
        )
        print(f"{'finite: ' + k:<44}{cells}")
    for k in nan["quiet"]:
        cells = "".join(
            f"{nan[c][k] * 1e3:>12.1f} {nan[c][k] / nan[c]['aminmax']:>8.1f}x" for c in CONDITIONS
        )
        print(f"{'NaN + 1e30 planted: ' + k:<44}{cells}")
    print(f"{'NaN/Inf in every chunk: rw stats (no bar)':<44}{spread_ratio:>21.1f}x")
    print(f"{f'decode + HTML grid {batch_shape} ({html_items} items)':<44}{grid_ms:>12.1f}")
    threads_key = next(k for k in finite["quiet"] if k.endswith("threads"))
    print(
        "threads: the summary runs on one intra-op thread; at the default count it takes "
        + ", ".join(
            f"{finite[c][threads_key] / finite[c]['rw stats']:.2f}x as long ({c})"
            for c in CONDITIONS
        )
    )
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

    ratio = {c: finite[c]["rw stats"] / finite[c]["aminmax"] for c in CONDITIONS}
    nan_ratio = {c: nan[c]["rw stats"] / nan[c]["aminmax"] for c in CONDITIONS}
    vs_lovely = {
        c: finite[c]["lovely-tensors"] / finite[c]["rw stats"] if lovely else float("nan")
        for c in CONDITIONS
    }
    bars = {
        "stats <= 8x aminmax": max(ratio.values()) <= 8,
        "stats with NaN/Inf <= 40x aminmax": max(nan_ratio.values()) <= 40,
        "lovely-tensors / stats >= 10x": lovely is None or min(vs_lovely.values()) >= 10,
        "grid < 300 ms": grid_ms < 300,
        "exact": finite_exact and nan_exact,
        "no patch left": not patched,
    }
    missed = [k for k, ok in bars.items() if not ok]
    if not smoke:
        print(
            "bars (each in every condition): "
            + ", ".join(f"{k} {'ok' if ok else 'MISSED'}" for k, ok in bars.items())
        )

    def per(d: dict[str, float], fmt: str) -> str:
        return "/".join(format(d[c], fmt) for c in CONDITIONS)

    print(
        f"RESULT decode stats_vs_aminmax={per(ratio, '.2f')}x nan_vs_aminmax={per(nan_ratio, '.2f')}x"
        f" lovely_vs_stats={per(vs_lovely, '.1f')}x spread_nan_vs_aminmax={spread_ratio:.1f}x"
        f" grid_ms={grid_ms:.0f} exact={finite_exact and nan_exact}"
        f" (quiet/torch load/python load)" + (" smoke" if smoke else "")
    )
    # Exactness and hygiene are not timing bars: they hold in smoke mode too.
    if not (finite_exact and nan_exact) or patched:
        return 1
    return 1 if missed and not smoke else 0


if __name__ == "__main__":
    raise SystemExit(main())
