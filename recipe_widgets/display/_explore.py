"""Renderings for the explorer: the grid of items (HTML) and a histogram's bars (the plain data
its own front-end module, ``static/explore_histogram.js``, draws as SVG: no charting library).

Every cell value is HTML-escaped: a dataset string ``<img src=x onerror=...>`` shows as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recipe_widgets.display._images import png_data_uri
from recipe_widgets.display._theme import colour
from recipe_widgets.engine.formatting import fmt

if TYPE_CHECKING:
    from recipe_widgets.engine.explore import Histogram

MAX_CELL = 80
# Columns an audit adds (``flags``: the checks that flagged an item, ``group``: its duplicate
# groups): drawn as tags whose hover says why, and always shown on a card.
REASON_COLUMNS = ("flags", "group")
NONE = "(none)"  # how an empty category (an unflagged item's "") is labelled in a histogram


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


def _tags(text: str, reasons: Mapping[str, str]) -> str:
    """``"outliers, exact_duplicates#3"`` as tags, each titled with the finding's message."""
    out = []
    for tag in (t.strip() for t in text.split(",")):
        if not tag:
            continue
        why = reasons.get(tag.split("#")[0], "")
        out.append(
            f"<span class='rw-flag' title='{escape(f'{tag}: {why}' if why else tag)}' "
            f"style='border:1px solid {colour('warn')};color:{colour('warn')};border-radius:3px;"
            f"padding:0 3px;margin-right:2px;white-space:nowrap'>{escape(tag)}</span>"
        )
    return "".join(out)


def _value_html(frame: pd.DataFrame, row: int, col: Any, reasons: Mapping[str, str]) -> str:
    text = _cell(frame, row, col)
    return _tags(text, reasons) if str(col) in REASON_COLUMNS else escape(text)


def grid_html(
    frame: pd.DataFrame,
    rows: Sequence[int],
    *,
    images: np.ndarray | None = None,
    columns: Sequence[str] | None = None,
    thumb_px: int = 56,
    reasons: Mapping[str, str] | None = None,
) -> str:
    """The given rows as a table, or as cards (thumbnail, then the values) when there are images.

    ``reasons`` maps a check id to its finding's message: the ``flags`` and ``group`` values
    become tags that say why on hover.
    """
    cols = list(dict.fromkeys(columns if columns is not None else frame.columns))
    reasons = reasons or {}
    if images is not None:
        return _cards_html(frame, rows, images, cols, thumb_px, reasons)
    pad = "padding:2px 6px"
    head = "".join(f"<th style='{pad};text-align:left'>{escape(str(c))}</th>" for c in cols)
    body = []
    for r in rows:
        cells = "".join(f"<td style='{pad}'>{_value_html(frame, r, c, reasons)}</td>" for c in cols)
        body.append(
            f"<tr data-row='{int(r)}'><td style='{pad};color:{colour('muted')}'>"
            f"{escape(str(frame.index[r]))}</td>{cells}</tr>"
        )
    return (
        "<table class='rw-grid' style='border-collapse:collapse;font-size:12px'>"
        f"<thead><tr><th style='{pad}'>item</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _card_lines(
    frame: pd.DataFrame, r: int, cols: list[Any], reasons: Mapping[str, str]
) -> tuple[str, str, bool]:
    """(hover text, visible lines, flagged): 3 plain values, then flags and group when set."""
    values = [(str(c), _cell(frame, r, c)) for c in cols]
    why = [
        f"why ({tag}): {reasons[tag.split('#')[0]]}"
        for c, v in values
        if c in REASON_COLUMNS
        for tag in (t.strip() for t in v.split(","))
        if tag and tag.split("#")[0] in reasons
    ]
    tip = "\n".join([f"{c}: {v}" for c, v in values] + list(dict.fromkeys(why)))
    plain = [(c, escape(v)) for c, v in values if c not in REASON_COLUMNS][:3]
    tagged = [(c, _tags(v, reasons)) for c, v in values if c in REASON_COLUMNS and v]
    lines = "".join(
        f"<div style='overflow:hidden;text-overflow:ellipsis;white-space:nowrap'>"
        f"<span style='color:{colour('muted')}'>{escape(c)}</span> {v}</div>"
        for c, v in plain + tagged
    )
    return tip, lines, bool(tagged)


def _cards_html(
    frame: pd.DataFrame,
    rows: Sequence[int],
    images: np.ndarray,
    cols: list[Any],
    thumb_px: int,
    reasons: Mapping[str, str],
) -> str:
    cards = []
    for r in rows:
        img = images[r]
        scale = max(1, thumb_px // max(img.shape[0], 1))
        tip, lines, flagged = _card_lines(frame, r, cols, reasons)
        border = colour("warn") if flagged else colour("border")
        cards.append(
            f"<div class='rw-card{' rw-flagged' if flagged else ''}' data-row='{int(r)}' "
            f"title='{escape(tip)}' style='width:{thumb_px + 40}px;margin:3px;padding:3px;"
            f"border:1px solid {border};border-radius:4px;font-size:11px'>"
            f"<div style='color:{colour('muted')}'>#{escape(str(frame.index[r]))}</div>"
            f"<img alt='item {int(r)}' src='{png_data_uri(img, scale)}' "
            f"style='image-rendering:pixelated;width:{thumb_px}px;display:block;margin:auto'>"
            f"{lines}</div>"
        )
    return f"<div class='rw-grid' style='display:flex;flex-wrap:wrap'>{''.join(cards)}</div>"


def matched_counts(hist: Histogram, rows: np.ndarray, n_items: int) -> np.ndarray:
    """Per bar of ``hist`` (built over every item), how many of ``rows`` fall in it."""
    return hist.counts_among(rows, n_items)


def histogram_bars(hist: Histogram, *, matched: Sequence[int] | None = None) -> dict[str, Any]:
    """What the explorer's own front end draws for one histogram (a few hundred bytes of JSON).

    Every item's bar (faint) under the bar of the items that match the other filters
    (``matching``; every item when ``matched`` is None). Numeric bars come as ``edges``
    (``len(counts) + 1`` of them); category bars as ``labels``, most common first, an empty
    category (an unflagged item's ``flags``) labelled ``(none)``.
    """
    counts = [int(c) for c in hist.counts]
    matching = [int(m) for m in matched] if matched is not None else list(counts)
    bars: dict[str, Any] = {
        "column": hist.column,
        "title": f"{hist.column} ({hist.missing} missing)" if hist.missing else hist.column,
        "y_title": "matching / all items" if matched is not None else "items",
        "numeric": hist.numeric,
    }
    if hist.numeric:
        bars.update(edges=[float(e) for e in hist.edges], counts=counts, matching=matching)
        return bars
    order = sorted(range(len(counts)), key=lambda k: -counts[k])  # stable: ties keep their order
    labels = [c if c != "" else NONE for c in hist.categories]
    bars.update(
        labels=[labels[k] for k in order],
        counts=[counts[k] for k in order],
        matching=[matching[k] for k in order],
    )
    return bars
