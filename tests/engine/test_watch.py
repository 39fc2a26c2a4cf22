"""rw.watch bookkeeping: history rows, text/plain, save/load, compare, hygiene on error."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

from recipe_widgets.engine.watch import Watch, compare, load_run, watch_loop


def tiny() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


def one_step(model: nn.Module, opt: torch.optim.Optimizer) -> torch.Tensor:
    loss = model(torch.ones(3, 4)).pow(2).mean()
    loss.backward()
    opt.step()
    opt.zero_grad()
    return loss


def test_row_merge_rule_and_step_column() -> None:
    model, opt = tiny()
    with watch_loop(model, opt) as w:
        one_step(model, opt)
        w.log(loss=1.0, acc=0.5)
        w.log(val_loss=2.0)  # new key: same row
        w.log(loss=0.9)  # key already in the row: new row, same step
        one_step(model, opt)
        w.log(acc=0.7)  # step moved: new row
        w.log(loss=0.5, step=100)  # explicit step
    h = w.history
    assert list(h.columns) == ["step", "loss", "acc", "val_loss"]
    assert h["step"].tolist() == [1, 1, 2, 100]
    assert h["val_loss"].iloc[0] == 2.0 and h["val_loss"].isna().sum() == 3
    assert h["loss"].tolist()[1] == 0.9 and h["acc"].tolist()[2] == 0.7


def test_log_accepts_tensors_and_rejects_non_scalars() -> None:
    model, opt = tiny()
    with watch_loop(model, opt) as w:
        w.log(loss=torch.tensor(0.25, requires_grad=True) * 2)
        with pytest.raises(ValueError, match="scalar"):
            w.log(loss=torch.ones(3))
        with pytest.raises(TypeError, match="number"):
            w.log(loss="low")
        with pytest.raises(ValueError, match="at least one"):
            w.log()
    assert w.history["loss"].tolist() == [0.5]


def test_text_plain_is_deterministic() -> None:
    model, opt = tiny()
    w = Watch(model, opt)
    assert repr(w) == "Watch(steps=0, 0 warnings)"
    with w:
        for _ in range(3):
            w.log(loss=one_step(model, opt))
        w.log(loss=float("nan"))
    assert repr(w) == "Watch(steps=3, loss=nan, 1 failure, 0 warnings)"


def test_hooks_removed_and_state_kept_on_keyboard_interrupt() -> None:
    model, opt = tiny()
    n_params = sum(len(p._backward_hooks or {}) for p in model.parameters())
    with pytest.raises(KeyboardInterrupt):
        with watch_loop(model, opt) as w:
            for i in range(5):
                w.log(loss=one_step(model, opt))
                if i == 3:
                    raise KeyboardInterrupt
    assert len(w.history) == 4 and w.steps == 4
    assert w.report["interrupted"].status == "info"
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    assert all(not m._forward_hooks for m in model.modules())
    assert sum(len(p._backward_hooks or {}) for p in model.parameters()) == n_params


@pytest.mark.parametrize("schedule", ["step", "cosine", "none"])
def test_lrs_are_the_lr_each_step_used(schedule: str) -> None:
    """Kept as change points, read on sampled steps and whenever the LR object changes; torch's
    own schedulers are the oracle for the per-step values."""
    model, opt = tiny()
    sched = {
        "step": lambda: torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40),
        "none": lambda: None,
    }[schedule]()
    used = []
    with watch_loop(model, opt) as w:
        for _ in range(60):
            used.append(opt.param_groups[0]["lr"])
            one_step(model, opt)
            if sched is not None:
                sched.step()
    assert w.lrs["step"].tolist() == list(range(1, 61))
    assert w.lrs["lr"].tolist() == pytest.approx(used)


def test_between_samples_only_the_step_counter_is_hooked() -> None:
    """The budget: off-sample steps pay for one optimizer post-hook, and sampled steps leave no
    residue (a tensor hook, even removed, would cost a Python call on every later backward)."""
    model, opt = tiny()
    armed = []
    with watch_loop(model, opt, stats_every=25) as w:
        for _ in range(60):
            w.log(loss=one_step(model, opt))
            hooked = bool(opt._optimizer_step_pre_hooks) or any(
                m._forward_hooks for m in model.modules()
            )
            armed.append(hooked)
            assert all(p._backward_hooks is None for p in model.parameters())
            assert len(opt._optimizer_step_post_hooks) == 1
    # Armed for the steps after 0-2 and 50-51 completed ones (a window): on from the step before.
    assert [i + 1 for i, on in enumerate(armed) if on] == [1, 2, 50, 51]
    assert all(p._backward_hooks is None for p in model.parameters())
    assert list(w.grad_norms["step"]) == [
        1,
        2,
        3,
        52,
    ]  # heavy: the first three, then each window's second


def test_watch_changes_nothing_the_loop_does_not() -> None:
    """Same loop with and without the watch (and w.track): identical weights and optimizer."""

    def run(watched: bool) -> tuple[dict, dict]:
        torch.manual_seed(1)
        model = nn.Sequential(
            nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2)
        )
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        x = torch.randn(16, 4)
        ctx = watch_loop(model, opt, stats_every=1) if watched else None
        w = ctx.__enter__() if ctx else None
        if w:
            w.track(x[:4])
        for _ in range(12):
            one_step(model, opt)
            if w:
                w.log(loss=0.0)
        if ctx:
            ctx.__exit__(None, None, None)
        assert model.training
        return copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())

    (m1, o1), (m2, o2) = run(False), run(True)
    for k in m1:
        assert torch.equal(m1[k], m2[k]), k
    assert o1["param_groups"] == o2["param_groups"]
    for i in o1["state"]:
        for k in o1["state"][i]:
            assert torch.equal(
                torch.as_tensor(o1["state"][i][k]), torch.as_tensor(o2["state"][i][k])
            )


def test_track_records_probabilities() -> None:
    model, opt = tiny()
    with watch_loop(model, opt, stats_every=2) as w:
        w.track((torch.ones(5, 4), torch.zeros(5)))
        for _ in range(6):
            w.log(loss=one_step(model, opt))
    steps = [s for s, _ in w.predictions]
    assert steps == [0, 1, 2, 4, 6]
    probs = w.predictions[-1][1]
    assert probs.shape == (5, 2)
    assert abs(probs.sum(1) - 1).max() < 1e-5


def test_save_load_and_compare(tmp_path) -> None:
    model, opt = tiny()
    with watch_loop(model, opt, name="baseline") as w:
        for _ in range(4):
            w.log(loss=one_step(model, opt))
        w.log(val_loss=float("inf"))
    path = w.save(tmp_path / "run.json")
    r = load_run(path)
    assert r.name == "baseline"
    assert r.history.equals(w.history)
    assert r.report == w.report and "loss_not_finite" in r.report
    assert repr(r) == repr(w).replace("Watch(", "Run(")
    long = compare(w, r)
    assert set(long["run"]) == {"baseline", "baseline (2)"}
    assert list(long.columns) == ["run", "step", "metric", "value"]
    assert len(long) == 2 * 5  # 4 losses + 1 val_loss each, NaN cells dropped
    with pytest.raises(ValueError, match="names"):
        compare(w, r, names=["a"])
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a saved"):
        load_run(tmp_path / "bad.json")


def test_rejects_wrong_arguments() -> None:
    model, _ = tiny()
    with pytest.raises(TypeError, match="nn.Module"):
        watch_loop("model")
    with pytest.raises(TypeError, match="Optimizer"):
        watch_loop(model, [object()])
    with pytest.raises(ValueError, match="stats_every"):
        watch_loop(model, stats_every=0)


def test_engine_imports_no_display_packages() -> None:
    code = (
        "import sys, recipe_widgets.engine.watch as m; "
        "bad = {'IPython', 'ipywidgets', 'altair', 'anywidget'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_device_values_are_copied_and_read_together_at_the_drain(monkeypatch) -> None:
    """On a GPU each .item() waits for the device, so w.log copies device tensors and reads them
    all at the next drain (one sync). Run here with CPU tensors treated as device tensors: the
    values must be those at log time, even for a tensor the loop changes in place afterwards."""
    from recipe_widgets.engine.watch import _watch as wmod

    monkeypatch.setattr(wmod, "READ_CPU_AT_ONCE", False)
    monkeypatch.setattr(wmod, "DRAIN_SECONDS", 1e9)  # drained only when the block ends
    reads: list[int] = []
    read_all = wmod._read_all
    monkeypatch.setattr(wmod, "_read_all", lambda ts: reads.append(len(ts)) or read_all(ts))
    model, opt = tiny()
    running = torch.zeros(())
    losses, sums = [], []
    with watch_loop(model, opt) as w:
        for _ in range(5):
            loss = one_step(model, opt)
            running += loss.detach()
            losses.append(loss.item())
            sums.append(running.item())
            w.log(loss=loss, running=running)
        running.zero_()
        w.log(val_loss=torch.tensor(float("nan"), dtype=torch.float64), ok=torch.tensor(True))
        assert reads == []  # nothing read inside the loop
    assert reads == [12]
    h = w.history
    assert h["loss"].dropna().tolist() == pytest.approx(losses)
    assert h["running"].dropna().tolist() == pytest.approx(sums)
    assert h["ok"].dropna().tolist() == [1.0]
    assert w.report["loss_not_finite"].evidence["key"] == "val_loss"
    with pytest.raises(TypeError, match="real number"):
        w.log(z=torch.tensor(1j))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_watch_on_cuda_reads_logged_losses_at_the_drain() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).cuda()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, losses = torch.randn(16, 4, device="cuda"), []
    with watch_loop(model, opt, stats_every=2) as w:
        for _ in range(10):
            loss = model(x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.log(loss=loss)
            losses.append(loss.item())
    assert w.history["loss"].tolist() == pytest.approx(losses)
    assert len(w.grad_norms) >= 3 and "loss_not_finite" not in w.report
