"""What rw.check costs is in its report, and the memory it holds stays bounded.

The snapshot keeps gradients and optimizer state on disk (a SHA-256 each) instead of a second
copy in memory: a change made behind the kit's back, even through ``.data`` or a numpy view,
which no version counter sees, is still put back bit for bit into the same tensor objects.
"""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from recipe_widgets.display._report import report_html, report_text
from recipe_widgets.engine.check import check
from recipe_widgets.engine.check._state import SPILL_BYTES, Snapshot, _Record
from recipe_widgets.engine.results import Cost, Finding, Report

COST_LINE = re.compile(
    r"^cost: checked in \d+\.\d+ s, peak \+\d+ MB( \(\d+(\.\d)?x model\+optimizer\))?$"
)


def _setup(width: int = 8) -> tuple[nn.Module, torch.optim.Optimizer, tuple]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 3))
    x, y = torch.randn(64, width), torch.randint(0, 3, (64,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    nn.CrossEntropyLoss()(model(x), y).backward()
    opt.step()
    return model, opt, (x, y)


def test_report_says_what_the_check_cost_in_text_and_html() -> None:
    model, opt, data = _setup()
    report = check(
        model,
        data,
        nn.CrossEntropyLoss(),
        optimizer=opt,
        quiet=True,
        checks=["loss_at_init", "reproducibility"],
    )
    cost = report.cost
    assert isinstance(cost, Cost)
    assert cost.seconds > 0 and cost.peak_bytes is not None and cost.peak_bytes >= 0
    params = sum(p.numel() * 4 for p in model.parameters())
    # parameters, both Adam moments, and Adam's step count (a float32 scalar per parameter)
    assert cost.state_bytes == 3 * params + 4 * len(list(model.parameters()))
    last = str(report).splitlines()[-1]
    assert COST_LINE.match(last), last
    html = report._repr_mimebundle_()["text/html"]
    assert re.search(r'<div class="rw-cost"[^>]*>cost: checked in [^<]+</div>', html)
    assert report.to_dict()["cost"]["state_bytes"] == cost.state_bytes


def test_cost_is_not_part_of_equality_and_renders_only_when_present() -> None:
    findings = (Finding("loss_at_init", "pass", "fine"),)
    fast = Report(findings, "Recipe check", Cost(1.25, 10_000_000, 5_000_000))
    slow = Report(findings, "Recipe check", Cost(9.5, 20_000_000, 5_000_000))
    assert fast == slow
    assert report_text(fast).splitlines()[-1] == (
        "cost: checked in 1.2 s, peak +10 MB (2.0x model+optimizer)"
    )
    bare = Report(findings, "Recipe check")
    assert "cost:" not in report_text(bare) and "rw-cost" not in report_html(bare)
    assert "cost" not in bare.to_dict()
    with pytest.raises(TypeError, match="Report.cost"):
        Report(findings, "x", cost="4 s")  # type: ignore[arg-type]
    toy = Cost(0.25, 84_000_000, 3_000)  # no "28000x": the kit's imports, not the model
    assert toy.line() == "checked in 0.25 s, peak +84 MB"
    device = Cost(
        0.5, None, 1_000_000, with_optimizer=False, device="cuda:0", device_peak_bytes=3_000_000
    )
    assert device.line() == (
        "checked in 0.50 s, peak memory not measured on this platform,"
        " cuda:0 peak +3 MB (3.0x model)"
    )


def test_snapshot_spills_grads_and_optimizer_state_and_puts_back_hidden_changes() -> None:
    model, opt, _ = _setup(width=256)  # 256 x 256 floats: large enough to be spilled
    grads = [p.grad for p in model.parameters()]
    moments = [s["exp_avg_sq"] for s in opt.state.values()]
    want_grads = [g.clone() for g in grads]
    want_moments = [m.clone() for m in moments]
    snap = Snapshot(model, opt)
    spilled = [grad[1] for *_, grad in snap.params if isinstance(grad[1], _Record)]
    assert spilled, f"no gradient of {SPILL_BYTES}+ bytes went to the spill file"
    with torch.no_grad():
        grads[0].data.mul_(3)  # .data: no version counter notices
        moments[0].numpy()[...] = 7.0  # a numpy view: neither does autograd
        grads[2].data = torch.zeros(5)  # another shape
    snap.restore()
    assert snap.spill.file is None  # the file is gone after the final restore
    for p, g, want in zip(model.parameters(), grads, want_grads):
        assert p.grad is g and torch.equal(g, want)
    for s, m, want in zip(opt.state.values(), moments, want_moments):
        assert s["exp_avg_sq"] is m and torch.equal(m, want)


def test_snapshot_keeps_tensors_in_memory_when_the_disk_refuses(monkeypatch) -> None:
    import tempfile

    def refuse(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    model, opt, _ = _setup(width=256)
    want = [p.grad.clone() for p in model.parameters()]
    snap = Snapshot(model, opt)
    assert snap.spill.failed
    with torch.no_grad():
        next(model.parameters()).grad.data.fill_(1.0)
    snap.restore()
    for p, w in zip(model.parameters(), want):
        assert torch.equal(p.grad, w)


def test_reproducibility_digests_agree_with_bit_equality() -> None:
    """The reproducibility check keeps a digest of the first run's parameters, not a copy: two
    digests are equal exactly when the tensors are (NaN equals NaN, -0.0 equals 0.0)."""
    from recipe_widgets.engine.check._training import _digest, _same

    nan = float("nan")
    a = torch.tensor([[1.0, nan], [-0.0, 2.0]])
    others = [
        a.clone(),
        torch.tensor([[1.0, nan], [0.0, 2.0]]),
        torch.tensor([[1.0, nan], [0.0, 2.0000002]]),
        torch.tensor([[1.0, 3.0], [0.0, 2.0]]),
        a.double(),
        a.reshape(4),
        a.t(),  # not contiguous
        a.to(torch.bfloat16),
    ]
    for b in others:
        assert (_digest(a) == _digest(b)) == _same(a, b), b
    ints = torch.arange(6)
    assert _digest(ints) == _digest(ints.clone()) and _digest(ints) != _digest(ints.flip(0))
    flags = torch.tensor([True, False])
    assert _digest(flags) != _digest(~flags)
