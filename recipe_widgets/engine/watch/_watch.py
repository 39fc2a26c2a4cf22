"""``rw.watch``: a context manager around the user's own training loop.

The loop stays the user's: the watch only listens (hooks) and records (``w.log``). Everything
it learned survives an exception or a KeyboardInterrupt inside the ``with`` block, and the
hooks are removed in ``finally:`` so the model and optimizer are left as the loop left them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding, Report
from recipe_widgets.engine.validate import names as _names
from recipe_widgets.engine.watch._atomic import remove_stale, write_atomic
from recipe_widgets.engine.watch._detectors import Findings, LossDetector, WatchConfig
from recipe_widgets.engine.watch._history import FOLD_ROWS, Folded
from recipe_widgets.engine.watch._hooks import Hooks
from recipe_widgets.engine.watch._logdir import (
    RunState,
    RunWriter,
    is_run,
    lr_points_to_steps,
    read_run,
)

_FORMAT = "recipe_widgets.watch/1"
# How often logged values reach the rows, the detectors and the live plot. Each batch sent to
# the front end costs the loop about a millisecond, whatever it carries: the step after a send
# runs that much longer (most likely the kernel's IOPub thread taking turns with the loop for the
# GIL). In benchmarks/live_plot.py an empty widget message every 200 ms adds 0.5-1% to a 2 ms-step
# loop. So ~5.5 a second: no gap in the chart over 200 ms, and no more messages than that.
DRAIN_SECONDS = 0.18
DRAIN_ROWS = 256
TRACK_EVERY = 10  # steps between predictions on the w.track batch (only when one is tracked)


# CPU values are read at once (as cheap as keeping them); on a GPU each read waits for the
# device, so those are copied and read in one go at the next drain. (Tests set this False to
# treat CPU tensors as device ones.)
READ_CPU_AT_ONCE = True


def _read_now(value: torch.Tensor) -> bool:
    return value.is_cpu and READ_CPU_AT_ONCE


def _scalar(key: str, value: Any) -> Any:
    """A float, or a one-element tensor copy to be read at the next drain (see _read_now)."""
    if type(value) is float:
        return value
    if isinstance(value, torch.Tensor):
        if _read_now(value):
            try:
                return float(value.item())  # runs on every step: the checks below only on failure
            except (RuntimeError, ValueError, TypeError):
                pass
        if value.numel() != 1:
            raise ValueError(
                f"w.log({key}=...) needs a scalar; got a tensor of shape {tuple(value.shape)}. "
                "Log its mean (or .item()) instead."
            )
        if value.is_complex() or value.is_meta or _read_now(value):
            raise TypeError(
                f"w.log({key}=...) needs a real number; got a {value.dtype} tensor on {value.device}."
            )
        return value.detach().reshape(()).clone()  # no sync now; the loop may change the original
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"w.log({key}=...) needs a number or a one-element tensor; got {type(value).__name__}."
        ) from None


def _read_all(tensors: list[torch.Tensor]) -> list[float]:
    """Values of one-element tensors with one device sync when they share a device."""
    try:
        return [float(v) for v in torch.stack(tensors).tolist()]
    except (RuntimeError, TypeError):  # several devices or dtypes: one read each
        return [float(t.item()) for t in tensors]


class _RunData:
    """What a saved or live run has in common: rows, findings, and their renderings."""

    name: str
    _rows: list[dict[str, float]]  # the recent rows, as logged
    _folded: Folded | None = None  # the older rows, downsampled (see _history)
    _kind = "Run"  # what text/plain calls it (a LiveWatch is still a "Watch" to the reader)

    @property
    def history(self) -> pd.DataFrame:
        """One row per ``w.log`` row: ``step`` (optimizer steps so far) then the logged keys.

        Long runs are downsampled: the most recent 8,192 to 16,384 rows are kept as logged, older
        ones as at most 1,024 buckets of consecutive rows, each shown here as one row (its last
        step, each metric's mean over its finite values). :attr:`downsampled` has the buckets'
        min and max too (a spike survives there)."""
        self._catch_up()
        folded = self._folded.means() if self._folded is not None else []
        df = pd.DataFrame(folded + self._rows)
        if "step" not in df.columns:
            df["step"] = pd.Series(dtype="int64")
        df["step"] = df["step"].astype("int64")
        return df[["step", *[c for c in df.columns if c != "step"]]]

    @property
    def downsampled(self) -> pd.DataFrame:
        """The history older than the recent rows, one row per bucket: ``step_first``, ``step``
        (the last), ``rows`` (how many logged rows it folds), and per metric the mean, ``_min``
        and ``_max`` over its finite values. Empty until a run has logged 16,384 rows."""
        self._catch_up()
        if self._folded is None:
            return pd.DataFrame(columns=["step_first", "step", "rows"])
        return self._folded.frame()

    @property
    def report(self) -> Report:
        raise NotImplementedError

    def _catch_up(self) -> None:
        """Bring the rows up to date (a live watch takes logged values in batches)."""

    def _last_loss(self) -> float | None:
        self._catch_up()
        for row in reversed(self._rows):
            if "loss" in row:
                return row["loss"]
        for row in reversed(self._folded.means() if self._folded is not None else []):
            if "loss" in row:
                return row["loss"]
        return None

    def __repr__(self) -> str:
        self._catch_up()
        if self._rows:
            steps = int(self._rows[-1]["step"])
        else:
            steps = (
                int(self._folded.last[-1]) if self._folded is not None and len(self._folded) else 0
            )
        parts = [f"steps={steps}"]
        loss = self._last_loss()
        if loss is not None:
            parts.append(f"loss={fmt(loss)}")
        counts = self.report.counts()
        fails, warns = counts.get("fail", 0), counts.get("warn", 0)
        if fails:
            parts.append(f"{fails} failure{'s' * (fails != 1)}")
        parts.append(f"{warns} warning{'s' * (warns != 1)}")
        return f"{self._kind}({', '.join(parts)})"

    def save(self, path: str | Path) -> Path:
        """Write history and findings as JSON (readable by :func:`load_run` and by people).

        Atomic: the JSON goes to a temporary file in the same folder
        (``.<name>.<pid>.<host>.<token>.tmp``), is flushed to disk, then renamed over ``path``;
        a reader (or a crash mid-save) sees the old file or the new one, never part of one. The
        temporary files a killed writer left in the folder are removed by the next save or
        load there (only those whose process is gone). A checksum of the content lets :func:`load_run` refuse a damaged file.
        """
        path = Path(path)
        self._catch_up()
        data = {
            "format": _FORMAT,
            "name": self.name,
            "rows": [
                {k: (v if math.isfinite(v) else repr(v)) for k, v in r.items()} for r in self._rows
            ],
            "report": self.report.to_dict(),
        }
        if self._folded is not None:
            data["downsampled"] = self._folded.to_dict()  # older rows, as buckets
        data["sha256"] = _checksum(data)
        write_atomic(path, json.dumps(data, indent=1).encode("utf-8"))
        return path

    def to_tensorboard(self, logdir: str | Path) -> Path:
        """Write this run as TensorBoard event files: every logged metric, the LR and the sampled
        gradient norm as scalars, and each finding as text at its step. Needs ``tensorboard``
        (``pip install recipe-widgets[tensorboard]``)."""
        from recipe_widgets.engine.watch._tensorboard import write_tensorboard

        return write_tensorboard(self, logdir)


class Run(_RunData):
    """A run loaded from disk by :func:`load_run`: history, LR, gradient norms and report."""

    def __init__(
        self,
        name: str,
        rows: list[dict[str, float]],
        report: Report,
        *,
        lrs: list[tuple[int, float]] | None = None,
        grad_norms: list[tuple[int, float]] | None = None,
        folded: Folded | None = None,
    ) -> None:
        self.name = name
        self._rows = rows
        self._folded = folded
        self._report = report
        self._lrs = lrs or []
        self._grad_norms = grad_norms or []

    @property
    def report(self) -> Report:
        return self._report

    @property
    def grad_norms(self) -> pd.DataFrame:
        return pd.DataFrame(self._grad_norms, columns=["step", "grad_norm"])

    @property
    def lrs(self) -> pd.DataFrame:
        return pd.DataFrame(self._lrs, columns=["step", "lr"])


class Watch(_RunData):
    """Listens to a training loop; see :func:`watch`."""

    _kind = "Watch"

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | Iterable[torch.optim.Optimizer] | None = None,
        *,
        config: WatchConfig | None = None,
        name: str = "run",
        logdir: str | Path | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"rw.watch needs a torch.nn.Module; got {type(model).__name__}.")
        if optimizer is None:
            optimizers: list[torch.optim.Optimizer] = []
        elif isinstance(optimizer, torch.optim.Optimizer):
            optimizers = [optimizer]
        else:
            optimizers = list(optimizer)
        for opt in optimizers:
            if not isinstance(opt, torch.optim.Optimizer):
                raise TypeError(
                    f"rw.watch(model, optimizer): expected torch.optim.Optimizer(s); got "
                    f"{type(opt).__name__}."
                )
        self.model = model
        self.optimizers = optimizers
        self.config = config or WatchConfig()
        self.name = name
        self._rows = []
        self._findings = Findings()
        self._loss = LossDetector(self.config, self._findings, players=_players(optimizers))
        self._hooks = Hooks(model, optimizers, self.config, self._findings)
        self._tracked: Any = None
        self.predictions: list[tuple[int, Any]] = []
        self._listeners: list[Any] = []
        self._queued: list[
            tuple[int, dict[str, float]]
        ] = []  # logged since the detectors last looked
        self._lossy: dict[str, bool] = {}  # key -> is it a loss (fed to the loss detector)
        self._unread = False  # GPU tensors logged and not read yet (see _settle)
        self._drained_at = time.monotonic()
        self.interrupted: str | None = None
        self._active = False
        # Written to disk at each drain (see _persist): how much of each source went already.
        self._writer = RunWriter(logdir, name) if logdir is not None else None
        self._written = {"findings": 0, "lr": 0, "grad_norm": 0}
        frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
        if frozen:
            self._findings.add(
                "frozen",
                Finding(
                    "frozen_parameters",
                    "info",
                    f"{len(frozen)} parameter tensor(s) are frozen (requires_grad=False), e.g. "
                    f"{frozen[0]}; they are not expected to change.",
                    evidence={"parameters": frozen},
                ),
            )

    # -- context manager ----------------------------------------------------------------------

    def __enter__(self) -> Watch:
        self._hooks.register()
        self._active = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        try:
            if exc_type is not None:
                self.interrupted = exc_type.__name__
        finally:
            self._hooks.remove()
            self._active = False
            self._drain()
            self._close_writer()
        return False  # re-raise: the user's KeyboardInterrupt / error is theirs to see

    # -- logging ------------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        """Optimizer steps seen so far (of the first optimizer when there are several)."""
        return self._hooks.steps

    def log(self, step: int | None = None, **values: Any) -> None:
        """Record scalars. Merges into the current row unless a key is already there.

        ``step=`` overrides the optimizer step count (for loops without a watched optimizer).
        """
        # Runs on every step, right after the user's step has pushed our code and data out of
        # the CPU caches: values are read and queued; rows, detectors and the plot take them in
        # batches at the drain.
        if not values:
            raise ValueError("w.log() needs at least one value, e.g. w.log(loss=loss).")
        for k, v in values.items():  # values is this call's own dict: cleaned in place
            if type(v) is not float:
                try:  # the usual case inline: a CPU loss tensor (is_cpu: only tensors have it)
                    if v.is_cpu and READ_CPU_AT_ONCE:
                        values[k] = float(v.item())
                        continue
                except (AttributeError, RuntimeError, ValueError, TypeError):
                    pass  # _scalar says what is wrong with it, or takes a number
                v = values[k] = _scalar(k, v)
                if type(v) is not float:
                    self._unread = True
        at = self._hooks.steps if step is None else int(step)
        queued = self._queued
        queued.append((at, values))
        if self._tracked is not None and (
            at < 3 or at % min(TRACK_EVERY, self.config.stats_every) == 0
        ):
            self._predict(at)
        now = time.monotonic()
        if now - self._drained_at >= DRAIN_SECONDS or len(queued) >= DRAIN_ROWS:
            self._drained_at = now
            self._drain()

    def _drain(self) -> None:
        """Take what was logged since last time into the rows, the loss detector and the
        listeners (the live plot): a few times a second, and before any result is read."""
        self._settle()
        queued, self._queued = self._queued, []
        if queued:
            self._take(queued)
        if self._writer is not None:  # after the loss detector: its findings go too
            self._persist(self._writer, queued)

    def _take(self, queued: list[tuple[int, dict[str, float]]]) -> None:
        rows = self._rows
        row = rows[-1] if rows else None
        lossy = self._lossy
        detector = self._loss
        feed = detector.feed
        # The training loss goes to the detector in runs (feed_losses); any other loss-like key
        # first hands over the run so far, so the detector sees every value in logged order.
        losses: list[float] = []
        at_steps: list[int] = []
        for at, values in queued:
            if row is None or row["step"] != at or not values.keys().isdisjoint(row):
                row = {"step": at, **values}
                rows.append(row)
            else:
                row.update(values)
            for k, v in values.items():
                is_loss = lossy.get(k)
                if is_loss is None:
                    is_loss = lossy[k] = k.endswith("loss")
                if is_loss:
                    if k == "loss" and type(v) is float:
                        losses.append(v)
                        at_steps.append(at)
                        continue
                    if losses:
                        detector.feed_losses(losses, at_steps)
                        losses, at_steps = [], []
                    feed(k, v, at)
        if losses:
            detector.feed_losses(losses, at_steps)
        if len(rows) >= 2 * FOLD_ROWS:  # bounded memory: the oldest block becomes buckets
            if self._folded is None:
                self._folded = Folded()
            self._folded.fold(rows[:FOLD_ROWS])
            del rows[:FOLD_ROWS]
        for listener in self._listeners:
            listener(queued)

    def _catch_up(self) -> None:
        if self._queued:
            self._drain()

    def _persist(self, writer: RunWriter, queued: list[tuple[int, dict[str, float]]]) -> None:
        """Append what is new since the last drain to the run directory, in one write."""
        records: list[dict[str, Any]] = [{"kind": "log", "step": at, **v} for at, v in queued]
        done = self._written
        lr_points = self._hooks._lr_points
        records += [{"kind": "lr", "step": s, "lr": lr} for s, lr in lr_points.since(done["lr"])]
        norms = self._hooks.samples.grad_norms
        records += [
            {"kind": "grad_norm", "step": s, "grad_norm": g}
            for s, g in norms.since(done["grad_norm"])
        ]
        findings = self._findings.all
        records += [_finding_record(f) for f in findings[done["findings"] :]]
        done.update(lr=lr_points.total, grad_norm=norms.total, findings=len(findings))
        writer.write(records)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.write(
                [{"kind": "end", "step": self.steps, "interrupted": self.interrupted}]
            )
            self._writer.close()
            self._writer = None

    def steps_with_closure(self) -> None:
        """For a framework that runs forward and backward inside ``optimizer.step(closure)``
        (Lightning): the pre-step sampling waits for :meth:`gradients_ready` instead of torch's
        pre-step hook, which runs before the closure. Call before entering the watch."""
        self._hooks.external_pre = True

    def gradients_ready(self, optimizer: torch.optim.Optimizer) -> None:
        """The gradients ``optimizer`` is about to use are in place (see
        :meth:`steps_with_closure`)."""
        self._hooks.before_step(optimizer)

    @property
    def logdir(self) -> Path | None:
        """The run directory this watch writes to (``logdir=``), or None."""
        return self._writer.dir if self._writer is not None else None

    def _settle(self) -> None:
        """Logged GPU tensors in the queue become floats, all in one read."""
        if not self._unread:
            return
        self._unread = False
        keys = [
            (values, k)
            for _, values in self._queued
            for k, v in values.items()
            if type(v) is not float
        ]
        read = _read_all([values[k] for values, k in keys])
        for (values, k), value in zip(keys, read):
            values[k] = value

    @property
    def tracked(self) -> Any:
        """The batch given to :meth:`track` (``x`` or ``(x, y)``), or ``None``."""
        return self._tracked

    def track(self, batch: Any) -> None:
        """Record the model's predictions on this fixed batch as training goes (no grad, eval).

        ``batch``: ``x``, ``(x, y)``, or a dict of keyword inputs (``labels`` / ``targets`` left
        out); a model returning a dict or an object with ``logits`` is read there."""
        if isinstance(batch, (tuple, list)) and not batch:
            raise ValueError("w.track(batch): batch is empty; pass x, (x, y) or a dict of inputs")
        if batch is None or isinstance(batch, (str, bytes)):
            raise TypeError(
                f"w.track(batch): batch must be a tensor, (x, y) or a dict of inputs, got"
                f" {type(batch).__name__}"
            )
        self._tracked = batch
        self._predict(self._hooks.steps)

    def _predict(self, step: int) -> None:
        if self.predictions and self.predictions[-1][0] == step:
            return
        batch = self._tracked
        modes = [(m, m.training) for m in self.model.modules()]  # every module's own mode
        self._hooks.suspended = True
        try:
            self.model.eval()  # predictions without dropout and without touching BN statistics
            with torch.no_grad():
                if isinstance(batch, Mapping):
                    out = self.model(**{k: v for k, v in batch.items() if k not in _TARGET_KEYS})
                else:
                    out = self.model(batch[0] if isinstance(batch, (tuple, list)) else batch)
        finally:
            for m, flag in modes:
                m.training = flag
            self._hooks.suspended = False
        out = _logits(out).detach().float().cpu()
        if out.dim() == 2 and out.shape[1] > 1:
            out = out.softmax(dim=1)  # (B, C) class probabilities
        self.predictions.append((step, out.numpy()))

    def add_listener(self, fn: Any) -> None:
        """Call ``fn([(step, {name: value, ...}), ...])`` with what ``w.log`` recorded since the
        last call (the live plot feeds itself this way): a few times a second, and when the
        ``with`` block ends."""
        self._listeners.append(fn)

    # -- results ------------------------------------------------------------------------------

    @property
    def grad_norms(self) -> pd.DataFrame:
        return pd.DataFrame(list(self._hooks.samples.grad_norms), columns=["step", "grad_norm"])

    @property
    def lrs(self) -> pd.DataFrame:
        steps, lrs = self._hooks.lr_history()
        return pd.DataFrame({"step": steps, "lr": lrs})

    @property
    def report(self) -> Report:
        self._catch_up()
        findings = list(self._findings.all)
        if self.interrupted:
            findings.append(
                Finding(
                    "interrupted",
                    "info",
                    f"The loop stopped with {self.interrupted} after {self.steps} steps; "
                    "history and findings up to there are kept.",
                )
            )
        return Report(tuple(findings), title=f"Watch {self.name}")


#: keys of a dict batch that hold targets, not model inputs
_TARGET_KEYS = ("labels", "label", "targets", "target", "y")


def _logits(out: Any) -> torch.Tensor:
    """The prediction tensor of a model's output: itself, a dict's / an object's ``logits``, or
    the first tensor of a tuple."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, Mapping):
        found = out.get("logits", next((v for v in out.values() if torch.is_tensor(v)), None))
    elif isinstance(out, (tuple, list)):
        found = next((v for v in out if torch.is_tensor(v)), None)
    else:
        found = getattr(out, "logits", None)
    if not isinstance(found, torch.Tensor):
        raise TypeError(
            f"w.track(batch): the model returned {type(out).__name__} with no tensor to read"
            " predictions from (expected a tensor, or a dict / object with 'logits')"
        )
    return found


def watch_loop(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | Iterable[torch.optim.Optimizer] | None = None,
    *,
    name: str = "run",
    stats_every: int = 25,
    logdir: str | Path | None = None,
) -> Watch:
    """Watch the user's own loop, engine side (no display; ``rw.watch`` adds the live panel):
    ``with watch_loop(model, opt) as w:``; ``logdir=`` also writes the run there."""
    config = WatchConfig(stats_every=stats_every)
    return Watch(model, optimizer, config=config, name=name, logdir=logdir)


def _finding_record(f: Finding) -> dict[str, Any]:
    return {"kind": "finding", "step": f.evidence.get("step"), **f.to_dict()}


def run_from_state(state: RunState) -> Run:
    """A :class:`Run` of what has been read of a run directory so far."""
    several = len(state.ranks) > 1
    findings = []
    for r in state.findings:
        evidence = dict(r.get("evidence") or {})
        fields = {k: r.get(k, "") for k in ("check", "status", "message", "fix")}
        if several:  # a merged view: which process saw it
            evidence["rank"] = int(r.get("rank", 0))
            fields["message"] = f"Rank {evidence['rank']}: {fields['message']}"
        findings.append(Finding(**fields, evidence=evidence))
    last = int(state.rows[-1]["step"]) if state.rows else 0
    return Run(
        state.name,
        state.rows,
        Report(tuple(findings), title=f"Run {state.name}"),
        lrs=lr_points_to_steps(state.lrs, last),
        grad_norms=state.grad_norms,
    )


def _checksum(data: dict[str, Any]) -> str:
    """SHA-256 of the content (every key but the checksum), as compact JSON: the same value
    before writing and after reading back, whatever the indentation."""
    body = {k: v for k, v in data.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode("utf-8")).hexdigest()


def load_run(path: str | Path) -> Run:
    """Load a run: a run directory written with ``logdir=`` (every rank's findings, rank 0's
    history), one of its ``rank*.jsonl`` files, or a file written by ``w.save(path)``.

    Raises ``ValueError`` naming the file when a saved file is not complete and unchanged
    (truncated, corrupted, a key missing, content not matching its checksum)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path= must be a file path (str or Path), got {type(path).__name__}")
    if is_run(path):
        return run_from_state(read_run(path))
    path = Path(path)
    remove_stale(path.parent)  # temporary files of a writer killed mid-save
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{path} is not a complete recipe_widgets run file: it does not parse as JSON"
            f" ({exc}); it may be truncated or corrupted."
        ) from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a saved recipe_widgets watch run (format {_FORMAT}).")
    if "sha256" in data and data["sha256"] != _checksum(data):
        raise ValueError(
            f"{path} does not match its checksum: the file was changed or corrupted after"
            " w.save wrote it."
        )
    missing = [k for k in ("rows", "report") if k not in data]
    if missing:
        raise ValueError(f"{path} is not a complete run file: key(s) {missing} are missing.")
    try:
        rows = [{k: float(v) for k, v in r.items()} for r in data["rows"]]
        for r in rows:
            r["step"] = int(r["step"])
        rep = data["report"]
        findings = tuple(Finding(**f) for f in rep["findings"])
        report = Report(findings, title=rep["title"])
        folded = Folded.from_dict(data["downsampled"]) if "downsampled" in data else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(
            f"{path} is not a valid run file: {type(exc).__name__}: {exc}"
            " (a key missing or a value of the wrong type)."
        ) from None
    return Run(str(data.get("name", "run")), rows, report, folded=folded)


def compare(*runs: _RunData, names: Iterable[str] | None = None) -> pd.DataFrame:
    """Long table of several runs' histories (``run``, ``step``, ``metric``, ``value``)."""
    if not runs:
        raise ValueError("rw.compare needs at least one watch or loaded run.")
    if not all(isinstance(r, _RunData) for r in runs):
        raise TypeError(
            "rw.compare takes watches or loaded runs (rw.load_run), e.g. compare(w1, w2)"
        )
    labels = _names("names", names) if names is not None else [r.name for r in runs]
    if len(labels) != len(runs):
        raise ValueError(f"compare got {len(runs)} runs but {len(labels)} names.")
    seen: dict[str, int] = {}
    frames = []
    for label, run in zip(labels, runs):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:  # two runs called "run": keep them apart
            label = f"{label} ({seen[label]})"
        long = run.history.melt(id_vars="step", var_name="metric", value_name="value")
        long.insert(0, "run", label)
        frames.append(long.dropna(subset=["value"]))
    return pd.concat(frames, ignore_index=True)


def _players(optimizers: list[torch.optim.Optimizer]) -> bool:
    """Several optimizers over disjoint parameter sets, as a GAN's two players are."""
    if len(optimizers) < 2:
        return False
    sets = [{id(p) for g in o.param_groups for p in g["params"]} for o in optimizers]
    return all(not (a & b) for i, a in enumerate(sets) for b in sets[i + 1 :])
