"""rw.view: the live panel following run directories written by another process."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch
from torch import nn

import recipe_widgets as rw
from recipe_widgets.engine.watch import watch_loop
from recipe_widgets.widgets._watch_view import RunView, view
from tests.engine.test_watch_logdir import train

ROOT = Path(__file__).resolve().parents[2]


class TimedComm:
    """The kernel's comm, as the browser would see it: each message with when it was sent."""

    kernel = object()
    comm_id = "timed-comm"

    def __init__(self) -> None:
        self.sent: list[tuple[float, dict]] = []

    def send(self, data: dict, buffers=None) -> None:
        self.sent.append((time.time(), data))

    def close(self, *args, **kwargs) -> None:
        pass

    def on_msg(self, *args) -> None:
        pass

    def appends(self) -> list[tuple[float, dict]]:
        return [
            (t, m["content"]["series"])
            for t, m in self.sent
            if m.get("method") == "custom" and m["content"].get("type") == "append"
        ]


WRITER = """
import sys, time, torch
from torch import nn
from recipe_widgets.engine.watch import watch_loop
torch.manual_seed(0)
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(8, 4)
with watch_loop(model, opt, logdir=sys.argv[1], name="script") as w:
    for step in range(120):
        loss = model(x).pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        w.log(loss=math.nan if step == 100 else loss, wall=time.time())
        time.sleep(0.02)
"""


def test_view_follows_a_script_within_a_second(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text("import math\n" + textwrap.dedent(WRITER))
    run_dir = tmp_path / "exp1"
    run_dir.mkdir()
    v = RunView(run_dir, poll_seconds=0.25)
    comm = TimedComm()
    v.plot.comm = comm
    v.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(script), str(run_dir)], check=True, env=env)
    time.sleep(0.6)
    v.stop()
    appends = comm.appends()
    assert len(appends) >= 3  # followed while written, not read once at the end
    # Each record reached the panel at most 1 s after the writer logged it (so after it flushed).
    lag = max(at - max(series["wall"][1]) for at, series in appends if "wall" in series)
    assert lag <= 1.0, f"a record took {lag:.2f} s to reach the panel"
    steps = [s for _, series in appends for s in series.get("wall", [[]])[0]]
    assert steps == list(range(1, 121))
    assert "loss_not_finite" in v.plot.findings and "step 101" in v.plot.findings
    assert v.runs["script"].history["step"].tolist() == list(range(1, 121))


def test_a_folder_of_runs_is_compared_and_new_runs_join(tmp_path: Path) -> None:
    train(tmp_path / "a", steps=5, name="a", lr=0.01)
    train(tmp_path / "b", steps=5, name="b", lr=0.1)
    (tmp_path / "not_a_run").mkdir()
    v = rw.view(tmp_path, follow=False)
    assert set(v.plot._steps) == {"a/loss", "a/acc", "b/loss", "b/acc"}
    assert v.plot._values["a/loss"] != v.plot._values["b/loss"]
    train(tmp_path / "c", steps=5, name="c", lr=1.0)
    assert v.poll() == 10  # five steps, two w.log calls each
    assert set(v.runs) == {"a", "b", "c"}
    assert "c: steps=5" in repr(v)


def test_view_of_a_missing_path_says_what_to_give(tmp_path: Path) -> None:
    try:
        view(tmp_path / "nope")
    except FileNotFoundError as err:
        assert "logdir=" in str(err)
    else:
        raise AssertionError("expected FileNotFoundError")


def test_nan_loss_is_left_out_of_the_chart_but_reported(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch_loop(model, opt, logdir=tmp_path) as w:
        w.log(loss=1.0, step=1)
        w.log(loss=math.nan, step=2)
    v = view(tmp_path, follow=False)
    assert v.plot._steps["loss"] == [1]
    assert "loss_not_finite" in v.plot.findings
