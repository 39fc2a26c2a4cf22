"""rw.watch over a long run: memory, the cost of w.log over time, and the panel's messages.

    python benchmarks/watch_memory.py            # 1,000,000 steps x 5 metrics, bars enforced
    python benchmarks/watch_memory.py --smoke    # 50,000 steps, no bars (make test)

A week-long run logs millions of steps. The watch (with its live panel, fed as in a notebook;
a recording comm stands in for the browser and keeps each message's size) takes ``N`` steps of
five metrics, quiet and under each standard load of ``benchmarks/_load.py``. Measured:
  1. the kernel's memory growth (resident set, after the run and a garbage collection, over the
     same before it; bar: <= 100 MB), and what that is per logged step;
  2. the cost of ``w.log`` over time: the first 10% of steps against the last 10% (bar: within
     20%, both ways), medians of per-step times per block of 1,000 steps, in CPU time of the
     logging thread (under a load, wall time shares the cores with the scheduler's whims: in two
     runs the last 10% took 0.60-1.08x the first in wall time, either direction, against
     0.97-0.98x quiet; the thread's CPU time is the work done).
     Wall time is printed beside it;
  3. the panel's largest message (bar: < 1 MB) and the number of points it sent.
Figures are ratios and sizes, the machine is shared: absolute times say little.
The last line is ``RESULT watch_memory ...``; exit status 1 when a bar is missed (not in --smoke).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import sys
import time
from pathlib import Path

import psutil
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import CONDITIONS, load  # noqa: E402 - the benchmarks' standard busy machine

from recipe_widgets.widgets._watch import LiveWatch  # noqa: E402 - after sys.path

BLOCK = 1000  # steps per timed block


class SizeComm:
    """The kernel side of the panel's comm, in place of a browser: keeps each message's size."""

    kernel = object()
    comm_id = "size-comm"

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.points = 0

    def send(self, data: dict, buffers=None) -> None:
        self.sizes.append(len(json.dumps(data, default=str)))
        content = data.get("content", {}) if isinstance(data, dict) else {}
        for _, (steps, _values) in content.get("series", {}).items():
            self.points += len(steps)

    def close(self, *args, **kwargs) -> None:
        pass

    def on_msg(self, *args) -> None:
        pass


def _rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def _run(steps: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    w = LiveWatch(model, display=lambda obj: None)
    comm = SizeComm()
    w.plot.comm = comm
    before = _rss_mb()
    blocks: list[float] = []
    walls: list[float] = []
    with w:
        for start in range(0, steps, BLOCK):
            t0, c0 = time.perf_counter(), time.thread_time()
            for i in range(start, start + BLOCK):
                # five metrics, a spike now and then (a loss of 50 every 99,991 steps)
                w.log(
                    step=i,
                    loss=50.0 if i % 99_991 == 7 else 1.0 / (1 + i * 1e-5),
                    acc=i / steps,
                    lr=3e-4,
                    grad_norm=math.sin(i),
                    throughput=1000.0 + i % 13,
                )
            blocks.append((time.thread_time() - c0) / BLOCK)
            walls.append((time.perf_counter() - t0) / BLOCK)
    w.plot.flush()
    history = w.history
    spikes = int((w.downsampled.get("loss_max", history["loss"]) == 50.0).sum())
    grown = _rss_mb() - before
    tenth = max(1, len(blocks) // 10)
    first, last = statistics.median(blocks[:tenth]), statistics.median(blocks[-tenth:])
    wall_first, wall_last = statistics.median(walls[:tenth]), statistics.median(walls[-tenth:])
    return {
        "growth_mb": grown,
        "bytes_per_step": grown * 2**20 / steps,
        "log_us_first": first * 1e6,
        "log_us_last": last * 1e6,
        "last_vs_first": last / first,
        "wall_us_first": wall_first * 1e6,
        "wall_us_last": wall_last * 1e6,
        "largest_kb": max(comm.sizes) / 1024,
        "messages": len(comm.sizes),
        "points_sent": comm.points,
        "history_rows": len(history),
        "spikes_kept": spikes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="50,000 steps, no bars")
    args = parser.parse_args(argv)
    steps = 50_000 if args.smoke else 1_000_000
    results, loads = {}, []
    for cond in CONDITIONS:
        with load(cond) as what:
            loads.append(what)
            results[cond] = _run(steps)
    print(f"rw.watch with its live panel, {steps:,} steps x 5 metrics; loads: " + " | ".join(loads))
    print(f"{'figure':34}" + "".join(f"{c:>14}" for c in CONDITIONS))
    for key in results["quiet"]:
        print(f"{key:34}" + "".join(f"{results[c][key]:>14.2f}" for c in CONDITIONS))
    worst = {
        "growth_mb": max(r["growth_mb"] for r in results.values()),
        "flat": max(max(r["last_vs_first"], 1 / r["last_vs_first"]) for r in results.values()),
        "largest_kb": max(r["largest_kb"] for r in results.values()),
    }
    bars = {
        "memory growth <= 100 MB": worst["growth_mb"] <= 100,
        "w.log flat (last/first 10% within 20%)": worst["flat"] <= 1.2,
        "largest panel message < 1 MB": worst["largest_kb"] < 1024,
        "the loss spikes survive": all(
            r["spikes_kept"] >= steps // 99_991 for r in results.values()
        ),
    }
    if not args.smoke:
        print(
            "bars (each in every condition): "
            + ", ".join(f"{k} {'ok' if ok else 'MISSED'}" for k, ok in bars.items())
        )
    print(
        f"RESULT watch_memory steps={steps} growth_mb={worst['growth_mb']:.1f}"
        f" log_last_vs_first={worst['flat']:.2f} largest_msg_kb={worst['largest_kb']:.0f}"
        + (" smoke" if args.smoke else "")
    )
    return 1 if not args.smoke and not all(bars.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
