"""RecipeCallback in a real Lightning fit on CPU: the findings of the raw loop, step for step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

pl = pytest.importorskip("lightning.pytorch")

from recipe_widgets.engine.watch import load_run  # noqa: E402
from recipe_widgets.integrations.lightning import RecipeCallback  # noqa: E402
from tests.integrations._setups import BUGS, Bug, ids_and_steps, loader, net, raw_findings  # noqa: E402


class Regression(pl.LightningModule):
    def __init__(self, bug: Bug) -> None:
        super().__init__()
        self.net = net(bug)
        self.lr = bug.lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def fit(bug: Bug, callback: RecipeCallback, val: bool = False) -> None:
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[callback],
    )
    trainer.fit(Regression(bug), loader(bug), loader(bug) if val else None)


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_same_findings_as_the_raw_loop(bug: Bug) -> None:
    callback = RecipeCallback(display=False)
    fit(bug, callback)
    expected = raw_findings(bug)
    assert expected  # the bug is one the watch reports
    assert ids_and_steps(callback.watch.report) == expected


def test_logdir_from_a_script_and_validation_metrics(tmp_path: Path) -> None:
    callback = RecipeCallback(logdir=tmp_path / "pl", display=False)
    fit(BUGS[1], callback, val=True)
    run = load_run(tmp_path / "pl")
    assert run.history["step"].max() == 12
    assert run.history["val_loss"].notna().sum() == 1  # one validation epoch
    assert ids_and_steps(run.report) == raw_findings(BUGS[1])
