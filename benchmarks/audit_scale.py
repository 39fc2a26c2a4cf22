"""``rw.audit`` at real sizes: seconds per size, how they scale, and the neighbour search's recall.

    python benchmarks/audit_scale.py            # 100k / 300k / 1M rows x 20 columns, bars enforced
    python benchmarks/audit_scale.py --smoke    # 20k and 50k rows, recall on 10k; no time bar

Table: 20 numeric columns, Gaussian class blobs (10 classes, isotropic inside each blob: the hard
case for a neighbour index, no low-dimensional structure to exploit) and a ``label`` column.
Planted: 1% of the labels flipped to another class, 1% of the rows copied with noise far below
the near-duplicate rounding (sd 0.001 of a column's sd of about 3).

Label noise searches neighbours exactly up to ``EXACT_BELOW`` rows (100,000) and with the
random-projection forest above (``recipe_widgets/engine/audit/_neighbours.py``): the smoke sizes
and 100k time the exact search, 300k and 1M the forest. Per size: seconds of one ``rw.audit`` (after one warm-up audit of 2,000 rows so the imports are
not timed), and the planted recall of its label-noise and near-duplicate findings. Scaling: the
seconds per row of the largest size over those of the smallest (1.0 is linear).

Recall against exact search, on a random sample of the table (50,000 rows; 10,000 with
``--smoke``), in the codes the audit uses: the fraction of each row's exact 10 nearest
neighbours the index returns (label noise's neighbours), and the fraction of the items label
noise flags with exact neighbours that it also flags with the index. Near duplicates of a table
are equal keys of its z-scored values rounded to 0.1, found by hashing: no neighbour index is
involved, so their recall against exact search is 1 by construction; the planted near-duplicate
recall is reported per size instead.

Bars (full run): audit of 1M x 20 in at most 60 s, on a quiet machine; neighbour and flag recall
at least 0.95. Last line ``RESULT audit_scale ...``; exit 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import recipe_widgets as rw  # noqa: E402 - after sys.path
from recipe_widgets.engine.audit import _neighbours as nb  # noqa: E402
from recipe_widgets.engine.audit._api import _codes  # noqa: E402
from recipe_widgets.engine.audit._label_noise import K, label_noise  # noqa: E402
from recipe_widgets.engine.items import read_items  # noqa: E402

COLUMNS = 20
CLASSES = 10
BAR_SECONDS_1M = 60.0
BAR_RECALL = 0.95


def make_table(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``(frame, flipped rows, (original, copy) row pairs)``."""
    rng = np.random.default_rng(seed)
    n_copy = n // 100
    base = n - n_copy
    centres = rng.normal(0, 3, size=(CLASSES, COLUMNS))
    y = rng.integers(0, CLASSES, base)
    x = centres[y] + rng.normal(0, 3, size=(base, COLUMNS))
    src = rng.choice(base, n_copy, replace=False)
    x = np.concatenate([x, x[src] + rng.normal(0, 0.001, size=(n_copy, COLUMNS))])
    y = np.concatenate([y, y[src]])
    flipped = rng.choice(base, n // 100, replace=False)
    flipped = flipped[~np.isin(flipped, src)]  # an original keeps the label its copy has
    y[flipped] = (y[flipped] + rng.integers(1, CLASSES, len(flipped))) % CLASSES
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(COLUMNS)])
    frame["label"] = y
    return frame, flipped, np.stack([src, np.arange(base, n)], axis=1)


def planted_recall(
    report: rw.Report, flipped: np.ndarray, pairs: np.ndarray
) -> tuple[float, float]:
    noise = set(report["label_noise"].evidence.get("indices", []))
    group = {}
    for g, members in enumerate(report["near_duplicates"].evidence.get("groups", [])):
        group.update({i: g for i in members})
    near = np.mean([group.get(int(a), -1) == group.get(int(b), -2) for a, b in pairs])
    return float(np.mean([int(i) in noise for i in flipped])), float(near)


def sample_recall(frame: pd.DataFrame, size: int) -> tuple[float, float, float, float]:
    """(neighbour recall, flag recall, index s, exact s) on ``size`` random rows."""
    rows = np.sort(np.random.default_rng(1).choice(len(frame), size, replace=False))
    part = frame.iloc[rows].reset_index(drop=True)
    items = read_items(part.drop(columns="label"), part["label"].to_numpy(), None, quiet=True)
    usable = np.ones(items.n, dtype=bool)
    codes = _codes(items, usable)
    t0 = time.perf_counter()
    approx = nb.knn(codes, K, exact=False)
    t1 = time.perf_counter()
    exact = nb.knn(codes, K, exact=True)
    t2 = time.perf_counter()
    recall = float(np.mean((approx[:, :, None] == exact[:, None, :]).any(axis=2)))
    flags = {}
    cutoff = nb.EXACT_BELOW
    for name, below in (("index", 0), ("exact", size + 1)):
        nb.EXACT_BELOW = below  # label_noise searches exactly up to this many rows
        try:
            f = label_noise(items, codes, usable, True)[0][0]
        finally:
            nb.EXACT_BELOW = cutoff
        flags[name] = set(f.evidence.get("indices", []))
    flag_recall = len(flags["index"] & flags["exact"]) / max(1, len(flags["exact"]))
    return recall, flag_recall, t1 - t0, t2 - t1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="20k and 50k rows; no time bar")
    args = parser.parse_args()
    sizes = [20_000, 50_000] if args.smoke else [100_000, 300_000, 1_000_000]
    sample = 10_000 if args.smoke else 50_000
    print("timings are wall-clock on this machine as it is (state its load with the figures)")
    rw.audit(make_table(2000)[0], labels="label", quiet=True)  # warm-up: imports not timed
    seconds = {}
    for n in sizes:
        frame, flipped, pairs = make_table(n)
        t0 = time.perf_counter()
        report = rw.audit(frame, labels="label", quiet=True)
        seconds[n] = time.perf_counter() - t0
        noise, near = planted_recall(report, flipped, pairs)
        print(
            f"{n:>9,} rows x {COLUMNS} ({'exact' if n <= nb.EXACT_BELOW else 'forest'}): "
            f"{seconds[n]:6.1f} s  ({seconds[n] / n * 1e6:.1f} us/row)"
            f"  planted recall: label noise {noise:.3f}, near duplicates {near:.3f}",
            flush=True,
        )
    small, big = sizes[0], sizes[-1]
    scaling = (seconds[big] / big) / (seconds[small] / small)
    print(
        f"scaling: {big:,} rows take {seconds[big] / seconds[small]:.1f}x the time of "
        f"{small:,} ({big / small:.1f}x the rows); per-row ratio {scaling:.2f} (1.0 = linear)"
    )
    frame = make_table(max(sizes[0], sample))[0]
    recall, flag_recall, t_index, t_exact = sample_recall(frame, sample)
    print(
        f"recall vs exact search on a {sample:,}-row sample: neighbours {recall:.3f}, "
        f"label-noise flags {flag_recall:.3f}, near duplicates 1 (hashed keys, no index); "
        f"index {t_index:.1f} s, exact {t_exact:.1f} s"
    )
    failed = []
    if recall < BAR_RECALL or flag_recall < BAR_RECALL:
        failed.append("recall")
    if not args.smoke and seconds[big] > BAR_SECONDS_1M:
        failed.append(f"1M rows over {BAR_SECONDS_1M:.0f} s (a quiet machine is assumed)")
    print(
        f"RESULT audit_scale {big}_rows_s={seconds[big]:.1f} per_row_ratio={scaling:.2f} "
        f"knn_recall={recall:.3f} flag_recall={flag_recall:.3f} sample={sample} "
        f"{'FAIL ' + '; '.join(failed) if failed else 'ok'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
