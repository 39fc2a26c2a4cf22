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


@pytest.mark.parametrize("leave", [True, False])
def test_a_bar_stopped_early_closes_as_finished_not_as_an_error(leave: bool) -> None:
    # A ladder rung that reaches its target after 3 of 10 steps: tqdm's notebook bar would turn
    # red ("danger") at 30%, which a reader takes for a crash.
    from tqdm.notebook import tqdm as notebook_tqdm

    from recipe_widgets.engine.progress import finish

    bar = notebook_tqdm(total=10, leave=leave, display=False)
    bar.update(3)
    finish(bar)
    style = bar.container.children[1].bar_style
    assert style != "danger" and bar.total == 3
    if leave:
        assert style == "success"

    plain = notebook_tqdm(total=10, leave=True, display=False)
    plain.update(3)
    plain.close()  # what closing without finish() shows: the red bar this guards against
    assert plain.container.children[1].bar_style == "danger"
