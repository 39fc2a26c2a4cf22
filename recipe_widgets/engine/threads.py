"""Intra-op thread count for the engine's own small work, restored to the user's afterwards.

Why: torch's intra-op threads (OpenMP) meet at a barrier after every parallel op. Work made of
many small ops (a tensor summary walked in 2 MB chunks, the checks' tiny-model training, the
watch's per-window norms) is dominated by those barriers, and when another process keeps the
cores busy each barrier waits for a descheduled thread: on a 2-core machine beside another
multithreaded torch process, a 100M-element summary went from 0.5 s to 15 s with two threads,
and took 0.8 s with one. One thread loses little on a quiet machine for such work (each op is
too small to split well) and keeps it fast on a busy one; ``benchmarks/decode.py`` and
``benchmarks/check_suite.py`` print the measurement, one thread beside the default, quiet and
under load.

``torch.set_num_threads`` is the user's setting, so it is only changed for the length of a
``with small_work():`` block and put back in ``finally:``, also when the block raises.

Thread safety: with torch's OpenMP backend the count is per thread (``omp_set_num_threads``
sets the calling thread's value; a thread started later takes the last value set anywhere as
its default). So each thread keeps its own nesting depth and its own saved value, and a lock
guards the process-wide record of which value the user had when the first block began: a
thread started while a block runs elsewhere inherits our 1, and is given the user's value back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_local = threading.local()  # per thread: depth (nesting) and saved (the count to restore)
_lock = threading.Lock()
_active = 0  # blocks open in any thread
_user_threads = 0  # the count the user had when the first open block began


@contextmanager
def small_work(threads: int = 1) -> Iterator[None]:
    """Run the block with at most ``threads`` intra-op threads; restore the count afterwards.

    Re-entrant (an inner block inside an outer one changes nothing and restores nothing) and
    safe to use from several Python threads at once. A user who set fewer threads than
    ``threads`` keeps their count.
    """
    global _active, _user_threads
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    depth = getattr(_local, "depth", 0)
    if depth:
        _local.depth = depth + 1
        try:
            yield
        finally:
            _local.depth -= 1
        return
    with _lock:
        mine = torch.get_num_threads()
        if _active == 0:
            _user_threads = mine
        elif mine == threads and _user_threads != threads:
            mine = _user_threads  # born inside another thread's block: it inherited our count
        _active += 1
    _local.depth, _local.saved = 1, mine
    try:
        if mine > threads:
            torch.set_num_threads(threads)
        yield
    finally:
        _local.depth = 0
        with _lock:
            _active -= 1
            if torch.get_num_threads() != _local.saved:
                torch.set_num_threads(_local.saved)
