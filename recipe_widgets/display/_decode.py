"""Text and HTML renderings of a ``DecodedBatch``: pure, deterministic, escaped.

Images become a grid of inline PNGs (Pillow) with the label under each and the item's raw
statistics in the ``title`` (shown on hover); hovering or focusing an item enlarges it with CSS
only (no JavaScript, so the output is static and works in nbviewer where styles survive).
Tokens become a table of texts with padding greyed, tabular rows a table with far-out cells
highlighted, sequences small inline SVG line plots. The text form is what a terminal and nbval
see: the same facts, no pictures.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import numpy as np

from recipe_widgets.display._images import png_data_uri
from recipe_widgets.display._report import report_html, report_text
from recipe_widgets.display._theme import colour
from recipe_widgets.engine.formatting import fmt

if TYPE_CHECKING:
    from recipe_widgets.engine.decode import BeforeTheNet, DecodedBatch

#: Items drawn at most (the rest are counted, not drawn).
MAX_ITEMS = 256
TEXT_ITEMS = 16
MUTED, FAIL, BORDER = colour("muted"), colour("fail"), colour("border")  # follow the theme
_PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000")
_STYLE = (
    "<style>.rw-decode .rw-item{margin:0;text-align:center;position:relative}"
    ".rw-decode .rw-item img{transition:transform .1s;transform-origin:center}"
    ".rw-decode .rw-item:hover img,.rw-decode .rw-item:focus img{transform:scale(3);"
    "z-index:10;position:relative;box-shadow:0 0 6px #0008}</style>"
)


def _item_title(batch: DecodedBatch, i: int) -> str:
    parts = [f"item {i}"]
    if i < len(batch.labels):
        parts.append(f"label {batch.labels[i]}")
    if i < len(batch.item_stats):
        lo, hi, mean, std = batch.item_stats[i]
        parts.append(f"min {fmt(lo)}  max {fmt(hi)}  mean {fmt(mean)}  std {fmt(std)}")
    return "\n".join(parts)


def _head_text(batch: DecodedBatch) -> list[str]:
    return [repr(batch), f"how: {batch.how}"]


def decoded_text(batch: DecodedBatch, max_items: int = TEXT_ITEMS) -> str:
    """Summary, how it was decoded, the first items (labels, texts, rows) and the findings."""
    lines = _head_text(batch)
    n = len(batch)
    if batch.texts is not None:
        for i, text in enumerate(batch.texts[:max_items]):
            label = f" [{batch.labels[i]}]" if i < len(batch.labels) else ""
            lines.append(f"  {i:>3}{label} {text}")
    elif batch.frame is not None:
        lines.append(batch.frame.head(max_items).to_string(float_format=lambda v: fmt(v, 4)))
    else:
        for i in range(min(n, max_items)):
            label = f"  label {batch.labels[i]}" if i < len(batch.labels) else ""
            stats = ""
            if i < len(batch.item_stats):
                lo, hi, mean, std = batch.item_stats[i]
                stats = f"  min {fmt(lo)}  max {fmt(hi)}  mean {fmt(mean)}  std {fmt(std)}"
            lines.append(f"  {i:>3}{label}{stats}")
    if n > max_items:
        lines.append(f"  ... {n - max_items} more")
    lines.append(report_text(batch.findings))
    return "\n".join(lines)


def _images_html(batch: DecodedBatch, max_items: int) -> str:
    assert batch.images is not None
    _, h, w, _ = batch.images.shape
    side = max(h, w)
    scale = max(1, 64 // side) if side < 64 else 1
    figs = []
    for i, image in enumerate(batch.images[:max_items]):
        label = escape(batch.labels[i]) if i < len(batch.labels) else "&nbsp;"
        figs.append(
            f'<figure class="rw-item" tabindex="0" title="{escape(_item_title(batch, i))}">'
            f'<img src="{png_data_uri(image)}" width="{w * scale}" height="{h * scale}" '
            f'alt="item {i}" style="image-rendering:pixelated;display:block">'
            f'<figcaption style="font:11px monospace;max-width:{max(w * scale, 24)}px;'
            f'overflow:hidden;text-overflow:ellipsis;white-space:nowrap">{label}</figcaption></figure>'
        )
    return f'<div style="display:flex;flex-wrap:wrap;gap:6px">{"".join(figs)}</div>'


def _tokens_html(batch: DecodedBatch, max_items: int) -> str:
    assert batch.texts is not None
    rows = []
    for i, text in enumerate(batch.texts[:max_items]):
        body = escape(text)
        if " &lt;pad&gt;×" in body:
            head, _, tail = body.rpartition(" &lt;pad&gt;×")
            body = f'{head} <span style="color:{MUTED}">&lt;pad&gt;×{tail}</span>'
        label = escape(batch.labels[i]) if i < len(batch.labels) else ""
        rows.append(
            f'<tr title="{escape(_item_title(batch, i))}"><td style="color:{MUTED};padding:1px 6px">{i}</td>'
            f'<td style="padding:1px 6px;font-family:monospace">{label}</td>'
            f'<td style="padding:1px 6px;text-align:left;font-family:monospace">{body}</td></tr>'
        )
    return f'<table style="border-collapse:collapse">{"".join(rows)}</table>'


def _tabular_html(batch: DecodedBatch, max_items: int) -> str:
    assert batch.frame is not None
    frame = batch.frame.head(max_items)
    head = "".join(f'<th style="padding:1px 6px">{escape(str(c))}</th>' for c in frame.columns)
    rows = []
    for i, (_, row) in enumerate(frame.iterrows()):
        cells = []
        for j, v in enumerate(row.tolist()):
            far = (
                batch.outliers is not None
                and j < batch.outliers.shape[1]
                and bool(batch.outliers[i, j])
            )
            style = "padding:1px 6px;text-align:right;font-family:monospace"
            text = fmt(v) if isinstance(v, float) else escape(str(v))
            if far:
                style += f";border:1px solid {FAIL};color:{FAIL};font-weight:600"
                cells.append(
                    f'<td style="{style}" title="far outside the batch\'s typical range">{text}</td>'
                )
            else:
                cells.append(f'<td style="{style}">{text}</td>')
        rows.append(f'<tr><td style="color:{MUTED};padding:1px 6px">{i}</td>{"".join(cells)}</tr>')
    return (
        f'<table style="border-collapse:collapse"><tr><th></th>{head}</tr>{"".join(rows)}</table>'
    )


def _sparkline(seq: np.ndarray, lo: float, hi: float, width: int = 120, height: int = 40) -> str:
    """(T, F) as an SVG with one polyline per feature (the first 8), on the batch's common scale."""
    t = seq.shape[0]
    span = hi - lo if hi > lo else 1.0
    lines = []
    for f in range(min(seq.shape[1], len(_PALETTE))):
        col = np.nan_to_num(seq[:, f], nan=lo, posinf=hi, neginf=lo)
        xs = np.linspace(0, width, t) if t > 1 else np.array([width / 2])
        ys = height - (col - lo) / span * height
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
        lines.append(
            f'<polyline points="{pts}" fill="none" stroke="{_PALETTE[f]}" stroke-width="1"/>'
        )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="border:1px solid {BORDER}">{"".join(lines)}</svg>'
    )


def _sequences_html(batch: DecodedBatch, max_items: int) -> str:
    assert batch.sequences is not None
    finite = batch.sequences[np.isfinite(batch.sequences)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    figs = []
    for i, seq in enumerate(batch.sequences[:max_items]):
        label = escape(batch.labels[i]) if i < len(batch.labels) else "&nbsp;"
        figs.append(
            f'<figure class="rw-item" tabindex="0" title="{escape(_item_title(batch, i))}">'
            f'{_sparkline(seq, lo, hi)}<figcaption style="font:11px monospace">{label}</figcaption></figure>'
        )
    return f'<div style="display:flex;flex-wrap:wrap;gap:6px">{"".join(figs)}</div>'


def decoded_html(batch: DecodedBatch, max_items: int = MAX_ITEMS) -> str:
    """A self-contained block: summary, how it was decoded, the items, then the findings."""
    n = len(batch)
    if batch.images is not None:
        body = _images_html(batch, max_items)
    elif batch.texts is not None:
        body = _tokens_html(batch, max_items)
    elif batch.frame is not None:
        body = _tabular_html(batch, max_items)
    elif batch.sequences is not None:
        body = _sequences_html(batch, max_items)
    else:
        body = ""
    more = (
        f'<div style="color:{MUTED};margin:2px 0">showing {max_items} of {n} items</div>'
        if n > max_items
        else ""
    )
    return (
        f'<div class="rw-decode" data-kind="{escape(batch.kind)}">{_STYLE}'
        f'<div style="font-weight:600;margin:4px 0">{escape(repr(batch))}</div>'
        f'<div style="color:{MUTED};margin:2px 0 6px">{escape(batch.how)}</div>'
        f"{body}{more}{report_html(batch.findings)}</div>"
    )


def before_the_net_text(seen: BeforeTheNet) -> str:
    """What ``with rw.before_the_net(model) as seen`` captured, then the decoded batch."""
    head = repr(seen)
    return head if not seen.captured else head + "\n" + decoded_text(seen.decoded)


def before_the_net_html(seen: BeforeTheNet) -> str:
    head = escape(repr(seen))
    if not seen.captured:
        return f"<div class='rw-decode'>{head}</div>"
    return f'<div style="font-family:monospace;color:{MUTED}">{head}</div>' + decoded_html(
        seen.decoded
    )
