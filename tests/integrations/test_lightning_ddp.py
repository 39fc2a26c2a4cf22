"""RecipeCallback under Lightning's DDP strategy on CPU: 2 processes, NaN on rank 1 at step 30."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("lightning.pytorch")

from recipe_widgets.engine.watch import load_run
from tests.integrations.test_ddp import free_port, not_finite_at

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import math, sys, torch
import lightning.pytorch as pl
from torch import nn
from recipe_widgets.integrations.lightning import RecipeCallback

class Module(pl.LightningModule):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def training_step(self, batch, i):
        x, y = batch
        if self.global_rank == 1 and self.trainer.global_step == 29:  # optimizer step 30
            x = x.clone()
            x[0, 0] = math.nan
        return nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)

if __name__ == "__main__":
    x = torch.randn(40 * 2 * 8, 4, generator=torch.Generator().manual_seed(0))
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x[:, :1]), batch_size=8)
    trainer = pl.Trainer(
        max_epochs=1, accelerator="cpu", devices=2, strategy="ddp", logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[RecipeCallback(logdir=sys.argv[1], display=False)],
    )
    trainer.fit(Module(), data)
    sys.stdout.write(f"rank {trainer.global_rank} steps {trainer.global_step}\\n")  # one write
    sys.stdout.flush()
"""


def test_lightning_ddp_reports_rank_1_nan_and_ends_on_both_ranks(tmp_path: Path) -> None:
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
    }
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rank 0 steps 40" in proc.stdout and "rank 1 steps 40" in proc.stdout
    run = load_run(tmp_path / "run")
    nan = not_finite_at(run)
    assert (1, 30) in nan and (0, 30) not in nan
