"""``python -m recipe_widgets check module:factory [--json]``: the recipe's checks in CI.

The factory takes no arguments and returns a dict of ``rw.check``'s arguments (``model``,
``data``, ``loss_fn``, optionally ``optimizer``, ``val``, ...). Exit status: 0 no failure,
1 some check failed, 2 the setup could not be checked (bad factory, unusable input).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any


def _load_factory(spec: str) -> Callable[[], Any]:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"expected module:factory (e.g. mypkg.setups:make_check_args), got {spec!r}"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"cannot import {module_name!r}: {exc}. Run from the directory that"
            " contains it, or add it to PYTHONPATH."
        ) from exc
    for part in attr.split("."):  # attribute access only, never eval
        if not part.isidentifier():
            raise ValueError(f"{attr!r} is not a dotted name")
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ValueError(f"{module_name} has no {attr!r}") from exc
    if not callable(obj):
        raise ValueError(
            f"{spec} is not callable; it must be a function returning rw.check's arguments"
        )
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recipe_widgets", description="Run the recipe's checks outside Jupyter."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="rw.check on the arguments a factory returns")
    p_check.add_argument("factory", help="module:function returning a dict of rw.check arguments")
    p_check.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    from recipe_widgets.engine.check import UnusableInput, check

    try:
        kwargs = _load_factory(args.factory)()
        if not isinstance(kwargs, dict) or not {"model", "data", "loss_fn"} <= set(kwargs):
            raise ValueError(
                f"{args.factory} must return a dict with at least model, data and"
                f" loss_fn; got {type(kwargs).__name__}"
                f"{' with keys ' + ', '.join(map(str, kwargs)) if isinstance(kwargs, dict) else ''}"
            )
        kwargs.setdefault("quiet", True)
        report = check(**kwargs)
    except (UnusableInput, ValueError, TypeError) as exc:
        print(f"recipe_widgets check: cannot check this setup: {exc}", file=sys.stderr)
        return 2
    print(report.to_json() if args.json else str(report))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
