"""A run as TensorBoard event files, written with ``torch.utils.tensorboard``.

Scalars: every logged metric under its own name, ``lr`` and ``grad_norm`` (the watch's sampled
total gradient norm). Findings: text under ``findings``, one entry per finding at its step, in
Markdown (TensorBoard's text tab renders it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _summary_writer() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:  # torch's writer needs the tensorboard package
        raise ImportError(
            "Writing TensorBoard files needs the tensorboard package: "
            "pip install 'recipe-widgets[tensorboard]'."
        ) from err
    return SummaryWriter


def finding_markdown(finding: Any) -> str:
    text = f"**{finding.status}** `{finding.check}`: {finding.message}"
    if finding.fix:
        text += f"\n\n*Fix:* {finding.fix}"
    if "rank" in finding.evidence:
        text += f"\n\n(rank {finding.evidence['rank']})"
    return text


def write_tensorboard(run: Any, logdir: str | Path) -> Path:
    """Write ``run`` (a watch or a loaded run) to ``logdir``; returns it."""
    logdir = Path(logdir)
    writer = _summary_writer()(log_dir=str(logdir))
    try:
        history = run.history
        for column in history.columns:
            if column == "step":
                continue
            for step, value in zip(history["step"], history[column]):
                if value == value:  # NaN in the table means "not logged in this row"
                    writer.add_scalar(column, float(value), int(step))
        for frame, tag in ((run.lrs, "lr"), (run.grad_norms, "grad_norm")):
            for step, value in zip(frame["step"], frame[tag]):
                if math.isfinite(value):
                    writer.add_scalar(tag, float(value), int(step))
        for finding in run.report.findings:
            step = finding.evidence.get("step")
            writer.add_text("findings", finding_markdown(finding), int(step or 0))
    finally:
        writer.close()
    return logdir
