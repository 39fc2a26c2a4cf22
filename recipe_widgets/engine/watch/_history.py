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
