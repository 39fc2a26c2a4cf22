"""init_final_bias, evaluate and assert_same: the recipe's small tools around rw.check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from recipe_widgets.engine.check import assert_same, check, evaluate, init_final_bias


def test_init_final_bias_classification_sets_log_prior_and_fixes_the_hockey_stick() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 6, generator=g)
    y = torch.cat([torch.zeros(360), torch.ones(30), torch.full((10,), 2)]).long()  # 90/7.5/2.5 %
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    before = check(model, (x, y), nn.CrossEntropyLoss(), checks=["init_well"], quiet=True)
    assert before["init_well"].status in ("warn", "fail")
    layer = init_final_bias(model, y)
    assert layer is model[2]
    prior = torch.tensor([0.9, 0.075, 0.025])
    assert torch.allclose(model[2].bias.softmax(0), prior, atol=1e-6)
    after = check(
        model, (x, y), nn.CrossEntropyLoss(), checks=["init_well", "loss_at_init"], quiet=True
    )
    assert after["init_well"].status == "pass", after["init_well"].message
    assert after["loss_at_init"].status == "pass"


def test_init_final_bias_binary_and_regression() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    init_final_bias(model, torch.tensor([1.0, 0.0, 0.0, 0.0]))
    assert math.isclose(model[1].bias.item(), math.log(0.25 / 0.75), rel_tol=1e-6)
    init_final_bias(model, torch.tensor([[150.0], [160.0], [170.0]]))
    assert math.isclose(model[1].bias.item(), 160.0, rel_tol=1e-6)
    with pytest.raises(ValueError, match="labels go up to 5"):
        init_final_bias(nn.Linear(3, 2), torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="bias=True"):
        init_final_bias(
            nn.Linear(3, 2, bias=False), torch.tensor([0, 1]), layer=nn.Linear(3, 2, bias=False)
        )


class DropNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(self.drop(x))


def test_evaluate_whole_set_with_standard_errors_and_modes_restored() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 4, generator=g), torch.randint(0, 3, (300,), generator=g)
    torch.manual_seed(0)
    model = DropNet()
    model.train()
    model.lin.eval()  # an odd mix, to be restored exactly
    rng = torch.get_rng_state()
    result = evaluate(model, (x, y), nn.CrossEntropyLoss(), batch_size=64)
    assert model.training and model.drop.training and not model.lin.training
    assert torch.equal(rng, torch.get_rng_state())
    with torch.no_grad():
        out = model.lin(x)  # eval mode: dropout off
    per = nn.functional.cross_entropy(out, y, reduction="none").double().numpy()
    acc = (out.argmax(1) == y).double().numpy()
    assert result.n == 300
    assert math.isclose(result["loss"][0], per.mean(), rel_tol=1e-6)
    assert math.isclose(result["loss"][1], per.std(ddof=1) / math.sqrt(300), rel_tol=1e-5)
    assert math.isclose(result["accuracy"][0], acc.mean(), rel_tol=1e-9)
    assert "±" in repr(result) and "n=300" in repr(result)
    # a Dataset, a DataLoader and an opaque lambda loss give the same figures
    lam = lambda o, t: nn.functional.cross_entropy(o, t)  # noqa: E731
    for data in (TensorDataset(x, y), DataLoader(TensorDataset(x, y), batch_size=50)):
        other = evaluate(model, data, lam)
        assert np.allclose(other["loss"], result["loss"], rtol=1e-5)
        assert other["accuracy"] == result["accuracy"]
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(model, (x, y), None, metrics=["f1"])


def _loopy_attention(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(q.shape[0], k.shape[0])
    for i in range(q.shape[0]):
        for j in range(k.shape[0]):
            out[i, j] = (q[i] * k[j]).sum() / math.sqrt(q.shape[1])
    return out.softmax(-1)


def test_assert_same_accepts_a_correct_rewrite_and_names_the_first_difference() -> None:
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(5, 4, generator=g), torch.randn(6, 4, generator=g)
    assert_same(_loopy_attention, lambda q, k: (q @ k.T / 2.0).softmax(-1), q, k)
    with pytest.raises(AssertionError, match=r"output 0 at \[0, 0\]"):
        assert_same(_loopy_attention, lambda q, k: (q @ k.T).softmax(-1), q, k)  # forgot the scale
    with pytest.raises(AssertionError, match="shape"):
        assert_same(_loopy_attention, lambda q, k: (k @ q.T / 2.0).softmax(-1), q, k)
    # same values, broken gradient: the candidate detaches k
    with pytest.raises(AssertionError, match="gradient of input 1"):
        assert_same(_loopy_attention, lambda q, k: (q @ k.detach().T / 2.0).softmax(-1), q, k)
    assert q.grad is None and not q.requires_grad  # inputs untouched


def test_warnings_raised_inside_the_check_are_caught_once_as_evidence() -> None:
    # A regression net whose output (B, 1) meets targets (B,): MSELoss broadcasts and PyTorch
    # warns on every call, which printed the same UserWarning many times above the report.
    import warnings

    import recipe_widgets as rw

    torch.manual_seed(0)
    x, y = torch.randn(32, 4), torch.randn(32)
    model = nn.Linear(4, 1)
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        report = rw.check(
            model, (x, y), nn.MSELoss(), checks=["loss_at_init", "overfit_one_batch"], quiet=True
        )
    assert not [w for w in leaked if "target size" in str(w.message)]  # none reached the user
    raised = [w for f in report.findings for w in f.evidence.get("warnings", [])]
    broadcast = [w for w in raised if "target size" in w]
    assert len(broadcast) == 1 and broadcast[0].startswith("UserWarning: Using a target size")
    assert "raised UserWarning: Using a target size" in str(report)  # reported, once
    assert str(report).count("raised UserWarning: Using a target size") == 1


def test_the_checks_default_adam_steps_exactly_as_torchs_adam() -> None:
    # rw.check with no optimizer trains its copies with DefaultAdam (torch's first optimizer in a
    # process imports its compiler stack): the same arithmetic as torch.optim.Adam, bit for bit.
    import copy

    from recipe_widgets.engine.check._context import DefaultAdam, default_optimizer

    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2))
    theirs = copy.deepcopy(ours)
    ours[0].bias.requires_grad_(False)
    theirs[0].bias.requires_grad_(False)
    start, frozen = ours[0].weight.detach().clone(), ours[0].bias.detach().clone()
    mine = default_optimizer([p for p in ours.parameters() if p.requires_grad])
    assert isinstance(mine, DefaultAdam) and mine.param_groups[0]["lr"] == 3e-4
    torch_adam = torch.optim.Adam([p for p in theirs.parameters() if p.requires_grad], lr=3e-4)
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(1))
    for step in range(200):
        batch = x[step % 8 * 8 : (step % 8 + 1) * 8]
        for model, opt in ((ours, mine), (theirs, torch_adam)):
            opt.zero_grad(set_to_none=step % 2 == 0)  # both ways of clearing
            model(batch).pow(2).mean().backward()
            opt.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    assert not torch.equal(ours[0].weight, start)  # it really trained
    assert torch.equal(ours[0].bias, frozen)  # and left a frozen parameter alone


def test_a_first_check_in_a_fresh_interpreter_leaves_torchs_compiler_stack_unloaded() -> None:
    # torch.func and torch.optim import torch._dynamo on first use (seconds); the checks use
    # neither when no optimizer is given, so a person's first rw.check costs what later ones do.
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from torch import nn\n"
        "from recipe_widgets.engine.check import check\n"
        "g = torch.Generator().manual_seed(0)\n"
        "x = torch.randn(178, 13, generator=g); y = x[:, :3].argmax(1)\n"
        "torch.manual_seed(0)\n"
        "m = nn.Sequential(nn.Linear(13, 16), nn.ReLU(), nn.Linear(16, 3))\n"
        "r = check(m, (x, y), nn.CrossEntropyLoss(), quiet=True)\n"
        "assert r['batch_independence'].evidence['method'] == 'gradient'\n"
        "assert r['overfit_one_batch'].status == 'pass', r['overfit_one_batch'].message\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
