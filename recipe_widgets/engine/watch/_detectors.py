"""Live findings for the user's own loop, each a small state machine fed by the watch's hooks.

Every detector is written against the legitimate patterns that look like bugs:
gradient accumulation, GradScaler, clipping, warm-up from 0, cosine ending at 0, a frozen
backbone, several optimizers. Each one reports a problem once, at the step it was first
seen, so a finding's ``evidence["step"]`` points the user at where to look.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import torch

from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding


@dataclass(frozen=True)
class WatchConfig:
    """Thresholds and budgets. Defaults report every bug within 50 steps of its appearance.

    ``stats_every`` (E): every 2E steps a window of two consecutive steps is sampled. Dead ReLUs
    are judged over both of its batches and a missing gradient must be missing at both;
    gradient / weight / update norms and the zero_grad probes are taken at its second step. So
    each is reported within 2E steps. NaN loss and eval-in-train-mode are checked on every
    logged value and forward. The LR is read whenever the first group's LR object changes, and
    every 10 steps when a change could go unseen that way (a tensor LR, several groups or
    optimizers) or while an LR at ~0 is not yet reported.
    """

    stats_every: int = 25
    ratio_high: float = 1e-1  # update/weight; ~1e-3 is healthy, 0.1 rewrites weights each step
    grad_explode: float = 1e4  # total gradient norm (after clipping / unscaling)
    grad_explode_factor: float = 1e3  # ... or this many times the first sampled norm
    grad_vanish: float = 1e-7  # relative gradient norm of a layer vs. the largest layer's
    dead_fraction: float = 0.9  # a ReLU layer with more units dead over a window's batches
    # (an autoencoder's narrow decoder can keep over half its units silent on every batch and
    # still train; a layer nine-tenths dead has lost its capacity)
    lr_collapse: float = 1e-4  # LR below this fraction of its peak is "collapsed"
    lr_collapse_steps: int = 30  # ... for this many optimizer steps
    lr_collapse_fraction: float = 0.015  # ... and for this fraction of the run so far
    diverge_factor: float = 4.0  # windowed loss this many times its best window
    plateau_window: int = 200  # logged losses without a 1% improvement
    no_grad_samples: int = 2  # sampled steps in a row a trainable parameter had no .grad
    overfit_evals: int = (
        4  # held-out evaluations climbing in a row since the best (patience 3 stops before)
    )
    overfit_rise: float = 0.15  # ... the last one this much above its best, while the training
    # loss fell this much since the best (a held-out loss drifting a few % is noise)

    def __post_init__(self) -> None:
        if self.stats_every < 1:
            raise ValueError(f"stats_every must be >= 1, got {self.stats_every}")


class Findings:
    """First occurrence of each problem, in the order they appeared."""

    def __init__(self) -> None:
        self._by_key: dict[str, Finding] = {}

    def add(self, key: str, finding: Finding) -> bool:
        """Record ``finding`` unless one with ``key`` exists; True when it is new."""
        if key in self._by_key:
            return False
        self._by_key[key] = finding
        return True

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self._by_key)

    @property
    def all(self) -> tuple[Finding, ...]:
        return tuple(self._by_key.values())


def _median(values: Any) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


class LossDetector:
    """NaN/Inf (every loss-like key), divergence and plateau (the ``loss`` key)."""

    def __init__(self, config: WatchConfig, out: Findings, players: bool = False) -> None:
        self.config = config
        self.out = out
        # Several optimizers over disjoint parameters (a GAN's generator and discriminator):
        # the logged loss may be one player's, which rises when the other one improves.
        self._status = "info" if players else "warn"
        self._players = (
            " With several optimizers (e.g. a GAN's), one player's loss rising or flat is not"
            " by itself a problem."
            if players
            else ""
        )
        # A count and the last 10 values, not every loss: a week-long run logs millions.
        self._n = 0
        self._window: deque[float] = deque(maxlen=10)
        self._best_window = math.inf
        self._first_window: float | None = None
        self._best_loss = math.inf
        self._best_at = 0
        self._held_best: dict[str, tuple[int, float, float]] = {}  # key -> (step, best, train)
        self._held_since: dict[str, deque[float]] = {}  # key -> its last values since its best

    def feed(self, key: str, value: float, step: int) -> None:
        if value - value != 0.0:  # NaN or +-Inf, without a call (this runs for every logged loss)
            if f"loss_not_finite:{key}" in self.out:
                return
            self.out.add(
                f"loss_not_finite:{key}",
                Finding(
                    "loss_not_finite",
                    "fail",
                    f"{key} became {value} at step {step}.",
                    fix="Look at the batch and the learning rate at that step: lower the LR, "
                    "clip gradients, and check inputs/labels for NaN or out-of-range values "
                    "(log of 0, division by a zero std).",
                    evidence={"key": key, "step": step, "value": repr(value)},
                ),
            )
            return
        if key != "loss":
            if "loss" in key and key.startswith(("val", "eval", "dev", "test", "held")):
                self._held_out(key, value, step)
            return
        self._n += 1
        window = self._window
        window.append(value)
        n = self._n
        if len(window) == window.maxlen:
            current = _median(window)
            if self._first_window is None:
                self._first_window = current
            if current < self._best_window:
                self._best_window = current
            best, first = self._best_window, self._first_window
            # Relative to the best window and above the starting level: noise around a floor
            # near 0 is not divergence, a loss climbing past where it began is.
            if best > 0 and current > self.config.diverge_factor * best and current > first:
                self._diverging(current, best, step)
        if value < self._best_loss * 0.99:
            self._best_loss, self._best_at = value, n
        first = self._first_window
        if (
            n - self._best_at >= self.config.plateau_window
            and first is not None
            and self._best_loss > 0.5 * first
            and "loss_plateau" not in self.out
        ):
            self.out.add(
                "loss_plateau",
                Finding(
                    "loss_plateau",
                    self._status,
                    f"The loss has not improved by 1% in {n - self._best_at} logged steps and "
                    f"is still {fmt(self._best_loss)}, over half of where it started "
                    f"({fmt(first)}): the model is not learning.{self._players}",
                    fix="Overfit one batch first; if that fails, check the LR (try 3e-4 with "
                    "Adam), the labels and the loss; then check that the data changes.",
                    evidence={"step": step, "best": self._best_loss, "start": first},
                ),
            )

    def feed_losses(self, values: list[float], steps: list[int]) -> None:
        """``feed("loss", v, step)`` for each pair in order, with the same findings: the watch
        hands over a drain's worth at once (a few hundred values) and this loop keeps the
        detector's state in local variables. From the first value that raises a finding (or is
        not finite) on, and once the plateau or divergence finding exists, values take the
        one-by-one path."""
        if "loss_plateau" in self.out or "loss_diverging" in self.out:
            for v, at in zip(values, steps):
                self.feed("loss", v, at)
            return
        window = self._window
        maxlen = window.maxlen
        diverge = self.config.diverge_factor
        plateau = self.config.plateau_window
        n, best_loss, best_at = self._n, self._best_loss, self._best_at
        best_window, first = self._best_window, self._first_window
        for i in range(len(values)):  # i: where feed() takes over, if a finding comes
            value = values[i]
            if value - value != 0.0:  # NaN or Inf: feed() says so
                window.append(value)  # popped again below: the state before value i
                n += 1
                break
            n += 1
            window.append(value)
            if len(window) == maxlen:
                s = sorted(window)
                h = maxlen // 2
                current = s[h] if maxlen % 2 else 0.5 * (s[h - 1] + s[h])
                if first is None:
                    first = current
                if current < best_window:
                    best_window = current
                if best_window > 0 and current > diverge * best_window and current > first:
                    break  # a finding: built by feed()
            if value < best_loss * 0.99:
                best_loss, best_at = value, n
            elif n - best_at >= plateau and first is not None and best_loss > 0.5 * first:
                break
        else:
            self._n, self._best_loss, self._best_at = n, best_loss, best_at
            self._best_window, self._first_window = best_window, first
            return
        # Value i raises a finding: the state goes back to just before it (its median's effect
        # on the first and best windows is the same when feed() takes it again) and feed()
        # takes it and the rest, building the finding as it always does.
        window.pop()
        self._n, self._best_loss, self._best_at = n - 1, best_loss, best_at
        self._best_window, self._first_window = best_window, first
        for v, at in zip(values[i:], steps[i:]):
            self.feed("loss", v, at)

    def _held_out(self, key: str, value: float, step: int) -> None:
        """Overfitting: the held-out loss has climbed at each of the last ``overfit_evals``
        evaluations since its best and is now well above it, while the training loss kept
        falling. A noisy held-out loss that swings around a plateau is not this, and a run that
        stops early after a few worse evaluations (patience) never gets here."""
        best = self._held_best.get(key)
        train = _median(self._window) if self._window else math.nan
        if best is None or value < best[1]:
            self._held_best[key] = (step, value, train)
            self._held_since[key] = deque(maxlen=self.config.overfit_evals)
            return
        since = self._held_since[key]
        since.append(value)
        at, low, train_then = best
        last = list(since)
        climbing = len(last) == self.config.overfit_evals and all(
            a < b for a, b in zip(last, last[1:])
        )
        if (
            climbing
            and value > (1 + self.config.overfit_rise) * low
            and train < (1 - self.config.overfit_rise) * train_then
            and f"overfitting:{key}" not in self.out
        ):
            self.out.add(
                f"overfitting:{key}",
                Finding(
                    "overfitting",
                    "warn",
                    f"{key} was best at step {at} ({fmt(low)}) and has climbed at each of its"
                    f" last {len(last)} evaluations since: {fmt(value)} at step {step},"
                    f" while the training loss fell from {fmt(train_then)} to {fmt(train)}."
                    f" The net is overfitting: stop early at step {at} (keep that checkpoint).",
                    fix="Keep the weights of the best validation loss and stop after a few"
                    " evaluations without improvement; then regularize (more data,"
                    " augmentation, dropout, weight decay) to push the best lower.",
                    evidence={"step": step, "best_step": at, "best": low, "value": value},
                ),
            )

    def _diverging(self, current: float, best: float, step: int) -> None:
        if "loss_diverging" in self.out:
            return
        self.out.add(
            "loss_diverging",
            Finding(
                "loss_diverging",
                self._status,
                f"The loss is diverging: {fmt(current)} at step {step}, "
                f"{current / best:.1f}x its best ({fmt(best)}).{self._players}",
                fix="Lower the learning rate (by 3-10x), add warm-up or gradient "
                "clipping, and check for a bad batch at that step.",
                evidence={"step": step, "loss": current, "best": best},
            ),
        )


class LRDetector:
    """LR collapsed to ~0 and kept there - not warm-up from 0, not a cosine ending at 0."""

    def __init__(self, config: WatchConfig, out: Findings) -> None:
        self.config = config
        self.out = out
        self.peak: dict[tuple[int, int], float] = {}
        self.low_since: dict[tuple[int, int], int] = {}
        self.changes: dict[tuple[int, int], deque[tuple[int, float]]] = {}

    @property
    def pending(self) -> bool:
        """An LR at ~0 not reported yet: it must be looked at until it is (or recovers)."""
        return any(f"lr_collapsed:{key}" not in self.out for key in self.low_since)

    def feed(self, opt_index: int, groups: list[dict[str, Any]], step: int) -> None:
        # Runs at every sampled step and periodic LR look: the usual case (an LR that is a
        # float, seen before, at its peak or above the collapse line) touches two dicts.
        changes, peaks, low_since = self.changes, self.peak, self.low_since
        for gi, group in enumerate(groups):
            lr = group.get("lr")
            if type(lr) is not float:
                if isinstance(lr, (int, float)):
                    lr = float(lr)
                else:
                    lr = float(lr) if hasattr(lr, "item") else None  # tensor LRs (capturable)
            if lr is None:
                continue
            key = (opt_index, gi)
            seen = changes.get(key)
            if seen is None:
                seen = changes[key] = deque(maxlen=64)
            if not seen or seen[-1][1] != lr:
                seen.append((step, lr))
            peak = peaks.get(key, 0.0)
            if lr > peak:
                peak = peaks[key] = lr
            elif key not in peaks:
                peaks[key] = peak
            if peak <= 0 or lr >= self.config.lr_collapse * peak:
                if low_since:
                    low_since.pop(key, None)
                continue
            start = self.low_since.setdefault(key, step)
            low_for = step - start + 1
            # A cosine schedule spends well under 1.5% of its steps below 1e-4 of its peak, and
            # it spends them at the end; a collapse keeps going at ~0 for longer than that.
            if (
                low_for >= self.config.lr_collapse_steps
                and low_for >= self.config.lr_collapse_fraction * step
            ):
                cuts = _geometric_cuts(self.changes[key])
                if cuts is not None:
                    self._stepped_too_often(key, lr, peak, start, cuts)
                    continue
                self.out.add(
                    f"lr_collapsed:{key}",
                    Finding(
                        "lr_collapsed",
                        "warn",
                        f"The learning rate of optimizer {opt_index}, group {gi} fell to {fmt(lr)} "
                        f"({lr / peak:.1e} of its peak {fmt(peak)}) at step {start} and has stayed "
                        f"there for {low_for} steps: training has effectively stopped.",
                        fix="Check the scheduler: step it once per optimizer step (not per "
                        "batch of an epoch scheduler), and check gamma / T_max / total steps.",
                        evidence={"step": start, "lr": lr, "peak": peak, "group": gi},
                    ),
                )

    def _stepped_too_often(
        self, key: tuple[int, int], lr: float, peak: float, start: int, cuts: tuple
    ) -> None:
        factor, times, first, last = cuts
        every = (last - first) / max(times - 1, 1)
        self.out.add(
            f"lr_collapsed:{key}",
            Finding(
                "lr_schedule",
                "warn",
                f"The learning rate of optimizer {key[0]}, group {key[1]} was cut by {factor:.2g}x"
                f" {times} times between optimizer steps {first} and {last} (every ~{every:.0f}"
                f" steps), down to {fmt(lr)} ({lr / peak:.1e} of its peak) by step {start}:"
                " training has effectively stopped. A schedule written in epochs (StepLR,"
                " MultiStepLR, ExponentialLR) stepped every batch decays this fast, and so does"
                " a gamma far too small for the run's length.",
                fix="Call scheduler.step() once per epoch (after the loop over batches), or give"
                " step_size / milestones in optimizer steps; check gamma against the number of"
                " scheduler steps.",
                evidence={
                    "step": start,
                    "lr": lr,
                    "peak": peak,
                    "factor": factor,
                    "cuts": times,
                    "group": key[1],
                },
            ),
        )


def _geometric_cuts(changes: Any) -> tuple[float, int, int, int] | None:
    """(factor, how many, first step, last step) when the LR fell in at least three cuts by the
    same factor (a step or exponential schedule); None for a one-off drop or a smooth curve
    that is not geometric (cosine, linear decay)."""
    pts = list(changes)
    ratios = [b / a for (_, a), (_, b) in zip(pts, pts[1:]) if a > 0]
    falls = [r for r in ratios if r < 1]
    if len(falls) < 3 or len(falls) != len(ratios):
        return None
    ref = falls[-1]
    if not all(abs(r / ref - 1) < 1e-3 for r in falls):
        return None
    return 1 / ref, len(falls), pts[1][0], pts[-1][0]


def unit_maxima(output: Any) -> torch.Tensor | None:
    """Each unit's largest output over the batch (dim 0) and any spatial dims, as a ``(C,)``
    tensor: a ReLU unit is dead for the batch when this is exactly 0 (NaN counts as alive).
    None when it says nothing: not a tensor, no batch dim, or one example (every unit that
    example does not use would look dead)."""
    if not isinstance(output, torch.Tensor):
        return None
    t = output.detach()
    if t.dim() < 2 or t.shape[0] < 2 or t.numel() == 0:
        return None
    # (B, C, ...) -> (C,): one reduction.
    return t.amax(dim=(0, *range(2, t.dim()))) if t.dim() > 2 else t.amax(dim=0)
