"""Renderings of the recipe checklist shown by ``%recipe``: text and self-contained HTML."""

from __future__ import annotations

from html import escape
from typing import Any

from recipe_widgets.display._theme import colour

# The checklist is defined above this layer (``recipe_widgets._recipe`` reads the package's
# ``__all__``), so it is typed here by what is used: ``stages`` (each with ``key``, ``title``,
# ``why``, ``notebook`` and ``steps``; each step ``text`` and ``tools``) and ``available``.
Checklist = Any
Step = Any


def _tools(step: Step, available: frozenset[str]) -> list[str]:
    return [f"rw.{t}" for t in step.tools if t in available]


def checklist_text(checklist: Checklist) -> str:
    lines = ["A Recipe for Training Neural Networks (Karpathy, 2019), with recipe_widgets"]
    for number, stage in enumerate(checklist.stages, start=1):
        lines.append("")
        lines.append(f"{number}. {stage.title}  [{stage.key}; notebooks/{stage.notebook}]")
        lines.append(f"   {stage.why}")
        for step in stage.steps:
            tools = _tools(step, checklist.available)
            by = ", ".join(tools) if tools else "by hand"
            lines.append(f"   [ ] {step.text}  -> {by}")
    return "\n".join(lines)


MUTED, BORDER = colour("muted"), colour("border")  # the notebook theme's, light as a fallback


def checklist_html(checklist: Checklist) -> str:
    parts = [
        '<div class="rw-recipe" style="font-family:system-ui,sans-serif;line-height:1.4">',
        '<div style="font-weight:600;font-size:1.1em">A Recipe for Training Neural Networks '
        f'<span style="font-weight:400;color:{MUTED}">(Karpathy, 2019), with recipe_widgets</span>'
        "</div>",
    ]
    for number, stage in enumerate(checklist.stages, start=1):
        parts.append(
            f'<div class="rw-stage" data-stage="{escape(stage.key)}" style="margin-top:8px">'
            f'<div style="font-weight:600">{number}. {escape(stage.title)} '
            f'<code style="font-weight:400;color:{MUTED}">notebooks/{escape(stage.notebook)}</code></div>'
            f'<div style="color:{MUTED};margin:2px 0 4px 0">{escape(stage.why)}</div>'
            '<ul style="list-style:none;margin:0;padding-left:4px">'
        )
        for step in stage.steps:
            tools = _tools(step, checklist.available)
            by = (
                " ".join(
                    f'<code style="border:1px solid {BORDER};border-radius:3px;padding:0 4px">'
                    f"{escape(t)}</code>"
                    for t in tools
                )
                if tools
                else f'<span style="color:{MUTED}">by hand</span>'
            )
            parts.append(f"<li>&#9744; {escape(step.text)} &rarr; {by}</li>")
        parts.append("</ul></div>")
    parts.append("</div>")
    return "".join(parts)
