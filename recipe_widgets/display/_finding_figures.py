"""Small inline-SVG figures drawn from a finding's evidence, shown under it in the HTML report.

Hand-written SVG, not Altair: a report must render in nbviewer and GitHub (no JS), stay
deterministic for nbval, and cost nothing to build. Each figure reads plain evidence only and
returns ``""`` when the evidence it needs is missing or malformed: a figure never breaks a report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from recipe_widgets.display._theme import colour

if TYPE_CHECKING:
    from recipe_widgets.engine.results import Finding

_W, _H, _PAD = 300, 110, 28
# Mid-tone series colours (WCAG luminance 0.19-0.24) that read on a light page and a dark one
# alike: contrast 3.6:1 or more on white, 3.8:1 or more on VS Code's #1e1e1e and JupyterLab's #111.
_COLOURS = ("#3b7dd8", "#d0479b", "#2b8a3e", "#b27b12", "#8b5cf6")


def _svg(body: str, title: str, width: int = _W, height: int = _H) -> str:
    return (
        f'<svg class="rw-figure" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'style="display:block;margin:4px 0;font:10px sans-serif">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(float(v))]


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log axis over ``[10**lo, 10**hi]``: the decades inside it, or its two
    ends when it spans less than a decade (a loss from 0.012 to 0.009 still gets numbers)."""
    decades = [10.0**k for k in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
    return decades if len(decades) >= 2 else [10**lo, 10**hi]


def overfit_figure(evidence: dict[str, Any]) -> str:
    """The loss of each rung of the overfit ladder (log scale) against that rung's own target.

    Each rung has its own target (the report's text names the batch rung's), so each dashed
    target line is drawn in its rung's colour and labelled with its value; the axes carry ticks
    so a reader sees how far the loss stopped from the target.
    """
    ladder = [
        r
        for r in evidence.get("ladder", ())
        if isinstance(r, dict) and _finite(r.get("losses", ()))
    ]
    if not ladder:
        return ""

    def target_of(rung: dict[str, Any]) -> float | None:
        t = rung.get("target", evidence.get("target"))
        ok = isinstance(t, (int, float)) and math.isfinite(float(t)) and t > 0
        return float(t) if ok else None

    everything = [v for r in ladder for v in _finite(r["losses"]) if v > 0]
    everything += [t for t in map(target_of, ladder) if t is not None]
    if not everything:
        return ""
    lo, hi = math.log10(min(everything)), math.log10(max(everything))
    hi = hi if hi > lo else lo + 1
    steps = max(len(r["losses"]) for r in ladder)
    width = 420  # room on the right for labels such as '40 ex: 0.00993 (target 0.01)'
    left, right, bottom = 44, width - 170, _H - 26

    def x(i: float) -> float:
        return left + (right - left) * i / max(steps - 1, 1)

    def y(v: float) -> float:
        return 8 + (bottom - 8) * (hi - math.log10(max(v, 10**lo))) / (hi - lo)

    axis = f"stroke:{colour('rule')}"
    muted = f"fill:{colour('muted')}"
    parts = [
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" style="{axis}"/>',
        f'<line x1="{left}" y1="8" x2="{left}" y2="{bottom}" style="{axis}"/>',
    ]
    for v in _log_ticks(lo, hi):
        parts.append(
            f'<line x1="{left - 3}" y1="{y(v):.1f}" x2="{left}" y2="{y(v):.1f}" style="{axis}"/>'
            f'<text class="rw-tick" x="{left - 5}" y="{y(v) + 3:.1f}" text-anchor="end" '
            f'style="{muted}">{v:.3g}</text>'
        )
    for i in sorted({0, steps - 1}):
        parts.append(
            f'<text class="rw-tick" x="{x(i):.1f}" y="{bottom + 11}" text-anchor="middle" '
            f'style="{muted}">{i}</text>'
        )
    for k, rung in enumerate(ladder):
        losses = _finite(rung["losses"])
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(losses) if v > 0)
        stroke = f"stroke:{_COLOURS[k % len(_COLOURS)]}"
        fill = f"fill:{_COLOURS[k % len(_COLOURS)]}"
        parts.append(f'<polyline points="{pts}" style="fill:none;{stroke};stroke-width:1.5"/>')
        target = target_of(rung)
        label = f"{rung.get('examples', '?')} ex: {losses[-1]:.3g}"
        if target is not None:
            ty = y(target)
            parts.append(
                f'<line class="rw-target" x1="{left}" y1="{ty:.1f}" x2="{right}" y2="{ty:.1f}" '
                f'style="{stroke};stroke-dasharray:3 2;opacity:0.8"/>'
            )
            label += f" (target {target:.3g})"
        parts.append(
            f'<text x="{right + 4}" y="{14 + 12 * k}" style="{fill}">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{_H - 2}" style="{muted}">step; loss on a log scale, '
        "dashed: each rung's target</text>"
    )
    return _svg("".join(parts), "overfit one batch: loss per ladder rung", width=width)


def labels_figure(evidence: dict[str, Any]) -> str:
    """Labels and the overfit model's predictions per example: they coincide when it memorized."""
    labels, preds = _finite(evidence.get("labels", ())), _finite(evidence.get("predictions", ()))
    n = min(len(labels), len(preds), 40)
    if n == 0:
        return ""
    labels, preds = labels[:n], preds[:n]
    lo, hi = min(labels + preds), max(labels + preds)
    hi = hi if hi > lo else lo + 1
    width = max(160, _PAD + 12 * n + 70)

    def y(v: float) -> float:
        return 8 + (_H - 40) * (hi - v) / (hi - lo)

    parts = []
    for i in range(n):
        cx = _PAD + 12 * i + 6
        parts.append(
            f'<circle cx="{cx}" cy="{y(labels[i]):.1f}" r="4" fill="none" stroke="{_COLOURS[0]}"/>'
        )
        parts.append(f'<circle cx="{cx}" cy="{y(preds[i]):.1f}" r="2" fill="{_COLOURS[1]}"/>')
    agree = sum(abs(a - b) <= 1e-6 * max(1.0, abs(a)) for a, b in zip(labels, preds))
    parts.append(
        f'<text x="{_PAD}" y="{_H - 16}" style="fill:{colour("muted")}">o label  \u2022 prediction: '
        f"{agree} of {n} equal</text>"
    )
    return _svg("".join(parts), "overfit one batch: labels vs predictions", width=width, height=_H)


def loss_at_init_figure(evidence: dict[str, Any]) -> str:
    """The measured loss at init against the expected range, on one axis."""
    vals = {k: evidence.get(k) for k in ("loss", "expected_low", "expected_high")}
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals.values()):
        return ""
    loss, low, high = (float(vals[k]) for k in ("loss", "expected_low", "expected_high"))
    lo, hi = min(loss, low), max(loss, high)
    span = (hi - lo) or max(abs(hi), 1.0)
    lo, hi = lo - 0.25 * span, hi + 0.25 * span

    def x(v: float) -> float:
        return 10 + (_W - 20) * (v - lo) / (hi - lo)

    body = (
        f'<line x1="10" y1="22" x2="{_W - 10}" y2="22" style="stroke:{colour("rule")}"/>'
        f'<rect x="{x(low):.1f}" y="14" width="{max(x(high) - x(low), 2):.1f}" height="16" '
        f'style="fill:{colour("pass")};fill-opacity:0.2;stroke:{colour("pass")}"/>'
        f'<circle cx="{x(loss):.1f}" cy="22" r="4" fill="{_COLOURS[0]}"/>'
        f'<text x="10" y="46" style="fill:{colour("muted")}">expected {low:.4g} to {high:.4g}; measured {loss:.4g}</text>'
    )
    return _svg(body, "loss at init against the expected range", height=52)


FIGURES: dict[str, Callable[[dict[str, Any]], str]] = {
    "overfit_one_batch": lambda ev: overfit_figure(ev) + labels_figure(ev),
    "loss_at_init": loss_at_init_figure,
}


def figure_html(finding: Finding) -> str:
    """The figure for this finding, or ``""``; never raises."""
    draw = FIGURES.get(finding.check)
    if draw is None or not isinstance(finding.evidence, dict):
        return ""
    try:
        return draw(finding.evidence)
    except (TypeError, ValueError, KeyError, ZeroDivisionError, OverflowError):
        return ""  # odd evidence: the text still says everything
