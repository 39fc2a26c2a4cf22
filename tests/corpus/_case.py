"""What a corpus case is made of: the user's setup, what a bug must be named by, and what a run
of the kit on the setup gave."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass
class Setup:
    """Everything a user hands the kit, built fresh (and seeded) by a case's ``make``.

    ``check``: further ``rw.check`` keyword arguments the user would pass (``task=``,
    ``scheduler=``, ``steps=``, ``causal=``, ``batch_fn=``, ``output_fn=``, ...).
    ``loop(w)``: the user's own training loop, as they wrote it, calling ``w.log(loss=...)``
    (and ``w.log(val_loss=...)`` where they evaluate); it is run inside
    ``rw.watch(model, optimizer, display=False)``. ``watch``: further ``rw.watch`` arguments.
    """

    model: Any
    data: Any
    loss_fn: Callable[..., Any]
    optimizer: Any = None
    val: Any = None
    check: dict[str, Any] = field(default_factory=dict)
    loop: Callable[[Any], None] | None = None
    watch: dict[str, Any] = field(default_factory=dict)
    run_check: bool = True  # False: only the watch applies (e.g. the bug lives in the loop)


@dataclass(frozen=True)
class Expect:
    """The finding that must name a bug: one of ``checks`` with status warn or fail, whose
    message or fix matches ``says`` (a regular expression, case-insensitive)."""

    checks: tuple[str, ...]
    says: str = ""

    def __init__(self, *checks: str, says: str = "") -> None:
        if not checks:
            raise ValueError("Expect needs at least one finding id")
        object.__setattr__(self, "checks", tuple(checks))
        object.__setattr__(self, "says", says)

    def named_by(self, flag: Flag) -> bool:
        return flag.check in self.checks and bool(
            re.search(self.says, f"{flag.message}\n{flag.fix}", re.IGNORECASE)
        )


@dataclass(frozen=True)
class Flag:
    """A warn or fail finding, and which part of the kit raised it."""

    source: str  # "check" or "watch"
    check: str
    status: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.source}:{self.check}:{self.status}"


@dataclass(frozen=True)
class Case:
    name: str  # "correct/<module>", "bugs/<module>" (as reported) or "fixed/<module>"
    kind: str  # "correct", "bug" or "fixed"
    module: ModuleType
    fixed: bool

    @property
    def source(self) -> str:
        return getattr(self.module, "SOURCE", "")

    @property
    def expect(self) -> Expect | None:
        return getattr(self.module, "EXPECT", None) if self.kind == "bug" else None

    def make(self) -> Setup:
        if self.kind == "correct":
            return self.module.make()
        return self.module.make(fixed=self.fixed)


@dataclass
class Outcome:
    """What the kit said about one case."""

    case: str
    flags: list[Flag] = field(default_factory=list)
    crash: str | None = None  # "check: TypeError: ..." when the kit raised
    seconds: float = 0.0

    @property
    def alarm(self) -> bool:
        return bool(self.flags)

    def named(self, expect: Expect | None) -> bool:
        return expect is not None and any(expect.named_by(f) for f in self.flags)

    def summary(self) -> list[str]:
        return sorted({str(f) for f in self.flags})
