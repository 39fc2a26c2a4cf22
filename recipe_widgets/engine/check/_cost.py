"""What one ``rw.check`` costs: wall time and the peak memory it adds, as a :class:`Cost`.

A daemon thread samples the process's resident set size (``/proc/self/statm``, Linux) every few
milliseconds from before the snapshot to after the restore, and, when the model lives on a CUDA
device, that device's allocated memory (read only: the user's peak statistics are not reset).
The peak extra memory is the largest sample minus the first one.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.results import Cost

_INTERVAL_S = 0.003


def _rss() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def state_bytes(model: nn.Module, optimizers: list[torch.optim.Optimizer]) -> int:
    """The model's parameters plus its optimizer's state tensors, in bytes (each tensor once)."""
    seen: dict[int, int] = {}
    for p in model.parameters():
        seen[id(p)] = p.numel() * p.element_size()
    for opt in optimizers:
        for state in opt.state.values():
            for v in state.values():
                if isinstance(v, torch.Tensor):
                    seen[id(v)] = v.numel() * v.element_size()
    return sum(seen.values())


class CostMeter:
    """``with CostMeter(model, optimizers) as meter: ...`` then ``meter.cost``."""

    def __init__(self, model: nn.Module, optimizers: list[torch.optim.Optimizer]) -> None:
        self.state = state_bytes(model, optimizers)
        self.with_optimizer = any(opt.state for opt in optimizers)
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.cuda = device if device.type == "cuda" else None
        self.cost: Cost | None = None
        self._peak = [0, 0]
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def _device_bytes(self) -> int:
        return int(torch.cuda.memory_allocated(self.cuda)) if self.cuda is not None else 0

    def _sample(self) -> None:
        rss = _rss()
        if rss is not None:
            self._peak[0] = max(self._peak[0], rss)
        self._peak[1] = max(self._peak[1], self._device_bytes())

    def _run(self) -> None:
        while not self._done.wait(_INTERVAL_S):
            self._sample()

    def __enter__(self) -> CostMeter:
        self._start = time.perf_counter()
        self._rss0 = _rss()
        self._dev0 = self._device_bytes()
        self._peak = [self._rss0 or 0, self._dev0]
        self._thread = threading.Thread(target=self._run, name="rw-check-cost", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.cost = Cost(
            seconds=time.perf_counter() - self._start,
            peak_bytes=None if self._rss0 is None else max(0, self._peak[0] - self._rss0),
            state_bytes=self.state,
            with_optimizer=self.with_optimizer,
            device=str(self.cuda) if self.cuda is not None else "",
            device_peak_bytes=max(0, self._peak[1] - self._dev0) if self.cuda is not None else None,
        )
