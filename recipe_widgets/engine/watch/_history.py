"""Bounded memory for long runs: the watch's older rows, folded into buckets of consecutive rows.

A week-long run logs millions of rows; kept as Python dicts they cost about half a kilobyte
each. The watch keeps its most recent rows as they were logged and folds older ones, a block at
a time, into at most ``MAX_BUCKETS`` buckets. A bucket keeps, per metric, the count of finite
values, their mean, min and max: a spike survives as a bucket's max even when the mean
smooths it away. When there are more buckets than that, neighbours are merged pairwise, so
each bucket covers twice as many rows: memory stays bounded and the resolution of old history
halves as the run doubles.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from itertools import islice

import numpy as np
import pandas as pd

#: Rows folded at a time, once the watch holds twice as many (a power of two, so buckets of
#: 1, 2, 4, ... rows tile a block exactly).
FOLD_ROWS = 8192
#: Buckets kept at most (each a few dozen bytes per metric).
MAX_BUCKETS = 1024


class Folded:
    """Buckets of consecutive rows: first and last step, row count, and per metric the finite
    count, sum, min and max (numpy arrays, one entry per bucket)."""

    def __init__(self, max_buckets: int = MAX_BUCKETS) -> None:
        self.max_buckets = max_buckets
        self.per_bucket = 1  # rows per bucket for the next fold
        self.first = np.zeros(0, dtype=np.int64)
        self.last = np.zeros(0, dtype=np.int64)
        self.rows = np.zeros(0, dtype=np.int64)
        self.metrics: dict[str, dict[str, np.ndarray]] = {}  # metric -> n / sum / lo / hi

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def total_rows(self) -> int:
        return int(self.rows.sum())

    def fold(self, rows: list[dict[str, float]]) -> None:
        """Take ``rows`` (dicts with ``step`` and metrics, oldest first) into new buckets."""
        if not rows:
            return
        k = len(rows)
        while k > self.per_bucket * self.max_buckets:  # one fold never overflows by itself
            self.per_bucket *= 2
        starts = np.arange(0, k, self.per_bucket)
        steps = np.fromiter((r["step"] for r in rows), dtype=np.int64, count=k)
        old = len(self)
        self.first = np.concatenate([self.first, steps[starts]])
        self.last = np.concatenate([self.last, steps[np.minimum(starts + self.per_bucket, k) - 1]])
        self.rows = np.concatenate([self.rows, np.diff(np.append(starts, k))])
        keys = dict.fromkeys(key for r in rows for key in r if key != "step")
        for key in keys:
            values = np.fromiter((r.get(key, np.nan) for r in rows), dtype=np.float64, count=k)
            finite = np.isfinite(values)
            zeroed = np.where(finite, values, 0.0)
            new = {
                "n": np.add.reduceat(finite.astype(np.int64), starts),
                "sum": np.add.reduceat(zeroed, starts),
                "lo": np.minimum.reduceat(np.where(finite, values, np.inf), starts),
                "hi": np.maximum.reduceat(np.where(finite, values, -np.inf), starts),
            }
            stats = self.metrics.setdefault(key, _empty(old))
            for name, part in new.items():
                stats[name] = np.concatenate([stats[name], part])
        for key, stats in self.metrics.items():
            if key not in keys:  # a metric not logged in this block: empty in its buckets
                for name, part in _empty(len(starts)).items():
                    stats[name] = np.concatenate([stats[name], part])
        while len(self) > self.max_buckets:
            self._halve()

    def _halve(self) -> None:
        """Merge neighbouring buckets pairwise (an odd last one stays as it is)."""
        self.per_bucket *= 2
        m = len(self) // 2 * 2  # buckets that have a partner

        def pairs(a: np.ndarray, how) -> np.ndarray:
            return np.concatenate([how(a[0:m:2], a[1:m:2]), a[m:]])

        self.first = pairs(self.first, np.minimum)
        self.last = pairs(self.last, np.maximum)
        self.rows = pairs(self.rows, np.add)
        for stats in self.metrics.values():
            stats["n"] = pairs(stats["n"], np.add)
            stats["sum"] = pairs(stats["sum"], np.add)
            stats["lo"] = pairs(stats["lo"], np.minimum)
            stats["hi"] = pairs(stats["hi"], np.maximum)

    def frame(self) -> pd.DataFrame:
        """One row per bucket: ``step_first``, ``step`` (its last step), ``rows``, and per metric
        its mean (``loss``), min (``loss_min``) and max (``loss_max``); NaN where a bucket has
        no finite value of that metric."""
        out: dict[str, np.ndarray] = {
            "step_first": self.first,
            "step": self.last,
            "rows": self.rows,
        }
        for key, s in self.metrics.items():
            has = s["n"] > 0
            out[key] = np.where(has, s["sum"] / np.maximum(s["n"], 1), np.nan)
            out[f"{key}_min"] = np.where(has, s["lo"], np.nan)
            out[f"{key}_max"] = np.where(has, s["hi"], np.nan)
        return pd.DataFrame(out)

    def means(self) -> list[dict[str, float]]:
        """The buckets as history rows: the last step and each metric's mean."""
        df = self.frame()
        keep = ["step", *self.metrics]
        rows = []
        for rec in df[keep].to_dict("records"):
            rows.append({k: v for k, v in rec.items() if k == "step" or v == v})
        return rows

    def to_dict(self) -> dict:
        """Plain data for a saved run (lists of numbers; infinities as strings)."""
        return {
            "per_bucket": self.per_bucket,
            "first": self.first.tolist(),
            "last": self.last.tolist(),
            "rows": self.rows.tolist(),
            "metrics": {
                k: {
                    name: [repr(x) if not np.isfinite(x) else x for x in a.tolist()]
                    for name, a in s.items()
                }
                for k, s in self.metrics.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> Folded:
        f = cls()
        f.per_bucket = int(data["per_bucket"])
        f.first = np.asarray(data["first"], dtype=np.int64)
        f.last = np.asarray(data["last"], dtype=np.int64)
        f.rows = np.asarray(data["rows"], dtype=np.int64)
        f.metrics = {
            k: {
                name: np.asarray(
                    [float(x) for x in a], dtype=np.int64 if name == "n" else np.float64
                )
                for name, a in s.items()
            }
            for k, s in data["metrics"].items()
        }
        return f


def _empty(n: int) -> dict[str, np.ndarray]:
    return {
        "n": np.zeros(n, dtype=np.int64),
        "sum": np.zeros(n),
        "lo": np.full(n, np.inf),
        "hi": np.full(n, -np.inf),
    }


#: Points kept at full resolution by :class:`Points` (the most recent ones).
RECENT_POINTS = 4096


class Points:
    """A bounded series of ``(step, value)`` points, oldest first: the most recent ``recent``
    as recorded, older ones thinned evenly (each kept point stands for ``stride`` recorded
    ones, the stride doubling as the run doubles), so at most about twice ``recent`` are held
    however long the run.

    ``keep`` says which point of a run of them survives thinning: ``"max"`` the largest value,
    a non-finite one first (a gradient-norm spike stays visible), ``"first"`` the earliest one
    (an LR change point keeps the step where it started). ``total`` counts every point ever
    recorded, so a reader that has seen ``k`` of them asks :meth:`since` for the rest."""

    def __init__(self, keep: str = "max", recent: int = RECENT_POINTS) -> None:
        if keep not in ("max", "first"):
            raise ValueError(f"keep must be 'max' or 'first', not {keep!r}")
        self.keep = keep
        self.recent = recent
        self.total = 0
        self._old: list[tuple[int, float]] = []  # each stands for `_stride` recorded points
        self._stride = 1
        # Out of the recent ones, not a whole stride yet: the survivor so far and how many
        self._carry: tuple[int, float] | None = None
        self._carried = 0
        self._new: deque[tuple[int, float]] = deque()  # as recorded

    def append(self, point: tuple[int, float]) -> None:
        self._new.append(point)
        self.total += 1
        if len(self._new) <= self.recent:
            return
        out = self._new.popleft()
        self._carry = out if self._carry is None else self._survivor(self._carry, out)
        self._carried += 1
        if self._carried < self._stride:
            return
        self._old.append(self._carry)
        self._carry, self._carried = None, 0
        if len(self._old) > self.recent:
            self._old = self._thin(self._old)
            self._stride *= 2

    def _thin(self, points: list[tuple[int, float]]) -> list[tuple[int, float]]:
        out = [self._survivor(a, b) for a, b in zip(points[0::2], points[1::2])]
        if len(points) % 2:
            out.append(points[-1])
        return out

    def _survivor(self, a: tuple[int, float], b: tuple[int, float]) -> tuple[int, float]:
        if self.keep == "first":
            return a
        if not math.isfinite(a[1]):  # NaN/Inf is the spike that matters most
            return a
        return b if not math.isfinite(b[1]) or b[1] > a[1] else a

    def since(self, seen: int) -> list[tuple[int, float]]:
        """The points recorded after the first ``seen`` (those still held as recorded)."""
        n = min(self.total - seen, len(self._new))
        return list(islice(self._new, len(self._new) - n, None))

    def __len__(self) -> int:
        return len(self._old) + (self._carry is not None) + len(self._new)

    def __iter__(self) -> Iterator[tuple[int, float]]:
        yield from self._old
        if self._carry is not None:
            yield self._carry
        yield from self._new

    def __getitem__(self, i: int) -> tuple[int, float]:
        if i == -1 and self._new:  # the one the watch asks for, every step
            return self._new[-1]
        return list(self)[i]
