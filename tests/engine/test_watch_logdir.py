"""rw.watch(logdir=...): the run directory, read back by load_run, pandas and a crashed writer."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from recipe_widgets.engine.watch import load_run, watch_loop
from recipe_widgets.engine.watch._logdir import FileFollower, RunWriter, read_run

ROOT = Path(__file__).resolve().parents[2]


def train(
    logdir: Path, steps: int = 12, nan_at: int | None = None, name: str = "exp", lr: float = 0.05
) -> object:
    """A small watched loop with a StepLR, writing to ``logdir`` (a NaN loss at ``nan_at``)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    with watch_loop(model, opt, logdir=logdir, name=name) as w:
        for step in range(steps):
            loss = (model(x) - y).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            w.log(loss=math.nan if step == nan_at else loss)
            w.log(acc=step / steps)  # same row: the history's merge rule holds on disk too
    return w


def test_run_dir_reads_back_as_the_watch_saw_it(tmp_path: Path) -> None:
    w = train(tmp_path / "exp1", nan_at=7)
    run = load_run(tmp_path / "exp1")
    assert run.name == "exp"
    pd.testing.assert_frame_equal(run.history, w.history)
    assert run.report.findings == w.report.findings
    assert "loss_not_finite" in [f.check for f in run.report.findings]
    pd.testing.assert_frame_equal(run.lrs, w.lrs)  # the StepLR halvings, step by step
    pd.testing.assert_frame_equal(run.grad_norms, w.grad_norms)
    assert run.lrs["lr"].iloc[-1] == 0.05 / 4


def test_pandas_reads_a_run_file_in_one_line(tmp_path: Path) -> None:
    train(tmp_path, nan_at=3)
    df = pd.read_json(tmp_path / "rank0.jsonl", lines=True, precise_float=True)
    logged = df[df["kind"] == "log"].groupby("step").first()  # one w.log per record
    assert logged.index.tolist() == list(range(1, 13))
    assert logged["acc"].tolist() == [i / 12 for i in range(12)]
    assert math.isnan(logged["loss"].iloc[3])  # NaN written as NaN, not dropped
    findings = df[df["kind"] == "finding"].set_index("check")
    assert findings.loc["loss_not_finite", "step"] == 4
    assert df["kind"].iloc[0] == "meta" and df["kind"].iloc[-1] == "end"


def test_half_written_last_line_is_skipped_then_read_when_complete(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path, "r", rank=0)
    writer.write([{"kind": "log", "step": 1, "loss": 2.0}])
    follower = FileFollower(writer.path)
    assert [r["kind"] for r in follower.poll()] == ["meta", "log"]
    with open(writer.path, "ab") as f:
        f.write(b'{"kind":"log","step":2,"lo')  # a writer caught mid-record
    assert follower.poll() == []
    assert [r["step"] for r in read_run(tmp_path).rows] == [1]
    with open(writer.path, "ab") as f:
        f.write(b'ss":1.5,"rank":0}\n')
    assert follower.poll()[0]["loss"] == 1.5


def test_a_cut_line_followed_by_more_records_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rank0.jsonl"
    path.write_bytes(b'{"kind":"log","step":1,"loss":2.0,"rank":0}\n{"kind":"log","st')
    writer = RunWriter(tmp_path, "again", rank=0)  # the next run appends after the cut
    writer.write([{"kind": "log", "step": 1, "loss": 9.0}])
    run = load_run(tmp_path)
    assert run.name == "again" and run.history["loss"].tolist() == [9.0]


def test_a_rerun_in_the_same_dir_replaces_the_earlier_one(tmp_path: Path) -> None:
    train(tmp_path, steps=12)
    w = train(tmp_path, steps=5, name="second")
    run = load_run(tmp_path)
    assert run.name == "second"
    pd.testing.assert_frame_equal(run.history, w.history)


def test_ranks_are_merged_and_findings_carry_their_rank(tmp_path: Path) -> None:
    for rank, loss in ((0, 1.0), (1, math.nan)):
        writer = RunWriter(tmp_path, "ddp", rank=rank)
        writer.write([{"kind": "log", "step": 30, "loss": loss}])
        writer.write(
            [{"kind": "finding", "check": "loss_not_finite", "status": "fail", "message": "m"}]
            if rank
            else []
        )
    run = load_run(tmp_path)
    assert run.history["loss"].tolist() == [1.0]  # rank 0's history
    (finding,) = run.report.findings
    assert finding.evidence["rank"] == 1


WRITER = """
import sys, time, torch
from torch import nn
from recipe_widgets.engine.watch import watch_loop
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(8, 4)
with watch_loop(model, opt, logdir=sys.argv[1]) as w:
    step = 0
    while True:
        loss = model(x).pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        wall = time.time()
        w.log(loss=loss, wall=wall)
        step += 1
        print(step, wall, flush=True)  # what was logged, for the parent to compare with
        time.sleep(0.005)
"""


def test_sigkilled_writer_loses_at_most_its_last_second(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "RANK": "0"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "run")], stdout=subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith(b"1 ")
        time.sleep(2.0)
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        logged = [line.split() for line in proc.stdout.read().decode().splitlines()]
    finally:
        proc.kill()
        proc.wait()
    h = load_run(tmp_path / "run").history
    assert h["step"].tolist() == list(range(1, len(h) + 1))  # every step up to the last kept
    # Every step logged over a second before the kill is on disk (a loaded machine may have
    # logged few steps in that second: that is counted from what the writer said it logged).
    before = [int(step) for step, wall in logged if float(wall) < killed_at - 1.0]
    assert before and before[-1] <= h["step"].iloc[-1]
    lines = (tmp_path / "run" / "rank0.jsonl").read_bytes().splitlines()
    assert "end" not in {json.loads(line)["kind"] for line in lines}  # it really was killed
