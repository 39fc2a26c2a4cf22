"""Seeding every random source the recipe cares about, in one call."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 0, *, deterministic: bool = False) -> int:
    """Seed python's ``random``, numpy's global generator, torch (CPU and every CUDA device).

    ``deterministic=True`` also asks torch for deterministic algorithms (an error names any op
    that has none), which the recipe's "fix the random seed" step needs on a GPU. Returns the
    seed so a notebook can log it: ``seed = rw.seed_everything(0)``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}: {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2**32:
        # numpy's legacy global generator accepts only 32-bit seeds; say so here, not deep inside.
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)  # inherited by DataLoader workers / subprocesses
    if deterministic:
        torch.use_deterministic_algorithms(True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    return seed


def seed_torch(seed: int) -> None:
    """Seed torch's CPU generator, and the CUDA devices when CUDA has started: what
    ``torch.manual_seed`` does for a run on this process's devices, at a fraction of its cost.

    ``torch.manual_seed`` also queues a seed for every accelerator that has not started (CUDA,
    XPU, MTIA), keeping a formatted stack trace for each: about 1.3 ms per call on a machine
    without them, more than a small model's forward pass. The checks seed before every pass
    they compare, so they call this instead. A device that starts later is seeded by whoever
    starts it; the checks run on the devices the model is already on.
    """
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(seed)
