"""The explorer over a 1,000,000-row x 20-column mixed frame, side by side with itables and
ydata-profiling (minimal mode) on the same frame in the same run.

    python benchmarks/explorer.py            # 1,000,000 rows, bars enforced
    python benchmarks/explorer.py --smoke    # 20,000 rows, no bars (make test)

What is timed, on the Python side (the kernel's work; a person waits for it before the browser
can redraw):
- up: ``rw.explore(frame)`` until the widget exists (recipe_widgets imported before; the first
  use in a fresh kernel, imports included, is ``benchmarks/cold_start.py``).
- 20 scripted interactions, as the widget's traits are set by its controls: numeric and
  categorical filter expressions, sorts, a histogram brush, a category pick, an axis change,
  paging; and apart, text searches (substring, regex) and a string sort.
- bytes: every widget message the kernel would send (``Widget._send`` and comm opens, JSON plus
  binary buffers), per update; the largest one.

Bars: up <= 2 s; p95 of the 20 interactions <= 250 ms; each text search / string sort <= 1 s;
no update over 2 MB (the first display, every widget's state with the histogram's own
front-end module, is reported apart). ydata-profiling pins older numpy/pandas, so it runs from its own
environment (``make bench-tools`` builds ``.venv-ydata``) in a subprocess that makes the same
frame from the same seed; its time excludes its imports. itables runs in this process.
Last line ``RESULT explorer ...``; exit 1 when a bar is missed (not in --smoke).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BAR_UP_S, BAR_P95_MS, BAR_TEXT_MS, BAR_BYTES = 2.0, 250.0, 1000.0, 2_000_000
WORDS = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """20 mixed columns: 10 float, 3 int, a categorical, a low-cardinality object column, bool,
    tz-aware datetime, a high-cardinality text column, a hostile-HTML column, floats with NaN."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {f"x{i}": rng.normal(size=n) * (i + 1) for i in range(10)}
    cols.update({f"n{i}": rng.integers(0, 1000, size=n) for i in range(3)})
    cols["cat"] = pd.Categorical(rng.choice(WORDS[:5], size=n))
    cols["kind"] = rng.choice(WORDS, size=n).astype(object)
    cols["flag"] = rng.random(n) < 0.1
    cols["when"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 86400 * 365, size=n), unit="s"
    )
    ids = pd.Series(rng.integers(0, 100_000, size=n)).astype(str)
    cols["text"] = (pd.Series(rng.choice(WORDS, size=n)) + " #" + ids).to_numpy(dtype=object)
    cols["note"] = np.where(rng.random(n) < 0.01, "<img src=x onerror=alert(1)>", "").astype(object)
    cols["score"] = np.where(rng.random(n) < 0.05, np.nan, rng.random(n))
    return pd.DataFrame(cols)


class Wire:
    """Counts what the widgets would send to the browser (no kernel here: measured, not sent)."""

    def __init__(self) -> None:
        import ipywidgets as W

        self.sizes: list[int] = []
        send, open_ = W.Widget._send, W.Widget.open

        def counted_send(widget, msg, buffers=None):  # type: ignore[no-untyped-def]
            self.sizes.append(
                len(json.dumps(msg, default=str)) + sum(len(memoryview(b)) for b in buffers or ())
            )
            return send(widget, msg, buffers)

        def counted_open(widget):  # type: ignore[no-untyped-def]
            if widget.comm is None:
                self.sizes.append(len(json.dumps(widget.get_state(), default=str)))
            return open_(widget)

        W.Widget._send, W.Widget.open = counted_send, counted_open

    def take(self) -> int:
        total, self.sizes = sum(self.sizes), []
        return total


def interactions(
    ex, frame: pd.DataFrame
) -> tuple[list[tuple[str, callable]], list[tuple[str, callable]]]:
    lo, hi = float(frame["x5"].quantile(0.3)), float(frame["x5"].quantile(0.6))
    fast = [
        ("filter x0 > 0.5 and n1 < 500", lambda: setattr(ex, "expr", "x0 > 0.5 and n1 < 500")),
        ("filter cat == 'beta'", lambda: setattr(ex, "expr", "cat == 'beta'")),
        (
            "filter flag and score > 0.9",
            lambda: setattr(ex, "expr", "flag == true and score > 0.9"),
        ),
        ("filter kind in a list", lambda: setattr(ex, "expr", "kind in ('eta', 'zeta')")),
        ("clear filter", lambda: setattr(ex, "expr", "")),
        ("sort x3", lambda: setattr(ex, "sort_by", "x3")),
        ("sort largest first", lambda: setattr(ex, "descending", True)),
        ("sort n2", lambda: setattr(ex, "sort_by", "n2")),
        ("sort when", lambda: setattr(ex, "sort_by", "when")),
        ("sort cat", lambda: setattr(ex, "sort_by", "cat")),
        ("no sort", lambda: setattr(ex, "sort_by", "")),
        ("axis x5", lambda: setattr(ex, "axis", "x5")),
        ("brush x5", lambda: setattr(ex, "brush", (lo, hi))),
        ("next page", lambda: ex._turn(+1)),
        ("filter x1 < 0 with brush", lambda: setattr(ex, "expr", "x1 < 0")),
        ("axis kind", lambda: setattr(ex, "axis", "kind")),
        ("pick kind beta", lambda: setattr(ex, "picked", ("beta",))),
        ("pick two kinds", lambda: setattr(ex, "picked", ("beta", "eta"))),
        ("page 5", lambda: setattr(ex, "page", 5)),
        ("clear all", lambda: (setattr(ex, "picked", ()), setattr(ex, "expr", ""))),
    ]
    text = [
        ("search 'gamma #12'", lambda: setattr(ex, "search", "gamma #12")),
        ("search '<img'", lambda: setattr(ex, "search", "<img")),
        (
            "regex ^zeta #9\\d$",
            lambda: (
                setattr(ex, "search", ""),
                setattr(ex, "regex", True),
                setattr(ex, "search", r"^zeta #9\d$"),
            ),
        ),
        ("sort text", lambda: (setattr(ex, "search", ""), setattr(ex, "sort_by", "text"))),
        ("sort kind", lambda: setattr(ex, "sort_by", "kind")),
    ]
    return fast, text


def ours(frame: pd.DataFrame) -> dict:
    import recipe_widgets as rw
    import recipe_widgets.widgets._explore  # import the package before timing

    wire = Wire()
    t0 = time.perf_counter()
    ex = rw.explore(frame)
    ex.open()  # what displaying it does: every widget's comm opens with its state
    up_s = time.perf_counter() - t0
    up_bytes = wire.take()
    fast, text = interactions(ex, frame)
    out = {"up_s": up_s, "up_bytes": up_bytes, "fast": [], "text": []}
    for kind, steps in (("fast", fast), ("text", text)):
        for name, step in steps:
            t0 = time.perf_counter()
            step()
            ms = 1000 * (time.perf_counter() - t0)
            sent = wire.take()
            out[kind].append((name, ms, sent, len(ex.selection), ex.error))
    return out


def itables_time(frame: pd.DataFrame) -> str:
    try:
        import itables
    except ImportError:
        return "itables: not installed (pip install itables)"
    t0 = time.perf_counter()
    html = itables.to_html_datatable(frame)
    s = time.perf_counter() - t0
    import re

    dropped = re.search(r'"filtered_row_count":\s*(\d+)', html)  # rows itables left out of the page
    shown = len(frame) - int(dropped.group(1)) if dropped else len(frame)
    return f"itables_s={s:.2f} itables_bytes={len(html)} itables_rows_kept={shown}"


def ydata_time(n: int) -> str:
    venv = ROOT / ".venv-ydata" / "bin" / "python"
    if not venv.exists():
        return "ydata=not-installed(make bench-tools)"
    code = (
        f"import sys,time; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); from explorer import make_frame; "
        f"from ydata_profiling import ProfileReport; f = make_frame({n}); t = time.perf_counter(); "
        "r = ProfileReport(f, minimal=True, progress_bar=False); r.get_description(); "
        "d = time.perf_counter() - t; r.to_html(); print('YDATA', d, time.perf_counter() - t)"
    )
    try:
        proc = subprocess.run([str(venv), "-c", code], capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return "ydata=timeout(1800s)"
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("YDATA")), None)
    if line is None:
        return f"ydata=failed({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode})"
    _, describe, total = line.split()
    return f"ydata_minimal_s={float(total):.1f} ydata_describe_s={float(describe):.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="20,000 rows, no bars")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--no-competitors", action="store_true")
    args = ap.parse_args()
    n = args.n or (20_000 if args.smoke else 1_000_000)
    frame = make_frame(n)
    res = ours(frame)
    print(
        f"frame {frame.shape}, {frame.memory_usage(deep=True).sum() / 2**20:.0f} MiB; "
        f"up: {res['up_s']:.2f} s, {res['up_bytes']} bytes to the browser (once: every widget's "
        "state, the histogram's own module included)"
    )
    for kind in ("fast", "text"):
        for name, ms, sent, rows, err in res[kind]:
            print(
                f"  {kind:4s} {name:28s} {ms:7.0f} ms {sent:8d} bytes {rows:8d} rows{'  error: ' + err if err else ''}"
            )
    fast_ms = np.array([r[1] for r in res["fast"]])
    text_ms = np.array([r[1] for r in res["text"]])
    p95 = float(np.percentile(fast_ms, 95))
    worst_text = float(text_ms.max())
    biggest = max(r[2] for r in res["fast"] + res["text"])
    errors = [r[0] for r in res["fast"] + res["text"] if r[4]]
    print(
        f"interactions p95 {p95:.0f} ms (max {fast_ms.max():.0f}); text search / string sort max {worst_text:.0f} ms; "
        f"largest update {biggest} bytes"
    )
    others = "competitors=skipped"
    if not args.no_competitors:
        it = itables_time(frame)
        yd = ydata_time(n)
        print(it)
        print(yd)
        others = f"{it} {yd}"
    missed = [f"scripted step failed: {', '.join(errors)}"] if errors else []
    if not args.smoke:
        if res["up_s"] > BAR_UP_S:
            missed.append(f"up {res['up_s']:.2f}s > {BAR_UP_S}s")
        if p95 > BAR_P95_MS:
            missed.append(f"p95 {p95:.0f}ms > {BAR_P95_MS:.0f}ms")
        if worst_text > BAR_TEXT_MS:
            missed.append(f"text {worst_text:.0f}ms > {BAR_TEXT_MS:.0f}ms")
        if biggest > BAR_BYTES:
            missed.append(f"update {biggest} bytes > {BAR_BYTES}")
    status = "FAIL " + "; ".join(missed) if missed else ("smoke" if args.smoke else "pass")
    print(
        f"RESULT explorer rows={n} up_s={res['up_s']:.2f} up_bytes={res['up_bytes']} p95_ms={p95:.0f} text_max_ms={worst_text:.0f} "
        f"max_update_bytes={biggest} {others} {status}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
