"""A corpus of training setups written in other people's idioms, to measure the kit against.

``correct/`` holds setups that are right as written (the idioms of widely used tutorials and
repositories); ``bugs/`` holds small reproductions of publicly reported bugs, each with its
source, the finding that must name its cause, and its fixed twin. Every setup is run the way a
user runs the kit: ``rw.check`` with the user's own optimizer instance (and ``val=`` / ``task=``
where the setup has them), then ``rw.watch(display=False)`` around the user's own loop.

A case is one module:

- ``SOURCE``: where the idiom or the bug report comes from (an address);
- ``make()`` (correct cases) or ``make(fixed: bool)`` (bug cases) returns a fresh, seeded
  :class:`Setup`;
- bug cases also have ``EXPECT``, an :class:`Expect`: the finding id that must report the bug
  (status warn or fail) and a pattern its message or fix must contain, so that naming a symptom
  ("did not overfit") does not count as naming the cause.

``benchmarks/corpus.py`` runs the whole corpus and prints false alarms, causes named, crashes
and time; ``tests/test_corpus.py`` pins every case's verdict.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType

from corpus._case import Case, Expect, Outcome, Setup
from corpus._run import run_case, run_setup

__all__ = ["Case", "Expect", "Outcome", "Setup", "cases", "run_case", "run_setup"]


def _modules(kind: str) -> Iterator[ModuleType]:
    package = importlib.import_module(f"corpus.{kind}")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"corpus.{kind}.{info.name}")


def cases() -> list[Case]:
    """Every case: each correct setup once, each bug twice (as reported, and fixed)."""
    found: list[Case] = []
    for module in _modules("correct"):
        found.append(
            Case(
                name=f"correct/{module.__name__.rsplit('.', 1)[1]}",
                kind="correct",
                module=module,
                fixed=True,
            )
        )
    for module in _modules("bugs"):
        short = module.__name__.rsplit(".", 1)[1]
        found.append(Case(name=f"bugs/{short}", kind="bug", module=module, fixed=False))
        found.append(Case(name=f"fixed/{short}", kind="fixed", module=module, fixed=True))
    return found
