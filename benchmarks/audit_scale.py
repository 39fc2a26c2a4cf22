"""``rw.audit`` at real sizes: seconds per size, quiet and loaded, how they scale, and recall.

    python benchmarks/audit_scale.py            # 100k / 300k / 1M rows x 20 columns, bars enforced
    python benchmarks/audit_scale.py --smoke    # 20k and 40k rows quiet, recall on 10k; no time bar
    python benchmarks/audit_scale.py --conditions quiet   # skip the two loads

Table: 20 numeric columns, Gaussian class blobs (10 classes, isotropic inside each blob: the hard
case for a neighbour index, no low-dimensional structure to exploit) and a ``label`` column.
Planted: 1% of the labels flipped to another class, 1% of the rows copied with noise far below
the near-duplicate rounding (sd 0.001 of a column's sd of about 4).

Label noise searches neighbours exactly up to ``EXACT_BELOW`` rows (20,000) and with k-means
cells above (``recipe_widgets/engine/audit/_neighbours.py``). Per size and condition (quiet, and
under each load of ``benchmarks/_load.py``): seconds of one ``rw.audit`` (after one warm-up audit
of 2,000 rows so the imports are not timed) and the CPU seconds of this process (on a shared
machine they show the work done, whatever else runs: the audit's heavy parts use one thread),
microseconds per row, the recall the search
measured on itself (its label-noise evidence), and the planted recall of the label-noise and
near-duplicate findings. Scaling: the seconds per row of the largest size over those of the
smallest (1.0 is linear).

Recall against exact search, on a random sample of the table (50,000 rows; 10,000 with
``--smoke``), in the codes the audit uses: the fraction of each row's exact 10 nearest
neighbours the index returns; the fraction of the items label noise flags with exact neighbours
that it also flags with the index; and for near duplicates, the fraction of the pairs exact
search finds within the near threshold (0.1 between codes) that the audit puts in one duplicate
group. ydata-profiling (minimal mode) profiles the same frames side by side when ``make
bench-tools`` has built ``.venv-ydata`` (it pins older numpy / pandas), quiet only.

Bars (full run): audit of 1M x 20 in at most 60 s on a quiet machine; neighbour, flag and
near-duplicate recall at least 0.95. Last line ``RESULT audit_scale ...``; exit 1 when a bar is
missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _load import CONDITIONS, load  # noqa: E402

import recipe_widgets as rw  # noqa: E402 - after sys.path
from recipe_widgets.engine.audit import _duplicates as dup  # noqa: E402
from recipe_widgets.engine.audit import _neighbours as nb  # noqa: E402
from recipe_widgets.engine.audit._api import _codes, audit_table  # noqa: E402
from recipe_widgets.engine.audit._label_noise import K, label_noise  # noqa: E402
from recipe_widgets.engine.items import Items, read_items  # noqa: E402

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


def _flag_recall(items: Items, codes: np.ndarray, usable: np.ndarray) -> float:
    """Label-noise flags with the index that exact neighbours also flag, as a share of those."""
    flags = {}
    cutoff = nb.EXACT_BELOW
    for name, below in (("index", 0), ("exact", items.n + 1)):
        nb.EXACT_BELOW = below  # label_noise searches exactly up to this many rows
        try:
            f = label_noise(items, codes, usable, True)[0][0]
        finally:
            nb.EXACT_BELOW = cutoff
        flags[name] = set(f.evidence.get("indices", []))
    return len(flags["index"] & flags["exact"]) / max(1, len(flags["exact"]))


def _near_recall(part: pd.DataFrame, codes: np.ndarray) -> tuple[float, int]:
    """Pairs within the near threshold by exact search (a KD-tree range query) that the audit
    groups as exact or near duplicates, as a share of those pairs; and how many pairs."""
    from scipy.spatial import cKDTree

    truth = cKDTree(codes).query_pairs(dup.NEAR_THRESHOLD, output_type="ndarray")
    if not len(truth):
        return 1.0, 0
    table = audit_table(part, labels="label", quiet=True)[1]
    same = np.zeros(len(truth), dtype=bool)
    for column in ("exact_group", "near_group"):
        g = table[column].to_numpy()
        same |= (g[truth[:, 0]] >= 0) & (g[truth[:, 0]] == g[truth[:, 1]])
    return float(same.mean()), len(truth)


def sample_recall(frame: pd.DataFrame, size: int) -> dict[str, float]:
    """Recall against exact search on ``size`` random rows (see the module docstring)."""
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
    near, pairs = _near_recall(part, codes)
    return {
        "knn": float(np.mean((approx[:, :, None] == exact[:, None, :]).any(axis=2))),
        "flags": _flag_recall(items, codes, usable),
        "near": near,
        "near_pairs": pairs,
        "index_s": t1 - t0,
        "exact_s": t2 - t1,
    }


def ydata_seconds(n: int) -> float | None:
    """ydata-profiling minimal on ``make_table(n)`` (description and HTML), from its own venv."""
    venv = ROOT / ".venv-ydata" / "bin" / "python"
    if not venv.exists():
        return None
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
        "from audit_scale import make_table; from ydata_profiling import ProfileReport; "
        f"f = make_table({n})[0]; t = time.perf_counter(); "
        "ProfileReport(f, minimal=True, progress_bar=False).to_html(); "
        "print('YDATA', time.perf_counter() - t)"
    )
    try:
        proc = subprocess.run([str(venv), "-c", code], capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return None
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("YDATA")), None)
    return float(line.split()[1]) if line else None


def time_sizes(sizes: list[int], condition: str) -> dict[int, float]:
    """Seconds of one audit per size under ``condition``, printed with recall as they come."""
    seconds, cpu = {}, {}
    with load(condition) as what:
        print(f"-- {what}", flush=True)
        for n in sizes:
            frame, flipped, pairs = make_table(n)
            t0, c0 = time.perf_counter(), time.process_time()
            report = rw.audit(frame, labels="label", quiet=True)
            seconds[n] = time.perf_counter() - t0
            cpu[n] = time.process_time() - c0
            noise, near = planted_recall(report, flipped, pairs)
            ev = report["label_noise"].evidence
            print(
                f"{n:>9,} rows x {COLUMNS}: {seconds[n]:6.1f} s ({seconds[n] / n * 1e6:5.1f} us/row)"
                f", CPU {cpu[n]:6.1f} s ({cpu[n] / n * 1e6:5.1f} us/row)"
                f"  search recall {ev.get('recall', float('nan')):.3f} on {ev.get('recall_sample')}"
                f" rows; planted recall: label noise {noise:.3f}, near duplicates {near:.3f}",
                flush=True,
            )
    small, big = sizes[0], sizes[-1]
    print(
        f"   scaling: {big:,} rows take {seconds[big] / seconds[small]:.1f}x the time of "
        f"{small:,} ({big / small:.1f}x the rows); per-row ratio "
        f"{(seconds[big] / big) / (seconds[small] / small):.2f} wall, "
        f"{(cpu[big] / big) / (cpu[small] / small):.2f} CPU (1.0 = linear)",
        flush=True,
    )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="20k and 40k rows quiet; no bar")
    parser.add_argument("--conditions", nargs="+", choices=CONDITIONS, default=None)
    args = parser.parse_args()
    sizes = [20_000, 40_000] if args.smoke else [100_000, 300_000, 1_000_000]
    conditions = args.conditions or (["quiet"] if args.smoke else list(CONDITIONS))
    sample = 10_000 if args.smoke else 50_000
    print("wall-clock seconds on this machine; other work on it shows in every figure")
    rw.audit(make_table(2000)[0], labels="label", quiet=True)  # warm-up: imports not timed
    seconds = {c: time_sizes(sizes, c) for c in conditions}
    big = sizes[-1]
    theirs = {n: ydata_seconds(n) for n in sizes} if "quiet" in seconds else {}
    for n, t in theirs.items():
        if t is None:
            print(f"ydata-profiling minimal at {n:,} rows: not installed (make bench-tools)")
        else:
            print(
                f"ydata-profiling minimal at {n:,} rows: {t:.1f} s, "
                f"{t / seconds['quiet'][n]:.2f}x rw.audit's quiet time (theirs / ours)"
            )
    r = sample_recall(make_table(max(sizes[0], sample))[0], sample)
    print(
        f"recall vs exact search on a {sample:,}-row sample: neighbours {r['knn']:.3f}, "
        f"label-noise flags {r['flags']:.3f}, near duplicates {r['near']:.3f} of "
        f"{r['near_pairs']} pairs within {dup.NEAR_THRESHOLD}; index {r['index_s']:.1f} s, "
        f"exact {r['exact_s']:.1f} s"
    )
    failed = [name for name in ("knn", "flags", "near") if r[name] < BAR_RECALL]
    quiet = seconds.get("quiet", {}).get(big)
    if not args.smoke and quiet is not None and quiet > BAR_SECONDS_1M:
        failed.append(f"1M rows over {BAR_SECONDS_1M:.0f} s quiet")
    timing = " ".join(
        f"{c.replace(' ', '_')}_{big}_rows_s={s[big]:.1f}" for c, s in seconds.items()
    )
    print(
        f"RESULT audit_scale {timing} knn_recall={r['knn']:.3f} flag_recall={r['flags']:.3f} "
        f"near_recall={r['near']:.3f} sample={sample} "
        f"{'FAIL ' + '; '.join(failed) if failed else 'ok'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
