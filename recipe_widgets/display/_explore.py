"""Renderings for the explorer: the grid of items (HTML) and a histogram (an Altair chart).

Every cell value is HTML-escaped: a dataset string ``<img src=x onerror=...>`` shows as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recipe_widgets.display._images import png_data_uri
from recipe_widgets.engine.formatting import fmt

if TYPE_CHECKING:
    import altair as alt

    from recipe_widgets.engine.explore import Histogram

MAX_CELL = 80


def cell_text(value: Any, max_chars: int = MAX_CELL) -> str:
    """A cell as a person should read it: short floats, long strings cut with an ellipsis."""
    if isinstance(value, (float, np.floating)):
        text = "NaN" if np.isnan(value) else fmt(value, 4)
    elif value is None or (isinstance(value, float) and np.isnan(value)):
        text = ""
    else:
        text = str(value)
    return text if len(text) <= max_chars else text[: max_chars - 1] + "\u2026"


def _cell(frame: pd.DataFrame, row: int, col: Any) -> str:
    value = frame[col].iloc[row]
    if isinstance(value, pd.Series):  # duplicate column names: show every value
        return ", ".join(cell_text(v) for v in value)
    return cell_text(value)


def grid_html(
    frame: pd.DataFrame,
    rows: Sequence[int],
    *,
    images: np.ndarray | None = None,
    columns: Sequence[str] | None = None,
    thumb_px: int = 56,
) -> str:
    """The given rows as a table, or as cards (thumbnail, then the values) when there are images."""
    cols = list(dict.fromkeys(columns if columns is not None else frame.columns))
    if images is not None:
        return _cards_html(frame, rows, images, cols, thumb_px)
    head = "".join(
        f"<th style='padding:2px 6px;text-align:left'>{escape(str(c))}</th>" for c in cols
    )
    body = []
    for r in rows:
        cells = "".join(
            f"<td style='padding:2px 6px'>{escape(_cell(frame, r, c))}</td>" for c in cols
        )
        body.append(
            f"<tr data-row='{int(r)}'><td style='padding:2px 6px;color:#57606a'>"
            f"{escape(str(frame.index[r]))}</td>{cells}</tr>"
        )
    return (
        "<table class='rw-grid' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr><th style='padding:2px 6px'>item</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _cards_html(
    frame: pd.DataFrame, rows: Sequence[int], images: np.ndarray, cols: list[Any], thumb_px: int
) -> str:
    cards = []
    for r in rows:
        img = images[r]
        scale = max(1, thumb_px // max(img.shape[0], 1))
        values = [(str(c), _cell(frame, r, c)) for c in cols]
        tip = escape("\n".join(f"{c}: {v}" for c, v in values))  # every value on hover
        lines = "".join(
            f"<div style='overflow:hidden;text-overflow:ellipsis;white-space:nowrap'>"
            f"<span style='color:#57606a'>{escape(c)}</span> {escape(v)}</div>"
            for c, v in values[:3]
        )
        cards.append(
            f"<div class='rw-card' data-row='{int(r)}' title='{tip}' style='width:{thumb_px + 40}px;"
            "margin:3px;padding:3px;border:1px solid #d0d7de;border-radius:4px;font-size:11px'>"
            f"<div style='color:#57606a'>#{escape(str(frame.index[r]))}</div>"
            f"<img alt='item {int(r)}' src='{png_data_uri(img, scale)}' "
            f"style='image-rendering:pixelated;width:{thumb_px}px;display:block;margin:auto'>{lines}</div>"
        )
    return f"<div class='rw-grid' style='display:flex;flex-wrap:wrap'>{''.join(cards)}</div>"


def histogram_chart(hist: Histogram, *, width: int = 360, height: int = 140) -> alt.Chart:
    """Bars of a column; numeric bars carry an ``x`` brush named ``brush`` to filter by range."""
    import altair as alt

    data = hist.to_frame()
    if hist.numeric:
        brush = alt.selection_interval(encodings=["x"], name="brush")
        return (
            alt.Chart(
                data,
                title=f"{hist.column} ({hist.missing} missing)" if hist.missing else hist.column,
            )
            .mark_bar()
            .encode(
                x=alt.X("start:Q", bin="binned", title=hist.column),
                x2="end:Q",
                y=alt.Y("count:Q", title="items"),
                tooltip=["start:Q", "end:Q", "count:Q"],
            )
            .add_params(brush)
            .properties(width=width, height=height)
        )
    pick = alt.selection_point(encodings=["x"], name="pick")
    return (
        alt.Chart(data, title=hist.column)
        .mark_bar()
        .encode(
            x=alt.X("category:N", sort="-y", title=hist.column),
            y=alt.Y("count:Q", title="items"),
            tooltip=["category:N", "count:Q"],
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.4)),
        )
        .add_params(pick)
        .properties(width=width, height=height)
    )
