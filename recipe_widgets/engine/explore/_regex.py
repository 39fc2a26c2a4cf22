"""Regular expressions typed into the explorer, run without letting one pattern hang the kernel.

A backtracking engine (Python's ``re``) takes exponential time on patterns such as ``(a+)+$``
against ``"aaaa…b"``. With google-re2 installed (the ``[data]`` extra) patterns run on RE2,
which is linear in the text and has no backreferences or lookarounds. Without it, Python's
``re`` runs with a time budget checked between values: a search that runs past it stops with an
error saying so (one value that backtracks for minutes still costs those minutes; RE2 is the cure).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

import numpy as np

TIME_LIMIT_S = 2.0  # past this a search is a runaway pattern, not a person's query


def _re2_search(pattern: str) -> Callable[[str], object] | None:
    try:
        import re2
    except ImportError:
        return None
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a bad pattern is reported to the person, not logged to stderr
    try:
        return re2.compile(pattern, options).search
    except re2.error:
        return None  # a pattern RE2 cannot run (a lookaround): Python's re decides


def compile_search(pattern: str) -> Callable[[str], object]:
    """A case-insensitive ``search`` for ``pattern``: RE2 when installed, else Python's ``re``.

    Raises ``re.error`` for a pattern that is not a regular expression.
    """
    fast = _re2_search(pattern)
    python = re.compile(pattern, re.IGNORECASE)  # validates, with Python's error messages
    return fast if fast is not None else python.search


def search_each(
    pattern: str, values: Sequence[str], *, time_limit: float = TIME_LIMIT_S
) -> np.ndarray:
    """Whether ``pattern`` is found in each value; ``ValueError`` past ``time_limit`` seconds."""
    search = compile_search(pattern)
    out = np.zeros(len(values), dtype=bool)
    deadline = time.perf_counter() + time_limit
    for i, v in enumerate(values):
        out[i] = search(v) is not None
        if i % 256 == 255 and time.perf_counter() > deadline:
            raise ValueError(
                f"the pattern {pattern[:40]!r} ran past {time_limit:g} s after {i + 1} of "
                f"{len(values)} values: simplify it (nested repeats such as (a+)+ backtrack), or "
                "install google-re2 (pip install recipe_widgets[data])"
            )
    return out
