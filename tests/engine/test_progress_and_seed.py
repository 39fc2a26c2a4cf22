"""Progress bars stay out of non-interactive output; seed_everything seeds every source."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from recipe_widgets.engine import seed_everything
from recipe_widgets.engine.progress import progress, progress_enabled


def test_progress_off_when_quiet_or_env_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RW_PROGRESS", raising=False)
    assert not progress_enabled(quiet=True)
    monkeypatch.setenv("RW_PROGRESS", "0")
    assert not progress_enabled()
    assert list(progress(range(3), desc="x")) == [0, 1, 2]


def _draws() -> tuple:
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_seed_everything_makes_all_sources_repeat() -> None:
    assert seed_everything(123) == 123
    a = _draws()
    seed_everything(123)
    assert _draws() == a
    seed_everything(124)
    assert _draws() != a


@pytest.mark.parametrize("bad", [1.5, "0", None, True])
def test_seed_must_be_an_int(bad: object) -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        seed_everything(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_seed_range_is_checked_up_front(bad: int) -> None:
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        seed_everything(bad)


def test_seed_accepts_numpy_ints() -> None:
    assert seed_everything(np.int64(5)) == 5
