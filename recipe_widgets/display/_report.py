"""Text and HTML renderings of ``Finding`` and ``Report``: pure, deterministic, escaped.

The text form is what a terminal, a pytest failure and nbval see, so it carries everything a
person needs (status, check id, message, fix) and nothing that changes between runs, except the
last line, ``cost: checked in ...`` (time and memory, see ``Report.cost``): a line of its own
(a ``rw-cost`` element in HTML) that the notebooks' nbval sanitizer masks.
"""

from __future__ import annotations

import textwrap
from html import escape
from typing import TYPE_CHECKING

from recipe_widgets.display._finding_figures import figure_html
from recipe_widgets.display._theme import colour

if TYPE_CHECKING:
    from recipe_widgets.engine.results import Finding, Report

WIDTH = 100
_LABEL = {"fail": "FAIL", "warn": "WARN", "info": "INFO", "pass": "PASS", "skip": "SKIP"}
# The label text says the status; its colour (the theme's error / warn / info / success colour)
# only repeats it, outlined rather than filled so it reads on a light and a dark background.


_PAD = " " * 6  # continuation lines align under the message, like a hanging indent


def _wrap(text: str, first: str, rest: str, width: int) -> list[str]:
    lines: list[str] = []
    for i, para in enumerate(text.splitlines() or [""]):
        lead = first if i == 0 else rest
        lines.extend(
            textwrap.wrap(para, width=width, initial_indent=lead, subsequent_indent=rest)
            or [lead.rstrip()]
        )
    return lines


def finding_text(finding: Finding, width: int = WIDTH) -> str:
    """``FAIL  loss_at_init: message`` then an indented ``fix:`` line."""
    head = f"{_LABEL[finding.status]}  {finding.check}: "
    lines = _wrap(head + finding.message, "", _PAD, width)
    if finding.fix:
        lines += _wrap("fix: " + finding.fix, _PAD, _PAD, width)
    for warning in _warnings(finding):
        lines += _wrap("raised " + warning, _PAD, _PAD, width)
    return "\n".join(lines)


def _warnings(finding: Finding) -> list[str]:
    """Warnings the check caught while it ran (``evidence["warnings"]``), each once."""
    raised = finding.evidence.get("warnings") if isinstance(finding.evidence, dict) else None
    return [str(w) for w in raised] if isinstance(raised, (list, tuple)) else []


def summary_line(report: Report) -> str:
    """``Data audit: 3 warnings (3 warn, 2 pass)``: the headline names what needs a look.

    "ok" only when nothing failed or warned; warnings do not fail a report, but a reader who
    stops at the title must not take five warnings for a clean bill.
    """
    counts = report.counts()
    parts = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no findings"
    warns = counts.get("warn", 0)
    if not report.ok:
        verdict = "FAILED"
    elif warns:
        verdict = f"{warns} warning{'s' if warns > 1 else ''}"
    else:
        verdict = "ok"
    return f"{report.title}: {verdict} ({parts})"


def report_text(report: Report, width: int = WIDTH) -> str:
    """The whole report, worst first within the original order of checks."""
    lines = [summary_line(report)]
    for finding in _ordered(report):
        lines.append(finding_text(finding, width))
    if report.cost is not None:
        lines.append(cost_line(report))
    return "\n".join(lines)


def cost_line(report: Report) -> str:
    """``cost: checked in 4.2 s, peak +130 MB (2.9x model+optimizer)``, or "" without a cost."""
    return "" if report.cost is None else f"cost: {report.cost.line()}"


def _ordered(report: Report) -> list[Finding]:
    rank = {"fail": 0, "warn": 1, "info": 2, "pass": 3, "skip": 4}
    return sorted(report.findings, key=lambda f: rank[f.status])  # stable: keeps check order


def finding_html(finding: Finding) -> str:
    fg = colour(finding.status)
    fix = (
        f'<div class="rw-fix" style="margin-top:2px;color:{colour("muted")}"><b>fix:</b> '
        f"{escape(finding.fix)}</div>"
        if finding.fix
        else ""
    )
    raised = "".join(
        f'<div class="rw-raised" style="margin-top:2px;color:{colour("muted")};'
        f'font-family:monospace;font-size:11px">raised {escape(w)}</div>'
        for w in _warnings(finding)
    )
    return (
        f'<tr class="rw-finding rw-{finding.status}" data-check="{escape(finding.check)}">'
        f'<td style="padding:3px 8px;vertical-align:top;white-space:nowrap">'
        f'<span class="rw-status" style="color:{fg};border:1px solid {fg};border-radius:3px;'
        f'padding:0 5px;font-weight:600;font-family:monospace">{_LABEL[finding.status]}</span></td>'
        f'<td style="padding:3px 8px;vertical-align:top;font-family:monospace">{escape(finding.check)}</td>'
        f'<td style="padding:3px 8px;vertical-align:top;text-align:left">{escape(finding.message)}{fix}'
        f"{raised}{figure_html(finding)}</td>"
        "</tr>"
    )


def report_html(report: Report) -> str:
    """A self-contained table (inline styles only: no CSS or JS that nbviewer would strip)."""
    rows = "".join(finding_html(f) for f in _ordered(report))
    head = escape(summary_line(report))
    cost = (
        f'<div class="rw-cost" style="margin:4px 0;color:{colour("muted")};font-size:11px">'
        f"{escape(cost_line(report))}</div>"
        if report.cost is not None
        else ""
    )
    return (
        f'<div class="rw-report" data-ok="{str(report.ok).lower()}">'
        f'<div style="font-weight:600;margin:4px 0">{head}</div>'
        f'<table style="border-collapse:collapse">{rows}</table>{cost}</div>'
    )
