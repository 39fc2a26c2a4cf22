"""First use in a fresh kernel: what a person waits for before the first widget or report, each
case in a fresh interpreter (a subprocess), quiet and under each standard load of
``benchmarks/_load.py``, side by side with itables on the same frame in the same run.

    python benchmarks/cold_start.py            # 3 fresh interpreters per case and condition, bars
    python benchmarks/cold_start.py --smoke    # quiet only, 1 per case, no bars (make test)

Cases (each child imports nothing of ours before its clock starts):
  explore   ``import pandas``, a 1,000-row mixed frame (benchmarks/explorer.py's), then timed:
            ``import recipe_widgets; rw.explore(frame)`` and its display bundle, with the state
            of every widget serialized as Jupyter sends it when the comms open (JSON; the
            histogram's own front-end module, ``_esm``, included). "first": that, once, in the
            fresh interpreter; "warm": the same again in the same interpreter. "bytes": all the
            explorer's first messages to the browser together, and the largest of them.
  itables   the same frame, ``import itables; itables.to_html_datatable(frame)``: the HTML a
            notebook gets (DataTables' own JavaScript is loaded from its CDN or from the
            offline bundle ``init_notebook_mode`` sends once: not counted in its bytes).
  check     ``import torch``, a small MLP (13 -> 16 -> 3) on 178 examples and its Adam built by
            the user's code (torch's first optimizer imports torch's compiler stack,
            ``torch._dynamo``: reported apart as ``torch_optim_s``, a cost any training in that
            kernel pays once), then timed: ``import recipe_widgets; rw.check(...)``, then
            the same check again on a fresh copy of the setup (warm, best of 2). Also
            ``rw.check`` with no optimizer given, whose copies train with the checks' own
            Adam (torch's arithmetic, not a ``torch.optim`` object): no ``torch._dynamo``.

Bars (each condition): explore first <= 1.5 s after ``import pandas``, its first messages
< 300 KB in all; check first - warm <= 1.5 s, with the user's optimizer and without one. The last line is ``RESULT cold_start ...``; the
exit status is 1 when a bar is missed (not in --smoke).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _load import CONDITIONS, load  # noqa: E402 - the benchmarks' standard busy machine

BAR_FIRST_S, BAR_BYTES, BAR_CHECK_OVER_S = 1.5, 300_000, 1.5
ROWS = 1000

# Every child prints one JSON line. The frame comes from benchmarks/explorer.py (20 mixed
# columns: floats, ints, a categorical, text, datetimes, NaN), made after `import pandas`.
_FRAME = f"""
import sys, time, json
sys.path[:0] = [{str(HERE)!r}, {str(ROOT)!r}]
t = time.perf_counter()
import numpy as np, pandas as pd
pandas_s = time.perf_counter() - t
from explorer import make_frame
frame = make_frame({ROWS})
"""


def _explore_code() -> str:
    return (
        _FRAME
        + """
t0 = time.perf_counter()
from explorer import Wire  # counts each widget message (JSON + buffers); imports ipywidgets
wire = Wire()
import recipe_widgets as rw
e = rw.explore(frame)
e.open()  # what displaying it does: every widget's comm opens with its state
bundle = e._repr_mimebundle_()
first = time.perf_counter() - t0
sizes = list(wire.sizes)
wire.sizes = []
assert "application/vnd.jupyter.widget-view+json" in bundle and len(e.selection) == len(frame)
t0 = time.perf_counter()
e2 = rw.explore(frame)
e2.open()
e2._repr_mimebundle_()
warm = time.perf_counter() - t0
heavy = sorted(m for m in ("torch", "altair", "vl_convert") if m in sys.modules)
print(json.dumps({"pandas_s": pandas_s, "first": first, "warm": warm, "bytes": sum(sizes),
                  "largest": max(sizes), "messages": len(sizes), "heavy": heavy}))
"""
    )


def _itables_code() -> str:
    return (
        _FRAME
        + """
t0 = time.perf_counter()
import itables
html = itables.to_html_datatable(frame)
first = time.perf_counter() - t0
t0 = time.perf_counter()
itables.to_html_datatable(frame)
warm = time.perf_counter() - t0
print(json.dumps({"pandas_s": pandas_s, "first": first, "warm": warm, "bytes": len(html)}))
"""
    )


def _check_code(with_optimizer: bool) -> str:
    return f"""
import sys, time, json
sys.path.insert(0, {str(ROOT)!r})
import torch
from torch import nn

def setup():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(178, 13, generator=g)
    y = (x[:, :3] + 0.3 * torch.randn(178, 3, generator=g)).argmax(1)  # learnable, 3 classes
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(13, 16), nn.ReLU(), nn.Linear(16, 3))
    s = dict(model=model, data=(x, y), loss_fn=nn.CrossEntropyLoss())
    if {with_optimizer}:
        s["optimizer"] = torch.optim.Adam(model.parameters(), lr=1e-3)
    return s

t0 = time.perf_counter()
s = setup()
setup_s = time.perf_counter() - t0  # the user's own code (their first optimizer included)
t0 = time.perf_counter()
import recipe_widgets as rw
report = rw.check(**s, quiet=True)
first = time.perf_counter() - t0
warm = []
for _ in range(2):
    s = setup()
    t0 = time.perf_counter()
    again = rw.check(**s, quiet=True)
    warm.append(time.perf_counter() - t0)
assert [f.status for f in again] == [f.status for f in report]
print(json.dumps({{"setup_s": setup_s, "first": first, "warm": min(warm)}}))
"""


_TORCH_OPTIM = """
import json, time, torch
t0 = time.perf_counter()
torch.optim.Adam([torch.zeros(1, requires_grad=True)])
print(json.dumps({"first": time.perf_counter() - t0}))
"""


def _child(code: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env=_env(),
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _env() -> dict:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("RW_PROGRESS", "0")
    return env


def _has_itables() -> bool:
    import importlib.util

    return importlib.util.find_spec("itables") is not None


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def run_condition(repeats: int, itables: bool, default_optimizer: bool = True) -> dict:
    """Every case, ``repeats`` fresh interpreters each, interleaved (ours, itables, ours, ...);
    ``default_optimizer=False`` leaves out ``rw.check`` with no optimizer (the slow case)."""
    runs: dict[str, list[dict]] = {"explore": [], "itables": [], "check": [], "check_default": []}
    optim: list[dict] = []
    for _ in range(repeats):
        runs["explore"].append(_child(_explore_code()))
        if itables:
            runs["itables"].append(_child(_itables_code()))
        runs["check"].append(_child(_check_code(with_optimizer=True)))
        if default_optimizer:
            runs["check_default"].append(_child(_check_code(with_optimizer=False)))
            optim.append(_child(_TORCH_OPTIM))
    out = {
        k: {key: _median(v, key) for key in v[0] if key not in ("heavy",)}
        for k, v in runs.items()
        if v
    }
    out["explore"]["heavy"] = sorted({m for r in runs["explore"] for m in r["heavy"]})
    if optim:
        out["torch_optim_s"] = _median(optim, "first")
    return out


def _print(cond: str, r: dict) -> None:
    e, c = r["explore"], r["check"]
    print(f"== {cond}")
    print(
        f"  explore   first {e['first']:5.2f} s  warm {e['warm']:5.2f} s  "
        f"({e['first'] / max(e['warm'], 1e-9):4.1f}x warm; import pandas {e['pandas_s']:.2f} s "
        f"before)  {int(e['bytes'])} bytes in {int(e['messages'])} messages, largest "
        f"{int(e['largest'])}; heavy imports: {', '.join(e['heavy']) or 'none'}"
    )
    if "itables" in r:
        i = r["itables"]
        print(
            f"  itables   first {i['first']:5.2f} s  warm {i['warm']:5.2f} s  {int(i['bytes'])} bytes"
            f"   (ours / itables, first: {e['first'] / max(i['first'], 1e-9):.1f}x)"
        )
    print(
        f"  check     first {c['first']:5.2f} s  warm {c['warm']:5.2f} s  over warm "
        f"{c['first'] - c['warm']:+.2f} s  (the user's setup, their Adam included: {c['setup_s']:.2f} s)"
    )
    if "check_default" not in r:
        return
    d = r["check_default"]
    print(
        f"  check, no optimizer given: first {d['first']:5.2f} s  warm {d['warm']:5.2f} s  over "
        f"warm {d['first'] - d['warm']:+.2f} s (for reference, torch's first optimizer in a "
        f"process: {r['torch_optim_s']:.2f} s; the checks' default Adam is not one)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="one interpreter per case, no bars")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    repeats = 1 if args.smoke else args.repeats
    itables = _has_itables()
    if not itables:
        print("itables: not installed (pip install itables, or the [bench] extra): skipped")
    results, missed = {}, []
    conditions = ("quiet",) if args.smoke else CONDITIONS
    for cond in conditions:
        with load(cond) as what:
            results[cond] = r = run_condition(repeats, itables, default_optimizer=not args.smoke)
        _print(what, r)
        e = r["explore"]
        if e["first"] > BAR_FIRST_S:
            missed.append(f"{cond}: explore first {e['first']:.2f} s > {BAR_FIRST_S} s")
        if e["bytes"] >= BAR_BYTES:
            missed.append(f"{cond}: explore first messages {int(e['bytes'])} B >= {BAR_BYTES}")
        for name in ("check", "check_default"):
            c = r.get(name)
            if c and c["first"] - c["warm"] > BAR_CHECK_OVER_S:
                missed.append(f"{cond}: {name} first - warm {c['first'] - c['warm']:.2f} s")
    for m in missed:
        print(f"  bar missed: {m}")
    q = results["quiet"]
    fields = [
        f"explore_first_s={q['explore']['first']:.2f}",
        f"explore_warm_s={q['explore']['warm']:.2f}",
        f"explore_bytes={int(q['explore']['bytes'])}",
        f"itables_first_s={q['itables']['first']:.2f}" if itables else "itables=skipped",
        f"check_over_warm_s={q['check']['first'] - q['check']['warm']:.2f}",
        "worst_loaded_explore_first_s="
        + f"{max(results[c]['explore']['first'] for c in conditions):.2f}",
    ]
    verdict = "smoke" if args.smoke else ("ok" if not missed else f"MISSED {len(missed)}")
    print(f"RESULT cold_start {' '.join(fields)} {verdict}")
    return 0 if args.smoke or not missed else 1


if __name__ == "__main__":
    sys.exit(main())
