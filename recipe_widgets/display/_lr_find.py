"""Text and a small inline SVG (log-LR axis) for ``rw.lr_find``'s result: deterministic, no JS,
readable in nbviewer and in a dark theme (colours from ``display._theme``)."""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING

from recipe_widgets.display._theme import colour
from recipe_widgets.engine.formatting import fmt

if TYPE_CHECKING:
    from recipe_widgets.engine.lr_find import LRFind

_W, _H, _LEFT, _BOTTOM = 420, 150, 46, 124


def lr_find_text(r: LRFind) -> str:
    """``LR range test: ... suggested lr 0.00123 (valley: ...)``."""
    if not r.lrs:
        return f"LR range test: no step ran ({r.stopped or 'no data'}); no suggestion"
    head = f"LR range test: {len(r.lrs)} steps, lr {fmt(r.lrs[0])} to {fmt(r.lrs[-1])}" + (
        f" (stopped: {r.stopped})" if r.stopped else ""
    )
    if r.suggestion is None:
        return f"{head}\n      no suggestion: the smoothed loss never fell over the sweep"
    return f"{head}\n      suggested lr {fmt(r.suggestion)}, by the {r.rule}"


def lr_find_html(r: LRFind) -> str:
    lines = escape(lr_find_text(r)).split("\n")
    text = "<br>".join(line.strip() for line in lines)
    return f"<div class='rw-lr-find'><div>{text}</div>{_figure(r)}</div>"


def _figure(r: LRFind) -> str:
    pts = [(lr, v) for lr, v in zip(r.lrs, r.losses) if lr > 0 and math.isfinite(v)]
    if len(pts) < 2:
        return ""
    xs = [math.log10(lr) for lr, _ in pts]
    ys = [v for _, v in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def px(lx: float) -> float:
        return _LEFT + (_W - _LEFT - 10) * (lx - x0) / (x1 - x0)

    def py(v: float) -> float:
        return 8 + (_BOTTOM - 8) * (y1 - v) / (y1 - y0)

    muted, rule = f"fill:{colour('muted')}", f"stroke:{colour('rule')}"
    parts = [
        f'<line x1="{_LEFT}" y1="{_BOTTOM}" x2="{_W - 10}" y2="{_BOTTOM}" style="{rule}"/>',
        f'<line x1="{_LEFT}" y1="8" x2="{_LEFT}" y2="{_BOTTOM}" style="{rule}"/>',
    ]
    for k in range(math.ceil(x0), math.floor(x1) + 1):  # a tick per decade of LR
        parts.append(
            f'<text class="rw-tick" x="{px(k):.1f}" y="{_BOTTOM + 12}" text-anchor="middle" '
            f'style="{muted}">1e{k}</text>'
        )
    for v in (y0, y1):
        parts.append(
            f'<text class="rw-tick" x="{_LEFT - 4}" y="{py(v) + 3:.1f}" text-anchor="end" '
            f'style="{muted}">{fmt(v)}</text>'
        )
    line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
    parts.append(f'<polyline points="{line}" style="fill:none;stroke:{colour("accent")}"/>')
    if r.suggestion is not None:
        sx = px(math.log10(r.suggestion))
        parts.append(
            f'<line class="rw-suggestion" x1="{sx:.1f}" y1="8" x2="{sx:.1f}" y2="{_BOTTOM}" '
            f'style="stroke:{colour("pass")};stroke-dasharray:3 2"/>'
            f'<text x="{sx + 3:.1f}" y="16" style="fill:{colour("pass")}">'
            f"lr {fmt(r.suggestion)}</text>"
        )
    parts.append(
        f'<text x="{_LEFT}" y="{_H - 2}" style="{muted}">learning rate (log scale); '
        "smoothed loss</text>"
    )
    body = "".join(parts)
    return (
        f'<svg class="rw-figure" xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="loss against learning rate" '
        f'style="display:block;margin:4px 0;font:10px sans-serif">'
        f"<title>loss against learning rate</title>{body}</svg>"
    )
