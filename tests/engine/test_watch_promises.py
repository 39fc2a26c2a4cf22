"""rw.watch keeps its promises: ``w.track`` puts back every module's mode, ``w.save`` is atomic
(concurrent writers, SIGKILL mid-save) and ``rw.load_run`` refuses a damaged file with an error
that names it (truncated, a byte changed, a key missing)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from recipe_widgets.engine.results import Finding, Report
from recipe_widgets.engine.watch import load_run
from recipe_widgets.engine.watch import watch_loop as watch
from recipe_widgets.engine.watch._watch import Run

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ w.track and modes


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def test_track_restores_every_module_mode_and_frozen_bn_stats() -> None:
    torch.manual_seed(0)
    model = Backbone()
    model.train()
    model.backbone.eval()  # a frozen backbone: its BatchNorm must keep its running stats
    opt = torch.optim.SGD(model.head.parameters(), lr=0.1)
    modes = [m.training for m in model.modules()]
    x = torch.randn(16, 4)
    with watch(model, opt) as w:
        w.track(x[:8])
        assert [m.training for m in model.modules()] == modes
        stats = model.backbone[1].running_mean.clone()
        for _ in range(12):  # track predicts again every few steps
            opt.zero_grad()
            loss = model(x).logsumexp(1).mean()
            loss.backward()
            opt.step()
            w.log(loss=loss)
        assert [m.training for m in model.modules()] == modes
        assert torch.equal(model.backbone[1].running_mean, stats)
    assert len(w.predictions) >= 2


class DictModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": torch.zeros(()), "logits": self.lin(input_ids * mask)}


def test_track_dict_batch_and_dict_output() -> None:
    model = DictModel()
    batch = {"input_ids": torch.randn(5, 4), "mask": torch.ones(5, 4), "labels": torch.zeros(5)}
    with watch(model) as w:
        w.track(batch)
    assert w.predictions[-1][1].shape == (5, 3)
    with watch(model) as w, pytest.raises(TypeError, match="batch"):
        w.track("not a batch")
    with watch(nn.Identity()) as w, pytest.raises(ValueError, match="batch"):
        w.track(())


# ------------------------------------------------------------------ save / load


def _run(rows: int = 50, name: str = "run") -> Run:
    data = [{"step": i, "loss": 1.0 / (i + 1), "val": float(i % 7)} for i in range(rows)]
    data[3]["val"] = float("nan")
    report = Report(
        (Finding("loss_spike", "warn", "a spike at step 3", evidence={"step": 3}),),
        title=f"Watch {name}",
    )
    return Run(name, data, report)


def _same_run(a: Run, b: Run) -> bool:
    return a.name == b.name and a.history.equals(b.history) and a.report == b.report


def test_load_run_refuses_truncated_and_missing_keys(tmp_path: Path) -> None:
    path = _run(20).save(tmp_path / "run.json")
    raw = path.read_bytes()
    cut = tmp_path / "cut.json"
    for n in range(0, len(raw) - 1, max(1, len(raw) // 60)):
        cut.write_bytes(raw[:n])
        with pytest.raises(ValueError, match="cut.json"):
            load_run(cut)
    for key in ("rows", "report", "sha256", "format"):
        data = json.loads(raw)
        del data[key]
        cut.write_text(json.dumps(data))
        if key == "sha256":  # an older file without a checksum still loads
            assert _same_run(load_run(cut), load_run(path))
            continue
        with pytest.raises(ValueError, match="cut.json"):
            load_run(cut)


def test_load_run_detects_every_single_byte_corruption(tmp_path: Path) -> None:
    original = _run(20)
    path = original.save(tmp_path / "run.json")
    raw = path.read_bytes()
    bad = tmp_path / "bad.json"
    rng = random.Random(0)
    silent = 0
    for _ in range(300):
        b = bytearray(raw)
        i = rng.randrange(len(b))
        b[i] = rng.choice([c for c in b'0123456789.,:{}[]"abcdefz -e\n' if c != b[i]])
        bad.write_bytes(bytes(b))
        try:
            loaded = load_run(bad)
        except ValueError as exc:
            assert "bad.json" in str(exc)
            continue
        silent += not _same_run(loaded, original)  # loads only when the content is unchanged
    assert silent == 0


_WRITER = textwrap.dedent(
    """
    import sys
    from recipe_widgets.engine.results import Report
    from recipe_widgets.engine.watch._watch import Run
    path, name, rows, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    run = Run(name, [{"step": i, "loss": 1.0 / (i + 1)} for i in range(rows)], Report((), "t"))
    print("ready", flush=True)
    for _ in range(n):
        run.save(path)
    """
)


def _writer(path: Path, name: str, rows: int, n: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), name, str(rows), str(n)],
        env=env,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


def test_concurrent_writers_never_show_a_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    _run(5, "first").save(path)
    writers = [_writer(path, name, 2000, 40) for name in ("a", "b")]
    loads, names = 0, set()
    try:
        while any(w.poll() is None for w in writers):
            names.add(load_run(path).name)  # raises on a partial file
            loads += 1
    finally:
        for w in writers:
            w.wait(timeout=60)
    assert loads > 10 and names <= {"first", "a", "b"}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary files left


def test_sigkill_during_save_keeps_a_loadable_file(tmp_path: Path) -> None:
    rng = random.Random(1)
    paths = [tmp_path / f"run{i}.json" for i in range(3)]
    for p in paths:
        _run(5, "good").save(p)
    writers = [_writer(p, "new", 40000, 1000) for p in paths]  # started together: one wait
    for proc in writers:
        time.sleep(rng.uniform(0.05, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    for p in paths:
        assert load_run(p).name in ("good", "new")


# A writer whose payload write stops halfway: half the bytes reach the disk (fsync'd), it says
# "halfway" on stdout and waits to be killed. Every way Python writes a file goes through one of
# the patched openers (open / io.open, which pathlib uses, os.fdopen) or os.write, so a writer
# that wrote the target in place would leave it half-written here, every time.
_HALFWAY_WRITER = textwrap.dedent(
    """
    import builtins, io, os, sys, time
    from recipe_widgets.engine.results import Report
    from recipe_widgets.engine.watch._watch import Run
    path, name, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run = Run(name, [{"step": i, "loss": 1.0 / (i + 1)} for i in range(rows)], Report((), "t"))
    raw_write = os.write

    def stop_halfway(fd, data):
        raw_write(fd, bytes(data[: len(data) // 2]))
        os.fsync(fd)
        print("halfway", flush=True)
        time.sleep(600)

    class Halfway:
        def __init__(self, f):
            self._f = f
        def write(self, data):
            if len(data) < 4096:
                return self._f.write(data)
            self._f.flush()
            stop_halfway(self._f.fileno(), data)
        def __getattr__(self, key):
            return getattr(self._f, key)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self._f.__exit__(*exc)

    def writing(opener):
        def wrapped(file, mode="r", *args, **kwargs):
            f = opener(file, mode, *args, **kwargs)
            return Halfway(f) if any(c in mode for c in "wax+") else f
        return wrapped

    builtins.open = io.open = writing(io.open)
    os.fdopen = writing(os.fdopen)
    os.write = lambda fd, data: stop_halfway(fd, data) if len(data) >= 4096 else raw_write(fd, data)
    print("ready", flush=True)
    run.save(path)
    """
)


def _halfway_writer(path: Path, name: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", _HALFWAY_WRITER, str(path), name, "20000"],
        env=env,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    assert proc.stdout.readline().strip() == b"halfway"  # half the new run is on disk now
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigkill_halfway_through_a_save_keeps_the_previous_file(tmp_path: Path) -> None:
    """Fails on a writer that writes the target in place: the kill leaves it half-written."""
    path = tmp_path / "run.json"
    good = _run(50, "good")
    good.save(path)
    proc = _halfway_writer(path, "new")
    try:
        temps = sorted(p.name for p in tmp_path.iterdir() if p.name != "run.json")
    finally:
        _kill(proc)
    assert _same_run(load_run(path), good)  # the previous run, whole, with its old content
    # The killed writer's temporary file named it, and the load above removed it.
    assert len(temps) == 1 and temps[0].startswith(f".run.json.{proc.pid}.")
    assert temps[0].endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_stale_temporary_files_go_but_a_live_writers_stays(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    good = _run(20, "good")
    good.save(path)
    live = _halfway_writer(path, "live")
    dead = _halfway_writer(path, "dead")
    _kill(dead)
    try:
        mine = f".run.json.{live.pid}."
        assert any(p.name.startswith(f".run.json.{dead.pid}.") for p in tmp_path.iterdir())
        other = tmp_path / f".run.json.{dead.pid}.otherhost.0123abcd.tmp"  # from another host
        other.write_bytes(b"{")
        unrelated = tmp_path / f".notes.{dead.pid}.tmp"  # not named as ours
        unrelated.write_bytes(b"x")
        good.save(tmp_path / "other.json")  # a save in the folder cleans up ...
        left = sorted(p.name for p in tmp_path.iterdir())
        assert not any(n.startswith(f".run.json.{dead.pid}.") and n != other.name for n in left)
        assert any(n.startswith(mine) for n in left)  # ... never a live writer's file
        assert other.name in left and unrelated.name in left
        assert _same_run(load_run(path), good)
        assert any(n.startswith(mine) for n in (p.name for p in tmp_path.iterdir()))
    finally:
        _kill(live)
    load_run(path)  # ... and once its writer is gone, a load removes it too
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["run.json", "other.json", other.name, unrelated.name]
    )
