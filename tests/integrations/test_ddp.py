"""rw.watch under DDP: two CPU processes (gloo) launched by torchrun, rank 1 fed NaN at step 30.

Every rank's watch runs its detectors and writes its own file; the merged run names the rank of
each finding; the watch adds no collective, so both ranks end cleanly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from recipe_widgets.engine.watch import load_run

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import math, sys, torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from recipe_widgets.engine.watch import watch_loop

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
model = DDP(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
g = torch.Generator().manual_seed(rank)
with watch_loop(model, opt, logdir=sys.argv[1], name="ddp") as w:
    for step in range(40):
        x = torch.randn(8, 4, generator=g)
        if rank == 1 and step == 29:  # the batch of optimizer step 30
            x[0, 0] = math.nan
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        w.log(loss=loss)
sys.stdout.write(f"rank {rank} done {w.steps}\\n")  # one write: the ranks share the pipe
sys.stdout.flush()
dist.destroy_process_group()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def not_finite_at(run: object) -> list[tuple[int, int]]:
    """(rank, step) of each loss_not_finite finding of a merged run."""
    return [
        (f.evidence["rank"], f.evidence["step"])
        for f in run.report.findings  # type: ignore[attr-defined]
        if f.check == "loss_not_finite"
    ]


def test_nan_on_rank_1_is_reported_for_rank_1_and_both_ranks_end(tmp_path: Path) -> None:
    script = tmp_path / "ddp.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        str(script),
        str(tmp_path / "run"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rank 0 done 40" in proc.stdout and "rank 1 done 40" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["rank0.jsonl", "rank1.jsonl"]
    run = load_run(tmp_path / "run")
    nan = not_finite_at(run)
    # Rank 1's own loss at step 30; rank 0's loss only after the all-reduced NaN gradient.
    assert (1, 30) in nan and (0, 30) not in nan
    assert run.history["step"].tolist() == list(range(1, 41))  # rank 0's history
    assert any(
        f.message.startswith("Rank 1: loss became nan at step 30") for f in run.report.findings
    )
