"""Shared fixtures: golden files for text/HTML renderings.

``pytest --update-golden`` (or ``RW_UPDATE_GOLDEN=1``) rewrites the golden files instead of
comparing; review the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current renderings instead of comparing",
    )


class Golden:
    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, name: str, actual: str) -> None:
        """Compare ``actual`` with ``tests/golden/<name>``; on mismatch fail with a unified diff."""
        path = GOLDEN_DIR / name
        if self.update or not path.exists():
            if not self.update:
                pytest.fail(f"no golden file {path}; run pytest --update-golden to create it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        if actual != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    actual.splitlines(keepends=True),
                    fromfile=f"golden/{name}",
                    tofile="actual",
                )
            )
            pytest.fail(f"rendering differs from golden/{name}:\n{diff}")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    update = (
        request.config.getoption("--update-golden") or os.environ.get("RW_UPDATE_GOLDEN") == "1"
    )
    return Golden(bool(update))
