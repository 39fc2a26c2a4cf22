"""Run a setup through the kit exactly as a user would: ``rw.check`` on their objects, then
``rw.watch(display=False)`` around their own loop."""

from __future__ import annotations

import time
import traceback
import warnings
from typing import Any

import torch

from corpus._case import Case, Flag, Outcome, Setup


def _flags(report: Any, source: str) -> list[Flag]:
    return [
        Flag(source, f.check, f.status, f.message, f.fix)
        for f in report
        if f.status in ("warn", "fail")
    ]


def _where(exc: BaseException) -> str:
    """The innermost frame of the traceback, for a crash line."""
    tb = traceback.extract_tb(exc.__traceback__)
    last = tb[-1] if tb else None
    return f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})" if last else ""


def _optimizers(setup: Setup) -> Any:
    opt = setup.optimizer
    if isinstance(opt, torch.optim.Optimizer):
        return opt
    if isinstance(opt, (list, tuple)) and all(isinstance(o, torch.optim.Optimizer) for o in opt):
        return list(opt)
    return None


def run_setup(setup: Setup, name: str = "") -> Outcome:
    import recipe_widgets as rw

    outcome = Outcome(case=name)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the user's own warnings are not the kit's verdict
        if setup.run_check:
            try:
                report = rw.check(
                    setup.model,
                    setup.data,
                    setup.loss_fn,
                    optimizer=setup.optimizer,
                    val=setup.val,
                    quiet=True,
                    **setup.check,
                )
                outcome.flags += _flags(report, "check")
            except Exception as exc:  # noqa: BLE001 - a crash is a result here
                outcome.crash = f"check: {type(exc).__name__}: {exc}{_where(exc)}"
        if setup.loop is not None:
            w = rw.watch(setup.model, _optimizers(setup), display=False, **setup.watch)
            try:
                with w:
                    setup.loop(w)
            except Exception as exc:  # noqa: BLE001
                outcome.crash = (
                    outcome.crash or ""
                ) + f" watch: {type(exc).__name__}: {exc}{_where(exc)}"
            outcome.flags += _flags(w.report, "watch")
    outcome.seconds = time.perf_counter() - start
    return outcome


def run_case(case: Case) -> Outcome:
    return run_setup(case.make(), case.name)
