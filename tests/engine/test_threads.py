"""engine.threads: small work runs on one intra-op thread; the user's count comes back."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from recipe_widgets.engine.check import check
from recipe_widgets.engine.check._data import UnusableInput
from recipe_widgets.engine.decode import tensor_stats
from recipe_widgets.engine.threads import small_work
from recipe_widgets.engine.watch import watch_loop


@pytest.fixture(autouse=True)
def three_threads() -> Iterator[None]:
    """A user count above one (and unlike any default) that every call must leave in place."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield
    torch.set_num_threads(before)


def test_block_runs_on_one_thread_and_restores() -> None:
    with small_work():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 3
    with small_work(threads=2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 3


def test_restored_after_an_error() -> None:
    with pytest.raises(RuntimeError, match="boom"), small_work():
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 3


def test_nested_blocks_restore_once_at_the_outer_end() -> None:
    with small_work():
        with small_work():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1  # the inner end does not restore
    assert torch.get_num_threads() == 3


def test_a_user_with_fewer_threads_keeps_them() -> None:
    torch.set_num_threads(1)
    with small_work(threads=2):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 1


def test_rejects_a_count_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"), small_work(threads=0):
        pass


def test_blocks_in_several_threads_at_once() -> None:
    """Overlapping blocks in two threads: each sees one thread inside, each thread gets its own
    count back, and the main thread's count is never touched."""
    start, inside = threading.Barrier(2), threading.Barrier(2)
    seen: dict[str, tuple[int, int, int]] = {}

    def work(name: str) -> None:
        before = torch.get_num_threads()  # read before any block opens: the user's 3
        start.wait()
        with small_work():
            inside.wait()  # both blocks open together
            during = torch.get_num_threads()
            inside.wait()
        seen[name] = (before, during, torch.get_num_threads())

    workers = [threading.Thread(target=work, args=(n,)) for n in "ab"]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert seen["a"][1] == seen["b"][1] == 1
    assert seen["a"] == seen["b"] == (3, 1, 3)
    assert torch.get_num_threads() == 3


def test_a_thread_born_inside_a_block_gets_the_user_count() -> None:
    """torch gives a new thread the last count set anywhere: one started while a block is open
    elsewhere starts at our 1, and its own block hands it the user's 3 afterwards."""
    after: list[int] = []

    def late() -> None:
        with small_work():
            pass
        after.append(torch.get_num_threads())

    with small_work():
        t = threading.Thread(target=late)
        t.start()
        t.join()
    assert after == [3]
    assert torch.get_num_threads() == 3


def test_tensor_stats_restores_the_count() -> None:
    s = tensor_stats(torch.arange(10.0))
    assert s.max == 9.0
    assert torch.get_num_threads() == 3


class Recorder(nn.Module):
    """A small MLP that notes the intra-op thread count of every forward (deep copies share
    the class-level list)."""

    counts: list[int] = []

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        Recorder.counts.append(torch.get_num_threads())
        return self.net(x)


def test_check_trains_on_one_thread_and_restores() -> None:
    Recorder.counts.clear()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 4, generator=g), torch.randint(0, 2, (64,), generator=g)
    torch.manual_seed(0)
    check(Recorder(), (x, y), nn.CrossEntropyLoss(), checks=["overfit_one_batch"], quiet=True)
    assert Recorder.counts and set(Recorder.counts) == {1}
    assert torch.get_num_threads() == 3


def test_check_restores_the_count_when_it_raises() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("shape mismatch")

    x, y = torch.zeros(8, 4), torch.zeros(8, dtype=torch.long)
    with pytest.raises(UnusableInput):
        check(Broken(), (x, y), nn.CrossEntropyLoss(), quiet=True)
    assert torch.get_num_threads() == 3


class SpyLR(float):
    """An LR the optimizer uses as the float it is; the watch's post-step look reads it with
    ``float()``, which notes the thread count that look ran under."""

    counts: list[int] = []

    def __float__(self) -> float:
        SpyLR.counts.append(torch.get_num_threads())
        return float.__float__(self)


def test_watch_windows_run_on_one_thread_and_restore() -> None:
    SpyLR.counts.clear()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=SpyLR(0.1))
    with watch_loop(model, opt) as w:
        for _ in range(30):
            model(torch.ones(3, 4)).pow(2).mean().backward()
            opt.step()
            opt.zero_grad()
            assert torch.get_num_threads() == 3  # the user's loop keeps the user's count
            w.log(loss=1.0)
    assert SpyLR.counts and set(SpyLR.counts) == {1}
    assert torch.get_num_threads() == 3
