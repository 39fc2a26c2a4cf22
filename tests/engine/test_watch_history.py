"""Bounded memory for long runs: older rows folded into buckets, spikes kept as their max."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
import torch
from torch import nn

from recipe_widgets.engine.watch import load_run, watch_loop
from recipe_widgets.engine.watch._history import FOLD_ROWS, Folded


def _rows(n: int, spike_at: int = -1) -> list[dict[str, float]]:
    return [{"step": i, "loss": 50.0 if i == spike_at else 1.0 + (i % 2)} for i in range(n)]


def test_fold_keeps_counts_means_and_a_spike_within_the_bound() -> None:
    f = Folded(max_buckets=64)
    n = 64 * 100 + 37  # not a multiple of any bucket size
    rows = _rows(n, spike_at=4321)
    for start in range(0, n, 1000):
        f.fold(rows[start : start + 1000])
    df = f.frame()
    assert len(df) <= 64
    assert int(df["rows"].sum()) == n == f.total_rows
    assert df["step_first"].iloc[0] == 0 and df["step"].iloc[-1] == n - 1
    assert (df["step_first"].iloc[1:].to_numpy() == df["step"].iloc[:-1].to_numpy() + 1).all()
    exact = np.array([r["loss"] for r in rows])
    assert float((df["loss"] * df["rows"]).sum()) == pytest.approx(exact.sum())
    spike = df[(df["step_first"] <= 4321) & (df["step"] >= 4321)]
    assert spike["loss_max"].item() == 50.0  # the mean smooths it; the max keeps it
    assert spike["loss"].item() < 50.0
    assert df["loss_min"].min() == 1.0


def test_non_finite_values_and_late_metrics_are_left_out_of_the_stats() -> None:
    f = Folded(max_buckets=2)  # four rows: two buckets of two
    f.fold(
        [
            {"step": 0, "loss": math.nan},
            {"step": 1, "loss": 2.0},
            {"step": 2, "loss": 4.0, "acc": 0.5},
            {"step": 3, "loss": math.inf, "acc": 0.7},
        ]
    )
    df = f.frame()
    assert df["rows"].tolist() == [2, 2]
    assert df["loss"].tolist() == [2.0, 4.0]
    assert math.isnan(df["acc"].iloc[0]) and df["acc"].iloc[1] == pytest.approx(0.6)
    assert df["acc_max"].iloc[1] == 0.7
    f.fold([{"step": 4, "val_loss": 3.0}, {"step": 5, "val_loss": 1.0}])  # merged: one bucket
    df = f.frame()
    assert df["rows"].tolist() == [4, 2] and df["val_loss"].tolist()[1] == 2.0
    assert math.isnan(df["val_loss"].iloc[0]) and math.isnan(df["loss"].iloc[1])


def test_a_long_watch_keeps_recent_rows_and_buckets(tmp_path) -> None:
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    n = 5 * FOLD_ROWS + 123
    with watch_loop(model, opt) as w:
        for i in range(n):
            w.log(step=i, loss=50.0 if i == 777 else 1.0, acc=i / n)
    assert len(w._rows) < 2 * FOLD_ROWS  # bounded: the rest is folded
    h = w.history
    recent = h[h["step"] >= n - FOLD_ROWS]
    assert recent["step"].tolist() == list(range(n - FOLD_ROWS, n))  # as logged
    assert recent["acc"].tolist() == pytest.approx([i / n for i in range(n - FOLD_ROWS, n)])
    assert h["step"].is_monotonic_increasing and len(h) < n
    d = w.downsampled
    assert int(d["rows"].sum()) + len(w._rows) == n
    assert d["loss_max"].max() == 50.0
    assert repr(w).startswith(f"Watch(steps={n - 1}, loss=1")

    back = load_run(w.save(tmp_path / "run.json"))
    assert back.history.equals(h)
    assert back.downsampled.equals(d)


def test_a_short_run_is_not_downsampled() -> None:
    model = nn.Linear(2, 1)
    with watch_loop(model) as w:
        for i in range(100):
            w.log(step=i, loss=1.0)
    assert w.downsampled.empty and len(w.history) == 100


def test_points_stay_bounded_evenly_spaced_and_keep_a_spike() -> None:
    from recipe_widgets.engine.watch._history import Points

    p = Points("max", recent=64)
    n = 100_000
    for i in range(n):
        p.append((i, 1e6 if i == 1234 else (math.nan if i == 50_000 else float(i % 5))))
    pts = list(p)
    assert p.total == n and len(pts) <= 2 * 64 + 1
    steps = [s for s, _ in pts]
    assert steps == sorted(steps) and steps[-64:] == list(range(n - 64, n))  # recent as recorded
    assert (1234, 1e6) in pts and any(s == 50_000 and math.isnan(v) for s, v in pts)
    gaps = np.diff(steps[: -64 - 1])
    assert gaps.max() <= 4 * np.median(gaps)  # old points evenly thinned, not the oldest starved
    assert p.since(n - 3) == [(n - 3, 2.0), (n - 2, 3.0), (n - 1, 4.0)]
    first = Points("first", recent=8)
    for i in range(100):
        first.append((i, float(i)))
    assert list(first)[0] == (0, 0.0) and first[-1] == (99, 99.0)
    with pytest.raises(ValueError, match="keep"):
        Points("mean")


def test_loss_detector_and_lr_points_do_not_grow_per_step() -> None:
    """A long run with a per-step schedule: the loss detector keeps a count and a window, the
    LR change points and gradient norms stay bounded, and ``w.lrs`` still has every step."""
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 / (1 + k))
    n = 3 * 4096 + 500
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    with watch_loop(model, opt, stats_every=1) as w:
        for _ in range(n):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            w.log(loss=loss)
    hooks = w._hooks
    assert hooks._lr_points.total >= n - 1 and len(hooks._lr_points) <= 2 * 4096 + 1
    assert len(hooks.samples.grad_norms) <= 2 * 4096 + 1
    detector_lists = [v for v in vars(w._loss).values() if isinstance(v, (list, deque))]
    assert all(len(v) < 100 for v in detector_lists)
    lrs = w.lrs
    assert lrs["step"].tolist() == list(range(1, n + 1))
    assert lrs["lr"].iloc[-1] == pytest.approx(0.1 / n)
