"""A standard busy machine for the benchmarks: the same background load in every run.

    from _load import CONDITIONS, load
    for name in CONDITIONS:            # "quiet", "torch load", "python load"
        with load(name):
            ...                        # time the contenders here, side by side

A user's machine is rarely quiet (another kernel trains, DataLoader workers run), and work made
of many small parallel ops collapses when the cores are oversubscribed. Two loads, each started
fresh and stopped at the end of its ``with`` block:

- ``"torch load"``: one other torch process with torch's default intra-op threads (one per
  core) multiplying 256x256 matrices in a loop, like another notebook kernel training;
- ``"python load"``: one busy plain-Python process per core (``os.cpu_count()``), like
  DataLoader workers or a browser.

A load process exits by itself when the benchmark that started it is gone (it checks its parent
every 0.2 s) and after ``MAX_LIFETIME_S`` in any case, so a killed benchmark leaves nothing
spinning. ``python benchmarks/_load.py`` prints how much each load slows a fixed piece of work.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

CONDITIONS = ("quiet", "torch load", "python load")

#: A load never outlives this, whatever happens to the benchmark that started it.
MAX_LIFETIME_S = 1800

_PRELUDE = f"""
import os, sys, time
parent, end = os.getppid(), time.monotonic() + {MAX_LIFETIME_S}
def alive():
    return os.getppid() == parent and time.monotonic() < end
"""

_TORCH = (
    _PRELUDE
    + """
import torch
a, b = torch.randn(256, 256), torch.empty(256, 256)
torch.mm(a, a, out=b)
print("ready", torch.get_num_threads(), flush=True)
last = time.monotonic()
while True:
    for _ in range(50):
        torch.mm(a, a, out=b)
    if time.monotonic() - last > 0.2:
        if not alive():
            sys.exit(0)
        last = time.monotonic()
"""
)

_PYTHON = (
    _PRELUDE
    + """
print("ready", 1, flush=True)
last, x = time.monotonic(), 0
while True:
    for _ in range(100_000):
        x = (x * 31 + 7) % 1_000_003
    if time.monotonic() - last > 0.2:
        if not alive():
            sys.exit(0)
        last = time.monotonic()
"""
)


def _start(code: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,  # the torch load uses torch's default: one thread per core
    )


@contextlib.contextmanager
def load(condition: str) -> Iterator[str]:
    """Run the block under ``condition`` (one of ``CONDITIONS``); yields a one-line description.

    The load is running (its processes have started their loop) when the block begins, and is
    stopped, and waited for, when it ends, also on an error.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; one of {', '.join(CONDITIONS)}")
    cores = os.cpu_count() or 1
    if condition == "quiet":
        yield "quiet"
        return
    if condition == "torch load":
        procs = [_start(_TORCH)]
    else:
        procs = [_start(_PYTHON) for _ in range(cores)]
    try:
        threads = 0
        for p in procs:
            line = p.stdout.readline().split() if p.stdout else []
            if not line or line[0] != "ready":
                raise RuntimeError(f"a {condition} process did not start")
            threads += int(line[1])
        time.sleep(0.3)  # let the scheduler settle into sharing the cores
        yield f"{condition}: {len(procs)} process(es), {threads} busy thread(s) on {cores} cores"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _probe() -> tuple[float, float]:
    """A fixed piece of plain-Python work: (wall, CPU) seconds, the slowdown each load causes."""
    t0, c0 = time.perf_counter(), time.process_time()
    x = 0
    for _ in range(2_000_000):
        x = (x * 31 + 7) % 1_000_003
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> int:
    """Wall time over quiet is the whole slowdown; CPU time over quiet is the part that is not
    the scheduler's share: on a machine whose cores are hyperthreads of one another (or whose
    host is shared), the same instructions take longer while the other core is busy."""
    base = None
    for name in CONDITIONS:
        with load(name) as what:
            runs = sorted(_probe() for _ in range(5))
            wall, cpu = runs[2]  # the median run (by wall time)
        base = base or (wall, cpu)
        print(
            f"{what:60} fixed work {wall * 1e3:7.1f} ms  {wall / base[0]:4.2f}x quiet"
            f" (CPU time {cpu * 1e3:7.1f} ms, {cpu / base[1]:4.2f}x quiet)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
