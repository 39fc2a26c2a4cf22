"""The loss detector's batched path (what the watch's drain uses) against feeding one by one."""

from __future__ import annotations

import math
import random

import pytest

from recipe_widgets.engine.watch._detectors import Findings, LossDetector, WatchConfig


def _state(d: LossDetector) -> tuple:
    return (
        d._n,
        list(d._window),
        d._best_window,
        d._first_window,
        d._best_loss,
        d._best_at,
        [(f.check, f.status, f.message, f.evidence) for f in d.out.all],
    )


def _series(kind: str, n: int, rng: random.Random) -> list[float]:
    if kind == "falling":
        return [2.0 * math.exp(-i / 200) + 0.05 * rng.random() for i in range(n)]
    if kind == "diverging":  # falls, then climbs past where it began
        return [1.0 / (1 + i / 50) if i < 300 else 0.1 * 1.02 ** (i - 300) for i in range(n)]
    if kind == "plateau":
        return [1.0 + 0.001 * rng.random() for _ in range(n)]
    if kind == "nan":
        return [1.0 / (1 + i) if i != 137 else math.nan for i in range(n)]
    if kind == "inf_then_falling":
        return [math.inf if i == 3 else 1.0 / (1 + i) for i in range(n)]
    return [rng.random() for _ in range(n)]  # noise


@pytest.mark.parametrize(
    "kind", ["falling", "diverging", "plateau", "nan", "inf_then_falling", "noise"]
)
@pytest.mark.parametrize("chunk", [1, 7, 190, 5000])
def test_batched_feed_matches_one_by_one(kind: str, chunk: int) -> None:
    rng = random.Random(kind)
    values = _series(kind, 3000, rng)
    steps = list(range(1, len(values) + 1))
    one = LossDetector(WatchConfig(), Findings())
    for v, s in zip(values, steps):
        one.feed("loss", v, s)
    batched = LossDetector(WatchConfig(), Findings())
    for i in range(0, len(values), chunk):
        batched.feed_losses(values[i : i + chunk], steps[i : i + chunk])
    assert _state(batched) == _state(one)
    if kind in ("diverging", "plateau", "nan"):  # the case really raised its finding
        assert len(one.out) >= 1
