"""rw.check on a real LightningModule: configure_optimizers, training_step, a datamodule."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

pl = pytest.importorskip("lightning.pytorch")

import recipe_widgets as rw  # noqa: E402
from recipe_widgets.engine.check._lightning import read_configure_optimizers  # noqa: E402

FAST = ["loss_at_init", "parameter_coverage", "batch_independence", "decreasing_loss"]


def _data() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    return TensorDataset(x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long())


def _net(frozen: bool = False) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))
    if frozen:
        net[0].requires_grad_(False)
    return net


class Classifier(pl.LightningModule):
    """training_step returns {"loss": ...} and calls self.log, as Lightning's examples do."""

    def __init__(self, lr: float = 1e-2, frozen: bool = False, through_forward: bool = True):
        super().__init__()
        self.net = _net(frozen)
        self.lr = lr
        self.through_forward = through_forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> dict:
        x, y = batch
        logits = self(x) if self.through_forward else self.net(x)
        loss = nn.functional.cross_entropy(logits, y)
        self.log("train_loss", loss)
        return {"loss": loss}

    def configure_optimizers(self) -> dict:
        opt = torch.optim.Adam(self.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class Data(pl.LightningDataModule):
    def setup(self, stage: str) -> None:
        self.train = _data()

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train, batch_size=32, shuffle=True)


def _loader() -> DataLoader:
    return DataLoader(_data(), batch_size=32, shuffle=True)


def _not_passing(report: rw.Report) -> dict[str, str]:
    return {f.check: f.status for f in report.findings if f.status in ("warn", "fail")}


def test_a_correct_module_passes_quietly_and_is_left_bit_for_bit_unchanged() -> None:
    module = Classifier()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # self.log outside a Trainer must not warn
        report = rw.check(module, _loader(), quiet=True, steps=20)
    assert _not_passing(report) == {}
    assert report["loss_at_init"].status == "pass"  # the output checks ran, through forward
    assert report["lr_schedule"].status == "pass"  # the scheduler from configure_optimizers
    assert "configure_optimizers" in report["setup"].message
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert "log" not in module.__dict__ and module.training


@pytest.mark.parametrize(
    ("lit", "plain_net", "plain_lr"),
    [
        (dict(lr=10.0), dict(), 10.0),
        (dict(frozen=True, lr=10.0), dict(frozen=True), 10.0),
    ],
    ids=["lr_far_too_high", "frozen_layer_and_high_lr"],
)
def test_a_bug_is_named_as_in_the_plain_torch_check(
    lit: dict, plain_net: dict, plain_lr: float
) -> None:
    report = rw.check(Classifier(**lit), _loader(), quiet=True, checks=FAST)
    net = _net(**plain_net)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=plain_lr)
    plain = rw.check(net, _loader(), nn.CrossEntropyLoss(), optimizer=opt, quiet=True, checks=FAST)
    assert _not_passing(report) == _not_passing(plain)
    assert _not_passing(report)["decreasing_loss"] == "fail"
    statuses = {f.check: f.status for f in report.findings}
    assert (
        statuses["parameter_coverage"]
        == {f.check: f.status for f in plain.findings}["parameter_coverage"]
    )


def test_the_datamodule_form_positional_and_by_keyword() -> None:
    by_position = rw.check(Classifier(lr=10.0), Data(), quiet=True, checks=["decreasing_loss"])
    by_keyword = rw.check(
        Classifier(lr=10.0), datamodule=Data(), quiet=True, checks=["decreasing_loss"]
    )
    assert by_position["decreasing_loss"].status == by_keyword["decreasing_loss"].status == "fail"
    assert by_position["setup"].evidence["examples"] == 256


def test_a_loss_not_read_through_forward_skips_the_output_checks_and_says_why() -> None:
    report = rw.check(
        Classifier(through_forward=False),
        _loader(),
        quiet=True,
        checks=["loss_at_init", "eval_mode", "decreasing_loss"],
    )
    assert report["loss_at_init"].status == "skip"
    assert "self(...) 0 times" in report["loss_at_init"].message
    assert "loss_fn=" in report["loss_at_init"].message
    assert report["eval_mode"].status == "pass"  # forward itself runs
    assert report["decreasing_loss"].status == "pass"  # trained through training_step


class NoForward(pl.LightningModule):
    """No forward; its own train_dataloader; the ([optimizers], [schedulers]) form."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _net()

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(self.net(x), y)

    def configure_optimizers(self) -> tuple[list, list]:
        opt = torch.optim.SGD(self.parameters(), lr=0.1)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1000)]

    def train_dataloader(self) -> DataLoader:
        return _loader()


def test_no_forward_skips_what_reads_the_output_and_trains_the_rest() -> None:
    report = rw.check(NoForward(), quiet=True, checks=["eval_mode", "decreasing_loss"])
    assert report["eval_mode"].status == "skip"
    assert "define forward" in report["eval_mode"].message
    assert report["decreasing_loss"].status == "pass"
    assert "optimizer and scheduler from configure_optimizers" in report["setup"].message


def test_every_documented_configure_optimizers_form() -> None:
    w = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1)
    forms = [
        ("optimizer", opt, 0),
        ("list", [opt], 0),
        ("two lists", ([opt], [sched]), 1),
        ("dict", {"optimizer": opt, "lr_scheduler": sched}, 1),
        ("dict of dict", {"optimizer": opt, "lr_scheduler": {"scheduler": sched}}, 1),
        ("list of dicts", [{"optimizer": opt, "lr_scheduler": sched}], 1),
    ]
    for name, conf, n_sched in forms:
        opts, scheds = read_configure_optimizers(conf)
        assert opts == [opt], name
        assert [s for s, _ in scheds] == [sched] * n_sched, name
    with pytest.raises(rw.UnusableInput, match="configure_optimizers"):
        read_configure_optimizers(None)


def test_an_optimizer_given_for_the_module_is_used_on_the_copies() -> None:
    module = Classifier()
    opt = torch.optim.SGD(module.parameters(), lr=50.0)
    report = rw.check(module, _loader(), optimizer=opt, quiet=True, checks=["decreasing_loss"])
    assert report["decreasing_loss"].status == "fail"  # SGD at 50, not Adam from the module
    assert report["setup"].evidence["copies_lr"] == [50.0]
    assert all(p.grad is None for p in module.parameters()) and not opt.state


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(TypeError, match="datamodule="):
        rw.check(_net(), _loader(), nn.CrossEntropyLoss(), datamodule=Data())
    with pytest.raises(TypeError, match="loss_fn="):
        rw.check(_net(), _loader())
    with pytest.raises(TypeError, match="not both"):
        rw.check(Classifier(), _loader(), datamodule=Data())
