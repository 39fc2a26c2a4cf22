"""How a number reads in a finding, a repr or a table: one rule for the whole kit.

Three significant digits. A figure computed by training or by a reduction (a loss after 300
steps, a mean over a batch) differs in its last bits from one CPU to another: torch picks its
vectorised kernels by CPU (AVX2, AVX-512, ARM), and the thread count changes the order of sums.
A fourth digit is then noise that would make the same verdict print differently on another
machine; three digits say all a reader can act on.
"""

from __future__ import annotations

import math

DIGITS = 3


def fmt(x: float | None, digits: int = DIGITS) -> str:
    """``x`` to ``digits`` significant digits: ``0.00942``, ``2.3``, ``1.23e+04``, ``nan``;
    ``n/a`` for ``None`` (a statistic that does not exist, such as the mean of no values)."""
    if x is None:
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return repr(x)  # 'nan', 'inf', '-inf'
    return f"{x:.{digits}g}"
