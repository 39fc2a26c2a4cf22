"""Peak memory of rw.check as a multiple of the model-plus-optimizer size, beside one plain step.

    python benchmarks/check_memory.py            # ~12M parameters, Adam
    python benchmarks/check_memory.py --width 1024 --depth 4
    python benchmarks/check_memory.py --smoke    # a small model, no bar (make test)

Each measurement runs in a fresh process: build the model, take one Adam step (so the
optimizer state exists) and import the kit, read the resident set size, then run either one
more plain training step or a full ``rw.check`` while a thread samples the resident set size
every 2 ms (the report's own ``cost:`` line, measured inside ``rw.check``, is printed beside
it). The extra memory (peak minus the RSS before) is printed in MiB and as a multiple of the model's
parameters plus its Adam state (3x the parameter bytes). The bar of issue #16: ``rw.check``
at most 3x (one working copy, one snapshot, scratch). CPU only; the last line is
``RESULT check_memory ...`` and the exit status is 1 when the bar is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, os, sys, time
sys.path.insert(0, {root!r})
os.environ["RW_PROGRESS"] = "0"
import torch
from torch import nn
torch.set_num_threads(1)
width, depth, what = {width}, {depth}, {what!r}
torch.manual_seed(0)
layers = [nn.Linear(64, width), nn.ReLU()]
for _ in range(depth):
    layers += [nn.Linear(width, width), nn.ReLU()]
model = nn.Sequential(*layers, nn.Linear(width, 10))
x = torch.randn(256, 64)
y = torch.randint(0, 10, (256,))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()

def step():
    opt.zero_grad()
    loss_fn(model(x[:32]), y[:32]).backward()
    opt.step()

step()
import recipe_widgets as rw  # imported before the baseline: its modules are not the check's cost
import recipe_widgets.engine.check
import threading
size = sum(p.numel() * p.element_size() for p in model.parameters())
state = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values()
            if torch.is_tensor(t))
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = rss()
peak = [before]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
t0 = time.perf_counter()
said = ""
if what == "step":
    step()
else:
    report = rw.check(model, (x, y), loss_fn, optimizer=opt, quiet=True,
                      thresholds={{"overfit_steps": 30, "decrease_steps": 20, "baseline_steps": 20}})
    said = str(report).splitlines()[-1]
seconds = time.perf_counter() - t0
done.set()
sampler.join()
peak = max(peak[0], rss())
print(json.dumps({{"what": what, "params": size, "state": state, "before": before,
                  "peak": peak, "seconds": seconds, "said": said}}))
"""


def _measure(what: str, width: int, depth: int) -> dict:
    code = _CHILD.format(root=str(ROOT), width=width, depth=depth, what=what)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=11)
    ap.add_argument("--smoke", action="store_true", help="a small model, the bar not enforced")
    args = ap.parse_args()
    if args.smoke:
        args.width, args.depth = 256, 2
    rows = [_measure(w, args.width, args.depth) for w in ("step", "check")]
    unit = rows[0]["params"] + rows[0]["state"]  # model + optimizer state
    print(
        f"model {rows[0]['params'] / 2**20:.0f} MiB + Adam state {rows[0]['state'] / 2**20:.0f} MiB"
    )
    multiples = {}
    for r in rows:
        extra = max(0, r["peak"] - r["before"])
        multiples[r["what"]] = extra / unit
        print(
            f"{r['what']:>6}: extra peak {extra / 2**20:7.0f} MiB = {extra / unit:4.2f}x"
            f" model+optimizer, {r['seconds']:.1f} s"
        )
        if r["said"]:
            print(f"        the report's own line: {r['said']}")
    ok = multiples["check"] <= 3.0
    verdict = "smoke" if args.smoke else f"bar<=3x {'ok' if ok else 'MISSED'}"
    print(
        f"RESULT check_memory check={multiples['check']:.2f}x step={multiples['step']:.2f}x"
        f" {verdict}"
    )
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
