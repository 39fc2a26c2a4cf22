"""The results model: every check, audit and watch speaks in ``Finding`` and ``Report``.

Both are frozen dataclasses of plain data, so the same object prints in a terminal, fails a
pytest assertion with a readable message, serialises to JSON, and renders in a notebook. The
renderings live in ``recipe_widgets.display`` and are reached through ``engine.rendering``: the
engine never draws and never imports the display layer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from recipe_widgets.engine import rendering

Status = Literal["pass", "info", "warn", "fail", "skip"]

#: Every status, worst first. ``info`` is for what is worth knowing but not wrong.
STATUSES: tuple[str, ...] = ("fail", "warn", "info", "pass", "skip")


class CheckFailed(AssertionError):
    """Raised by :meth:`Report.raise_if_failed`; an ``AssertionError`` so pytest shows it plainly."""

    def __init__(self, report: Report) -> None:
        self.report = report
        lines = [f"{len(report.failed)} recipe check(s) failed:"]
        for f in report.failed:
            lines.append(f"- {f.check}: {f.message}")
            if f.fix:
                lines.append(f"  fix: {f.fix}")
        super().__init__("\n".join(lines))


def to_plain(value: Any, _path: frozenset[int] = frozenset()) -> Any:
    """Turn evidence into JSON-ready plain data: numbers, strings, lists and dicts.

    Tensors and arrays become (nested) lists, numpy / torch scalars Python numbers. NaN and Inf
    stay floats in memory; :meth:`Report.to_json` writes them as strings (JSON has no NaN).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if id(value) in _path:
            raise ValueError(
                "evidence refers to itself (a dict or list that contains itself): evidence must"
                " be plain data that can be written as JSON"
            )
        _path = _path | {id(value)}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v, _path) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_plain(v, _path) for v in items]
    # numpy and torch without importing either: both have .tolist() (scalars and arrays).
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        detach = getattr(value, "detach", None)
        if callable(detach):  # a torch tensor may need grad and device handling first
            value = detach().cpu()
        return to_plain(value.tolist())
    item = getattr(value, "item", None)
    if callable(item):
        return to_plain(item())
    return repr(value)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf'
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


@dataclass(frozen=True)
class Finding:
    """One verdict: what was seen (``message``), what to do (``fix``), and the data behind it.

    ``check`` is a stable id (``"loss_at_init"``) that ``checks=`` / ``skip=`` select by.
    ``evidence`` holds plain data (numbers, strings, lists, dicts) for plots and for tests.
    """

    check: str
    status: Status
    message: str
    fix: str = ""
    evidence: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def __post_init__(self) -> None:
        if not isinstance(self.check, str) or not self.check:
            raise ValueError(f"Finding.check must be a non-empty string id, got {self.check!r}")
        if self.status not in STATUSES:
            raise ValueError(
                f"Finding.status must be one of {', '.join(STATUSES)}; got {self.status!r}"
            )
        for name in ("message", "fix"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(
                    f"Finding.{name} must be a string, got {type(getattr(self, name)).__name__}"
                )
        if not isinstance(self.evidence, Mapping):
            raise TypeError(f"Finding.evidence must be a dict, got {type(self.evidence).__name__}")
        # Plain data only: a stored tensor would keep the user's graph (and memory) alive.
        object.__setattr__(self, "evidence", to_plain(dict(self.evidence)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
            "evidence": self.evidence,
        }

    def __str__(self) -> str:
        return rendering.render(self) or repr(self)


_MB = 1e6


@dataclass(frozen=True)
class Cost:
    """What producing a report cost: wall time, and the peak memory it added on top of what the
    process held before (host resident set; an accelerator's allocated memory too when the model
    lives on one), beside ``state_bytes``, the user's model parameters plus optimizer state.

    These figures vary run to run, so they are not compared (two reports with the same findings
    are equal) and their rendered line, ``cost: checked in ...``, is a dedicated one that a
    notebook comparison masks.
    """

    seconds: float
    peak_bytes: int | None  # None where the platform gives no resident set size
    state_bytes: int
    with_optimizer: bool = True
    device: str = ""
    device_peak_bytes: int | None = None

    def line(self) -> str:
        """``checked in 4.2 s, peak +130 MB (2.9x model+optimizer)``."""
        what = "model+optimizer" if self.with_optimizer else "model"
        secs = f"{self.seconds:.1f}" if self.seconds >= 1 else f"{self.seconds:.2f}"
        text = f"checked in {secs} s"
        if self.peak_bytes is None:
            text += ", peak memory not measured on this platform"
        else:
            text += f", peak +{self.peak_bytes / _MB:.0f} MB{self._times(self.peak_bytes, what)}"
        if self.device and self.device_peak_bytes is not None:
            text += (
                f", {self.device} peak +{self.device_peak_bytes / _MB:.0f} MB"
                f"{self._times(self.device_peak_bytes, what)}"
            )
        return text

    def _times(self, extra: int, what: str) -> str:
        if self.state_bytes < 1_000_000:  # a toy model: the kit's own lazy imports dominate
            return ""
        times = extra / self.state_bytes
        return f" ({times:.1f}x {what})" if times < 100 else f" ({times:.0f}x {what})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "peak_bytes": self.peak_bytes,
            "state_bytes": self.state_bytes,
            "with_optimizer": self.with_optimizer,
            "device": self.device,
            "device_peak_bytes": self.device_peak_bytes,
        }


@dataclass(frozen=True)
class Report:
    """An ordered collection of findings with a verdict: ``ok`` means no ``fail``.

    ``cost``: what the run that made it cost (:class:`Cost`), where it was measured; not part
    of equality."""

    findings: tuple[Finding, ...] = ()
    title: str = "Report"
    cost: Cost | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        findings = tuple(self.findings)
        for f in findings:
            if not isinstance(f, Finding):
                raise TypeError(f"Report holds Finding objects, got {type(f).__name__}")
        object.__setattr__(self, "findings", findings)
        if self.cost is not None and not isinstance(self.cost, Cost):
            raise TypeError(f"Report.cost must be a Cost or None, got {type(self.cost).__name__}")

    # -- verdicts -------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        """True when no finding failed (warnings do not make a report fail)."""
        return not self.failed

    @property
    def failed(self) -> tuple[Finding, ...]:
        return self.with_status("fail")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return self.with_status("warn")

    def with_status(self, *statuses: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status in statuses)

    def counts(self) -> dict[str, int]:
        """Findings per status, worst first, statuses with none left out."""
        counts = {s: 0 for s in STATUSES}
        for f in self.findings:
            counts[f.status] += 1
        return {s: n for s, n in counts.items() if n}

    def __getitem__(self, check: str) -> Finding:
        """The (first) finding of a check id: ``report["loss_at_init"]``."""
        for f in self.findings:
            if f.check == check:
                return f
        known = ", ".join(dict.fromkeys(f.check for f in self.findings)) or "none"
        raise KeyError(f"no finding for check {check!r}; this report has: {known}")

    def __contains__(self, check: object) -> bool:
        return any(f.check == check for f in self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __add__(self, other: Report) -> Report:
        if not isinstance(other, Report):
            return NotImplemented
        return Report(self.findings + other.findings, title=self.title, cost=self.cost)

    def raise_if_failed(self) -> Report:
        """Raise :class:`CheckFailed` (an ``AssertionError``) listing each failure; else return self."""
        if self.failed:
            raise CheckFailed(self)
        return self

    # -- serialisation and display ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "ok": self.ok,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            **({"cost": self.cost.to_dict()} if self.cost is not None else {}),
        }

    def to_json(self, **kwargs: Any) -> str:
        """JSON text; non-finite numbers in evidence are written as ``"nan"`` / ``"inf"``."""
        kwargs.setdefault("indent", 2)
        return json.dumps(_json_safe(self.to_dict()), **kwargs)

    def __str__(self) -> str:
        return rendering.render(self) or repr(self)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items()) or "empty"
        return f"{self.title}({len(self.findings)} findings: {counts})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return rendering.mimebundle(self)
