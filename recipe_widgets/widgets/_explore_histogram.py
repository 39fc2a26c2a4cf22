"""The explorer's histogram: an anywidget whose own front-end module draws the bars as SVG.

Why not a Vega chart: Vega's offline bundle is 1.9 MB of JavaScript and Altair takes seconds to
import, which a person pays in a fresh kernel for one histogram. Here the browser gets this
module (a few KB) and the bars (``display._explore.histogram_bars``: a few hundred bytes); a drag
or a click comes back as ``brush`` or ``picked``, which the explorer turns into its selection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets as T

_STATIC = Path(__file__).resolve().parent.parent / "static"


class HistogramView(anywidget.AnyWidget):
    """Bars of every item under bars of the matching ones; drag or click to select.

    ``brush``: ``[lo, hi]`` dragged (or a clicked bar's bin) on a numeric axis, ``[]`` for none.
    ``picked``: the category labels clicked (``"(none)"`` for the empty category), ``[]`` for all.
    """

    _esm = _STATIC / "explore_histogram.js"
    bars = T.Dict(help="what is drawn: see display._explore.histogram_bars").tag(sync=True)
    brush = T.List(T.Float(), help="[lo, hi] selected on a numeric axis; [] for none").tag(
        sync=True
    )
    picked = T.List(T.Unicode(), help="category labels selected; [] for all").tag(sync=True)

    @T.validate("brush")
    def _two_bounds(self, proposal: dict[str, Any]) -> list[float]:
        value = list(proposal["value"])
        if value and (len(value) != 2 or value[0] > value[1]):
            raise T.TraitError(f"brush is [lo, hi] with lo <= hi, or []; got {value!r}")
        return value
