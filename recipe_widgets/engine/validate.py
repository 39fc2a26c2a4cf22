"""Argument checks shared by the public functions: a bad value is refused at the door with a
``TypeError`` / ``ValueError`` that names the argument, instead of a wrong answer or an error
from deep inside torch."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def whole(name: str, value: Any, *, least: int = 1) -> int:
    """An int (not a bool, not a float) of at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}= must be a whole number >= {least}, got {value!r}")
    if value < least:
        raise ValueError(f"{name}= must be a whole number >= {least}, got {value!r}")
    return int(value)


def number(
    name: str, value: Any, *, least: float | None = None, above: float | None = None
) -> float:
    """A finite real number, at least ``least`` / strictly above ``above`` when given."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}= must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name}= must be a finite number, got {value!r}")
    if least is not None and value < least:
        raise ValueError(f"{name}= must be >= {least}, got {value!r}")
    if above is not None and value <= above:
        raise ValueError(f"{name}= must be > {above}, got {value!r}")
    return float(value)


def one_of(name: str, value: Any, options: Iterable[str]) -> str:
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}= must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def names(name: str, value: Any) -> list[str]:
    """A list (or tuple) of strings; a single string is refused with the list to write."""
    if isinstance(value, str):
        raise TypeError(f"{name}= takes a list of names, e.g. {name}=[{value!r}]")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name}= takes a list of names (strings), got {value!r}")
    return list(value)


def not_text(
    name: str, value: Any, kinds: str = "arrays, tensors, a Dataset or a DataFrame"
) -> None:
    """Data given as a string or bytes (a path, a typo) instead of arrays / tensors."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name}= must be {kinds}, got {type(value).__name__} {value[:40]!r}")


def finite_values(name: str, value: Any, *, positive: bool = False) -> None:
    """``None``, a number, or a sequence / array / tensor of finite numbers (all > 0 with
    ``positive``: a ``std`` of 0 would divide by zero)."""
    if value is None:
        return
    import numpy as np

    if isinstance(value, (str, bytes, dict)) or isinstance(value, bool):
        raise TypeError(f"{name}= must be a number or one number per channel, got {value!r}")
    try:
        detach = getattr(value, "detach", None)
        arr = np.asarray(detach().cpu() if callable(detach) else value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name}= must be a number or one number per channel, got {value!r} ({exc})"
        ) from None
    if arr.size == 0:
        raise ValueError(f"{name}= is empty; give one number, or one per channel")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}= must hold finite numbers, got {value!r}")
    if positive and not (arr > 0).all():
        raise ValueError(f"{name}= must be > 0 (it divides), got {value!r}")
