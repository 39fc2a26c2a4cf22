"""A run directory: what a watch learned, appended to disk while the loop runs.

One JSON Lines file per process, ``rank<R>.jsonl`` (``R`` from ``RANK`` or torch.distributed,
0 otherwise), so ranks never write to the same file and no lock or collective is needed. Each
line is one record with a ``kind``:

- ``meta``: a watch started writing (``format``, ``name``, ``rank``); a later ``meta`` in the
  same file starts a new run there (a re-run cell), and readers keep the last one;
- ``log``: one ``w.log`` row (``step`` and the logged values);
- ``lr``: the first optimizer's first-group LR from this ``step`` on;
- ``grad_norm``: the total gradient norm of a sampled step;
- ``finding``: a finding (``check``, ``status``, ``message``, ``fix``, ``evidence``, ``step``);
- ``end``: the ``with`` block ended (``interrupted`` names the exception, if any).

Every record carries ``t`` (Unix time of the write) and ``rank``. ``pandas.read_json(path,
lines=True)`` reads a file as one table. Crash safety: records are written a batch at a time as
whole lines, in one ``write`` to a file opened for appending, a few times a second (the watch's
drain); a process killed with SIGKILL loses what it had not yet written, and a last line cut off
mid-way (a full disk, a crash in the middle of a write) is skipped by the readers here.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

FORMAT = "recipe_widgets.run/1"
SUFFIX = ".jsonl"


def current_rank() -> int:
    """This process's rank: torch.distributed's when it is initialised, else ``RANK``, else 0."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _plain(value: Any) -> Any:
    """JSON for a record value: floats as they are (NaN / Infinity are written as JS does, and
    pandas and json.loads read them back)."""
    if isinstance(value, float) or value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


class RunWriter:
    """Appends records to ``<logdir>/rank<R>.jsonl``; one ``os.write`` per :meth:`write`."""

    def __init__(self, logdir: str | Path, name: str, rank: int | None = None) -> None:
        self.dir = Path(logdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rank = current_rank() if rank is None else int(rank)
        self.path = self.dir / f"rank{self.rank}{SUFFIX}"
        # A file left with a cut-off last line (a crash): our first record starts a new line,
        # so only the cut one is lost.
        self._lead = b"\n" if _ends_mid_line(self.path) else b""
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.write([{"kind": "meta", "format": FORMAT, "name": name}])

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records or self._fd is None:
            return
        now = round(time.time(), 3)
        lines = []
        for record in records:
            record = {**record, "t": now, "rank": self.rank}
            lines.append(json.dumps(_plain(record), separators=(",", ":")))
        os.write(self._fd, self._lead + ("\n".join(lines) + "\n").encode("utf-8"))
        self._lead = b""

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _ends_mid_line(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except FileNotFoundError:
        return False


def _parse(lines: list[bytes]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:  # a line cut off by a crash, then appended to by the next run
            continue
        if isinstance(record, dict) and "kind" in record:
            out.append(record)
    return out


class FileFollower:
    """Reads one run file incrementally: :meth:`poll` returns the whole records written since
    the last call. An unfinished last line stays unread until its newline arrives."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0

    def poll(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return _parse(data[: end + 1].splitlines())


def run_files(path: str | Path) -> list[Path]:
    """The run files of a run directory (or the one file given), by rank."""
    path = Path(path)
    if path.is_file():
        return [path]

    def rank_of(p: Path) -> int:
        digits = p.stem.removeprefix("rank")
        return int(digits) if digits.isdigit() else 1 << 30

    return sorted(path.glob(f"rank*{SUFFIX}"), key=rank_of)


def is_run(path: str | Path) -> bool:
    path = Path(path)
    return (path.is_file() and path.suffix == SUFFIX) or bool(path.is_dir() and run_files(path))


def last_session(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records after the last ``meta`` (the newest run written to this file)."""
    for i in range(len(records) - 1, -1, -1):
        if records[i].get("kind") == "meta":
            return records[i:]
    return records


_NOT_VALUES = frozenset(("kind", "t", "rank", "step"))


class RunState:
    """A run as read so far from its files: rows (rank 0's, or the lowest rank's), LR and
    gradient-norm points, and every rank's findings. Fed incrementally by :meth:`add`."""

    def __init__(self, name: str = "run") -> None:
        self.name = name
        self.rows: list[dict[str, float]] = []
        self.lrs: list[tuple[int, float]] = []
        self.grad_norms: list[tuple[int, float]] = []
        self.findings: list[dict[str, Any]] = []
        self.ranks: set[int] = set()
        self.ended: dict[int, str | None] = {}
        self.main_rank: int | None = None

    def reset_rank(self, rank: int) -> None:
        """A new ``meta`` on ``rank``: what was read of its earlier run is dropped."""
        self.findings = [f for f in self.findings if f.get("rank") != rank]
        self.ended.pop(rank, None)
        if rank == self.main_rank:
            self.rows, self.lrs, self.grad_norms = [], [], []

    def add(self, records: list[dict[str, Any]]) -> list[tuple[int, dict[str, float]]]:
        """Take records; return the new rows of the main rank as ``(step, values)`` pairs."""
        new: list[tuple[int, dict[str, float]]] = []
        for r in records:
            kind, rank = r.get("kind"), int(r.get("rank", 0))
            if kind == "meta":
                self.reset_rank(rank)
                self.ranks.add(rank)
                if self.main_rank is None or rank < self.main_rank:
                    self.main_rank = rank
                    self.rows, self.lrs, self.grad_norms = [], [], []
                if rank == self.main_rank:
                    new.clear()
                if r.get("name") and rank == self.main_rank:
                    self.name = str(r["name"])
                continue
            if kind == "finding":
                self.findings.append(r)
            elif kind == "end":
                self.ended[rank] = r.get("interrupted")
            elif rank != self.main_rank:
                continue
            elif kind == "log":
                step = int(r["step"])
                values = {k: _float(v) for k, v in r.items() if k not in _NOT_VALUES}
                row = self.rows[-1] if self.rows else None
                # The watch's rule: a w.log merges into the current row unless the step moved
                # or a key is already there.
                if row is None or row["step"] != step or not values.keys().isdisjoint(row):
                    row = {"step": step}
                    self.rows.append(row)
                row.update(values)
                new.append((step, values))
            elif kind == "lr":
                self.lrs.append((int(r["step"]), _float(r["lr"])))
            elif kind == "grad_norm":
                self.grad_norms.append((int(r["step"]), _float(r["grad_norm"])))
        return new


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def read_run(path: str | Path) -> RunState:
    """Everything in a run directory (or one run file) now, newest run of each file."""
    path = Path(path)
    state = RunState(path.stem if path.is_file() else path.name)
    files = run_files(path)
    if not files:
        raise FileNotFoundError(f"{path} holds no run files (rank*{SUFFIX}).")
    for file in files:
        state.add(last_session(FileFollower(file).poll()))
    return state


class RunFollower:
    """Follows a run directory while other processes write it: :meth:`poll` reads what every
    rank file gained since the last call (rank files that appear later included) into
    :attr:`state`, and returns the main rank's new rows."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.state = RunState(self.path.stem if self.path.is_file() else self.path.name)
        self._files: dict[Path, FileFollower] = {}

    def poll(self) -> list[tuple[int, dict[str, float]]]:
        for file in run_files(self.path):
            if file not in self._files:
                self._files[file] = FileFollower(file)
        new: list[tuple[int, dict[str, float]]] = []
        for follower in self._files.values():
            new += self.state.add(follower.poll())
        return new


def runs_in(path: str | Path) -> list[Path]:
    """The runs a path holds: itself when it is a run, else its sub-directories that are."""
    path = Path(path)
    if is_run(path):
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if p.is_dir() and is_run(p))


def lr_points_to_steps(points: list[tuple[int, float]], last: int) -> list[tuple[int, float]]:
    """Change points ``(step, lr)`` expanded to one per step up to ``last``."""
    out: list[tuple[int, float]] = []
    for i, (start, lr) in enumerate(points):
        end = points[i + 1][0] if i + 1 < len(points) else max(last, start) + 1
        out.extend((s, lr) for s in range(start, end))
    return out
