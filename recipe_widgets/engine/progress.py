"""Progress bars for long work (checks that train, long scans), off where they would be noise.

``tqdm.auto`` picks a notebook widget or a terminal bar. Bars are off when ``quiet=True``, when
``RW_PROGRESS=0`` is set (``make test`` and the notebook builder set it, so saved notebook
outputs and nbval never see a bar's changing timings), and when stderr is not a terminal outside
a notebook (CI logs, pipes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_enabled(quiet: bool = False) -> bool:
    if quiet or os.environ.get("RW_PROGRESS", "1") == "0":
        return False
    if "ipykernel" in sys.modules:  # a notebook: tqdm.auto draws a widget
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(
    iterable: Iterable[T], *, total: int | None = None, desc: str = "", quiet: bool = False
) -> Iterator[T]:
    """Iterate with a bar when one is wanted, else plainly (no tqdm import at all)."""
    if not progress_enabled(quiet):
        yield from iterable
        return
    from tqdm.auto import tqdm

    bar = tqdm(iterable, total=total, desc=desc, leave=False)
    try:
        yield from bar
    finally:
        finish(bar)


def finish(bar: object) -> None:
    """Close a bar as finished, also when the work stopped early (a rung that reached its target
    long before its step budget). tqdm's notebook bar turns red ("danger") when closed short of
    its total, which reads as an error; setting the total to where it stopped closes it green."""
    n, total = getattr(bar, "n", 0), getattr(bar, "total", None)
    if total is not None and n < total:
        bar.total = n  # type: ignore[attr-defined]
        bar.refresh()  # type: ignore[attr-defined]
    bar.close()  # type: ignore[attr-defined]
