"""The learning rates of ``rw.check``'s schedule dry run, as values a chart can draw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recipe_widgets.engine.results import Finding, Report


@dataclass(frozen=True)
class SchedulePreview:
    """The LR per optimizer step of the dry run (thinned to at most a few hundred points)."""

    steps: list[int]
    lrs: list[float]
    total_steps: int


def schedule_preview(found: Report | Finding) -> SchedulePreview:
    """The ``lr_schedule`` finding's learning rates, from a check report or the finding itself."""
    if isinstance(found, Report):
        if "lr_schedule" not in found:
            raise ValueError(
                "this report has no lr_schedule finding: run rw.check with scheduler= and steps="
            )
        found = found["lr_schedule"]
    ev: dict[str, Any] = found.evidence
    if "lrs" not in ev:
        raise ValueError(
            f"the {found.check} finding holds no dry-run learning rates "
            f"({found.status}: {found.message})"
        )
    total, lrs = int(ev["steps"]), list(ev["lrs"])
    # a finding saved before lr_steps was recorded: the thinned points were evenly spaced
    steps = ev.get("lr_steps") or list(range(0, total, -(-total // len(lrs))))
    return SchedulePreview(list(steps), lrs, total)
