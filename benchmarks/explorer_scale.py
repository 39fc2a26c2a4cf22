"""The explorer and the audit on a Parquet file larger than memory, read in place by DuckDB;
pandas, Polars (lazy) and ydata-profiling (minimal) side by side in the same run.

    python benchmarks/explorer_scale.py            # 100,000,000 rows x 8 columns, bars enforced
    python benchmarks/explorer_scale.py --smoke    # 1,000,000 rows, planted defects checked only

The file is generated first by DuckDB in a child process (its memory is not the kernel's):
numbers ``x`` (normal) and ``y`` (uniform), an integer ``n``, a category ``cat``, a text
``text``, a timestamp ``ts``, a ``label`` (10 classes) and a ``split`` (train / val / test), with
planted defects: NaN cells in ``x``, outliers in ``y``, exact duplicate rows within a split, and
rows copied into another split (leakage).

What is timed (in this process, DuckDB capped with ``memory_limit=1GB``; it spills past it):
- up: ``rw.explore(path)`` until the first page and the default axis's histogram exist and every
  widget's comm is open;
- 20 scripted interactions (filters, sorts, searches, a brush, a bar click, paging), each the
  time from setting a trait to the page on screen (as in a kernel, the count of the matches and
  the matching bars follow from a thread; the time until they are in is printed beside it and
  its p95 too, not held to the bar); p95 and max;
- the kernel's peak RSS (``ru_maxrss``) after all of it, and the largest message to the front end;
- ``rw.audit(path, labels="label", splits="split")``, and whether every planted defect is found.
Beside it: pandas (read the file or the largest slice it can, then the same filter, sort and
group-by), Polars lazy (the same three on ``scan_parquet``), ydata-profiling minimal on a slice
(from ``.venv-ydata``, ``make bench-tools``). Ratios are printed as "theirs / ours".

Bars (full run): up <= 3 s; p95 <= 1 s; peak RSS <= 2 GB; no message over 2 MB; audit <= 120 s;
every planted defect found (checked in --smoke too). Last line ``RESULT explorer_scale ...``;
exit 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BAR_UP_S, BAR_P95_S, BAR_RSS_MB, BAR_BYTES, BAR_AUDIT_S = 3.0, 1.0, 2048, 2_000_000, 120.0
MEMORY_LIMIT = "1GB"
# Planted defects: every row i with i % P == r (P primes, so the sets do not meet).
NAN_EVERY, OUTLIER_EVERY, DUP_EVERY, LEAK_EVERY = 100_003, 1_000_003, 500_009, 700_001
WORDS = "['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']"


def generate_sql(n: int) -> str:
    """One ``SELECT`` making the table; values come from hashes of a row's source index ``j``,
    so a duplicate (``j = i - 1``) repeats its source row exactly. No ``ORDER BY``: DuckDB keeps
    ``range()``'s order (``preserve_insertion_order``), so row ``i`` is row ``i`` of the file."""
    u = "(hash(j, {k}) % 1000000) / 1000000.0"  # a uniform number per row and k
    normal = f"sqrt(-2 * ln({u.format(k=1)} + 1e-9)) * cos(2 * pi() * {u.format(k=2)})"
    split = f"CASE WHEN {u.format(k=7)} < 0.8 THEN 'train' WHEN {u.format(k=7)} < 0.9 THEN 'val' ELSE 'test' END"
    return f"""
    WITH base AS (
        SELECT i, CASE WHEN i % {DUP_EVERY} = 5 OR i % {LEAK_EVERY} = 9 THEN i - 1 ELSE i END AS j
        FROM range({n}) t(i)
    ), rows AS (
        SELECT i, j,
            CASE WHEN i % {NAN_EVERY} = 7 THEN 'nan'::DOUBLE ELSE {normal} END AS x,
            CASE WHEN i % {OUTLIER_EVERY} = 11 THEN 1e6 ELSE 100 * {u.format(k=3)} END AS y,
            CAST(hash(j, 4) % 1000 AS INTEGER) AS n,
            ({WORDS})[1 + CAST(hash(j, 5) % 8 AS INTEGER)] AS cat,
            ({WORDS})[1 + CAST(hash(j, 6) % 8 AS INTEGER)] || ' #' || CAST(hash(j, 9) % 100000 AS VARCHAR) AS text,
            TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(j, 8) % 31536000 AS BIGINT)) AS ts,
            CAST(hash(j, 10) % 10 AS INTEGER) AS label,
            {split} AS split0
        FROM base
    )
    SELECT x, y, n, cat, text, ts, label,
        CASE WHEN i % {LEAK_EVERY} = 9 THEN (CASE WHEN split0 = 'test' THEN 'train' ELSE 'test' END)
             ELSE split0 END AS split
    FROM rows
    """


def generate(path: Path, n: int) -> float:
    """Writes the file in a child process; returns the seconds it took."""
    code = (
        "import duckdb, sys; con = duckdb.connect(); con.execute('SET enable_progress_bar = false'); "
        f"con.execute(\"SET memory_limit = '{MEMORY_LIMIT}'\"); "
        f"con.execute(f\"COPY ({{sys.argv[1]}}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)\")"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, generate_sql(n)], check=True)
    return time.perf_counter() - t0


def planted(n: int) -> dict[str, list[int]]:
    rows = np.arange(n)
    return {
        "nan": rows[rows % NAN_EVERY == 7].tolist(),
        "outliers": rows[rows % OUTLIER_EVERY == 11].tolist(),
        "duplicates": rows[(rows % DUP_EVERY == 5) & (rows > 0)].tolist(),
        "leaks": rows[(rows % LEAK_EVERY == 9) & (rows > 0)].tolist(),
    }


def interactions(ex) -> list[tuple[str, object]]:
    return [
        ("filter x > 2", lambda: setattr(ex, "expr", "x > 2")),
        ("filter cat and n", lambda: setattr(ex, "expr", "cat == 'beta' and n < 100")),
        ("filter label in", lambda: setattr(ex, "expr", "label in (3, 4) and split == 'val'")),
        ("filter text contains", lambda: setattr(ex, "expr", "text contains '#4242'")),
        ("filter ts", lambda: setattr(ex, "expr", "ts >= '2024-12-01'")),
        ("clear filter", lambda: setattr(ex, "expr", "")),
        ("sort y", lambda: setattr(ex, "sort_by", "y")),
        ("sort largest first", lambda: setattr(ex, "descending", True)),
        ("sort ts", lambda: setattr(ex, "sort_by", "ts")),
        ("no sort", lambda: setattr(ex, "sort_by", "")),
        ("search 'gamma #123'", lambda: setattr(ex, "search", "gamma #123")),
        (
            "regex ^zeta #9\\d$",
            lambda: (setattr(ex, "regex", True), setattr(ex, "search", r"^zeta #9\d$")),
        ),
        ("clear search", lambda: (setattr(ex, "search", ""), setattr(ex, "regex", False))),
        ("axis y", lambda: setattr(ex, "axis", "y")),
        ("brush y", lambda: setattr(ex, "brush", (10.0, 20.0))),
        ("next page", lambda: ex._turn(+1)),
        ("axis cat", lambda: setattr(ex, "axis", "cat")),
        ("click bar beta", lambda: setattr(ex, "picked", ("beta",))),
        ("rows behind bar 0", lambda: _bar_rows(ex)),
        ("page 5", lambda: setattr(ex, "page", 5)),
    ]


def _bar_rows(ex) -> object:
    if hasattr(ex, "rows_in_bar"):  # the explorer over a table
        return ex.rows_in_bar(0, limit=1000)
    return ex._axis_histogram().rows(0)  # the in-memory one keeps every bar's rows


def run_steps(ex) -> np.ndarray:
    """Seconds per scripted interaction."""
    times = []
    for _, step in interactions(ex):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return np.array(times)


def frame_paths(path: Path, n: int, max_rows: int) -> str:
    """A pandas frame: today's in-memory explorer beside DuckDB scanning the same frame in
    place, the same 20 interactions; the faster one should serve frames of this size."""
    import pandas as pd

    import recipe_widgets as rw
    from recipe_widgets.engine.explore import DuckSource
    from recipe_widgets.widgets._explore import TableExplorer

    frame = pd.read_parquet(path) if n <= max_rows else _first_rows(path, max_rows)
    memory = run_steps(rw.explore(frame, chart=False))
    duck = run_steps(TableExplorer(DuckSource.open(frame), chart=False))
    pm, pd_ = (1000 * float(np.percentile(t, 95)) for t in (memory, duck))
    faster = "in memory" if pm <= pd_ else "DuckDB"
    return f"pandas frame of {len(frame)} rows: p95 in memory {pm:.0f} ms, DuckDB over it {pd_:.0f} ms ({faster} faster)"


def ours(path: Path) -> dict:
    from explorer import Wire

    import recipe_widgets as rw
    import recipe_widgets.engine.audit

    wire = Wire()
    t0 = time.perf_counter()
    ex = rw.explore(str(path), memory_limit=MEMORY_LIMIT)
    ex.open()
    up_s = time.perf_counter() - t0
    wire.take()
    ex.background = True  # as in a kernel: the page first, the count and matching bars after
    steps = []
    for name, step in interactions(ex):
        t0 = time.perf_counter()
        step()
        page_s = time.perf_counter() - t0
        ex.wait()  # then the count and the filtered bars (a person may move on before)
        done_s = time.perf_counter() - t0
        steps.append((name, page_s, done_s, wire.take(), ex._count, ex.error))
    t0 = time.perf_counter()
    report = rw.audit(str(path), labels="label", splits="split", memory_limit=MEMORY_LIMIT)
    audit_s = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"up_s": up_s, "steps": steps, "audit_s": audit_s, "report": report, "rss_mb": rss_mb}


def found_all(report, plant: dict[str, list[int]]) -> list[str]:
    """The planted defects the report missed (empty when all were found)."""
    by = {f.check: f for f in report.findings}
    missed = []
    nan = by["missing_values"].evidence.get("columns", {}).get("x", {}).get("nan", 0)
    if nan != len(plant["nan"]):
        missed.append(f"NaN cells: {nan} of {len(plant['nan'])}")
    flagged = set(by["outliers"].evidence.get("indices", ()))
    if not set(plant["outliers"]) <= flagged:
        missed.append(f"outliers: {sorted(set(plant['outliers']) - flagged)}")
    for check, key in (("exact_duplicates", "duplicates"), ("split_leakage", "leaks")):
        groups = {tuple(g) for g in by[check].evidence.get("groups", ())}
        lost = [i for i in plant[key][:40] if (i - 1, i) not in groups]  # groups listed: 50
        if lost:
            missed.append(f"{check}: rows {lost[:5]}")
    return missed


def _first_rows(path: Path, max_rows: int):
    """The largest slice pandas is given: the first row groups (never the whole file read)."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    groups = list(range(max(1, max_rows // file.metadata.row_group(0).num_rows)))
    return file.read_row_groups(groups).to_pandas()


def pandas_side(path: Path, n: int, max_rows: int) -> tuple[str, float, int]:
    import pandas as pd

    t0 = time.perf_counter()
    frame = pd.read_parquet(path) if n <= max_rows else _first_rows(path, max_rows)
    sel = frame[(frame["cat"] == "beta") & (frame["n"] < 100)]
    sel.nsmallest(24, "y")
    frame.groupby(["split", "label"]).size()
    return "pandas", time.perf_counter() - t0, len(frame)


def polars_side(path: Path, n: int) -> tuple[str, float, int]:
    import polars as pl

    t0 = time.perf_counter()
    lazy = pl.scan_parquet(path)
    lazy.filter((pl.col("cat") == "beta") & (pl.col("n") < 100)).sort("y").head(24).collect()
    lazy.group_by(["split", "label"]).len().collect()
    return "polars lazy", time.perf_counter() - t0, n


def ours_same_three(path: Path, n: int) -> tuple[str, float, int]:
    from recipe_widgets.engine.explore import Query, table_source

    t0 = time.perf_counter()
    source = table_source(str(path), memory_limit=MEMORY_LIMIT)
    source.page(Query(expr="cat == 'beta' and n < 100", sort_by="y"), 0, 24)
    source.histogram("split", Query())
    source.histogram("label", Query())
    return "ours (DuckDB)", time.perf_counter() - t0, n


def ydata_side(path: Path, rows: int) -> str:
    venv = ROOT / ".venv-ydata" / "bin" / "python"
    if not venv.exists():
        return "ydata=not-installed(make bench-tools)"
    import pyarrow.parquet as pq

    csv = path.with_suffix(".slice.csv")
    pq.ParquetFile(path).read_row_groups([0]).slice(0, rows).to_pandas().to_csv(csv, index=False)
    code = (
        "import sys, time, pandas as pd; from ydata_profiling import ProfileReport; "
        "f = pd.read_csv(sys.argv[1]); t = time.perf_counter(); "
        "ProfileReport(f, minimal=True, progress_bar=False).to_html(); print('YDATA', time.perf_counter() - t)"
    )
    try:
        out = subprocess.run(
            [str(venv), "-c", code, str(csv)], capture_output=True, text=True, timeout=1800
        )
    except subprocess.TimeoutExpired:
        return "ydata=timeout(1800s)"
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("YDATA")), None)
    return (
        f"ydata_minimal_s={float(line.split()[1]):.1f} on {rows} rows" if line else "ydata=failed"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="1,000,000 rows; no time bars")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--dir", default=None, help="where to write the file (default: a temp dir)")
    ap.add_argument("--no-competitors", action="store_true")
    args = ap.parse_args()
    n = args.n or (1_000_000 if args.smoke else 100_000_000)
    if args.dir is None:  # a file of our own: removed afterwards (the full one is ~2.5 GB)
        with tempfile.TemporaryDirectory(prefix="rw-scale-") as folder:
            return run(args, n, Path(folder))
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    return run(args, n, Path(args.dir))


def run(args: argparse.Namespace, n: int, folder: Path) -> int:
    path = folder / f"scale_{n}.parquet"
    gen_s = generate(path, n) if not path.exists() else 0.0
    print(
        f"file {path.name}: {n} rows x 8 columns, {path.stat().st_size / 2**20:.0f} MiB, written in {gen_s:.1f} s"
    )
    res = ours(path)
    print(f"up: {res['up_s']:.2f} s (first page and the default histogram)")
    print("  interaction              page on screen  count and bars in   message      rows")
    for name, s, done, sent, count, err in res["steps"]:
        print(
            f"  {name:24s} {1000 * s:7.0f} ms {1000 * done:12.0f} ms {sent:8d} B {count:10d}"
            f"{'  error: ' + err if err else ''}"
        )
    times = np.array([s for _, s, _, _, _, _ in res["steps"]])
    done = np.array([d for _, _, d, _, _, _ in res["steps"]])
    p95, biggest = float(np.percentile(times, 95)), max(b for _, _, _, b, _, _ in res["steps"])
    p95_done = float(np.percentile(done, 95))
    errors = [name for name, _, _, _, _, err in res["steps"] if err]
    missed_defects = found_all(res["report"], planted(n))
    print(
        f"interactions p95 {1000 * p95:.0f} ms to the page (max {1000 * times.max():.0f}), "
        f"{1000 * p95_done:.0f} ms to the count and bars; largest message {biggest} bytes; "
        f"peak RSS {res['rss_mb']:.0f} MB; audit {res['audit_s']:.1f} s, planted defects "
        + ("all found" if not missed_defects else "MISSED: " + "; ".join(missed_defects))
    )
    others = "competitors=skipped"
    if not args.no_competitors:
        mine = ours_same_three(path, n)
        rows = [mine, polars_side(path, n), pandas_side(path, n, max_rows=20_000_000)]
        for name, s, r in rows:
            ratio = s / mine[1] * (n / r)  # per row, when a tool only held a slice
            print(
                f"  {name:14s} read + filter/sort/group-by {s:6.2f} s on {r} rows; per row x{ratio:.1f} ours"
            )
        yd = ydata_side(path, min(n, 1_000_000))
        print(f"  {yd}")
        print(f"  {frame_paths(path, n, max_rows=min(n, 10_000_000))}")
        others = (
            " ".join(f"{name.split()[0]}_s={s:.2f}" for name, s, _ in rows)
            + f" {yd.replace(' ', '_')}"
        )
    missed = [f"scripted step failed: {', '.join(errors)}"] if errors else []
    missed += [f"planted defect missed: {m}" for m in missed_defects]
    if not args.smoke:
        for ok, what in (
            (res["up_s"] <= BAR_UP_S, f"up {res['up_s']:.2f}s > {BAR_UP_S}s"),
            (p95 <= BAR_P95_S, f"p95 {p95:.2f}s > {BAR_P95_S}s"),
            (res["rss_mb"] <= BAR_RSS_MB, f"peak RSS {res['rss_mb']:.0f}MB > {BAR_RSS_MB}MB"),
            (biggest <= BAR_BYTES, f"message {biggest} bytes > {BAR_BYTES}"),
            (res["audit_s"] <= BAR_AUDIT_S, f"audit {res['audit_s']:.0f}s > {BAR_AUDIT_S:.0f}s"),
        ):
            if not ok:
                missed.append(what)
    status = "FAIL " + "; ".join(missed) if missed else ("smoke" if args.smoke else "pass")
    print(
        f"RESULT explorer_scale rows={n} up_s={res['up_s']:.2f} p95_ms={1000 * p95:.0f} "
        f"p95_count_ms={1000 * p95_done:.0f} rss_mb={res['rss_mb']:.0f} "
        f"max_message_bytes={biggest} audit_s={res['audit_s']:.1f} {others} {status}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.exit(main())
