"""rw.watch's live panel side by side with trainplot and livelossplot, in a real headless kernel.

    python benchmarks/live_plot.py            # 2,000 steps, 7 interleaved repeats, bars enforced
    python benchmarks/live_plot.py --smoke    # 300 steps, 1 repeat, no bars (make test)

Everything runs inside one Jupyter kernel started by nbclient's kernel manager (as in a
notebook, with IPython's display machinery and widget comms live), so each tool pays the cost it
pays for a user. Measured, as medians of interleaved repeats:

  1. a small MLP's 2,000-step loop, logging the loss every step: bare, with ``rw.watch`` (panel
     displayed) and with trainplot; the time each adds through the end of the loop / ``with``
     block. Bars: rw adds <= 5% of the bare loop and <= 1/4 of what trainplot adds. The panel
     must really be fed: at least one append message per 200 ms of loop time.
  2. livelossplot, which redraws a matplotlib figure per logged step: its cost per logged step
     over a few sends (a 2,000-step run would take minutes), as a multiple of one bare step.
  3. a small CNN's loop with the watch's default stats on (``display=False``): overhead bar 10%.

The last line is ``RESULT live_plot ...``; exit status 1 when a bar is missed (not in --smoke).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from jupyter_client.manager import start_new_kernel

SETUP = """
import os, statistics, time, warnings
os.environ["RW_PROGRESS"] = "0"
warnings.filterwarnings("ignore")
import torch
from torch import nn
torch.set_num_threads(1)
import recipe_widgets as rw
from recipe_widgets.widgets._live_plot import shared_bundle
shared_bundle()  # built and sent once per kernel; not part of any loop's cost

torch.manual_seed(0)
X = torch.randn(256, 32)
Y = (X[:, :4].sum(1) > 0).long()

def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))

def cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(256, 10))

IMG = torch.randn(64, 1, 16, 16)
LBL = torch.randint(0, 10, (64,))

def loop(model, steps, log=None, x=X, y=Y, batch=32):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    n = len(x)
    for i in range(steps):
        j = (i * batch) % n
        xb, yb = x[j:j + batch], y[j:j + batch]
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(); loss.backward(); opt.step()
        if log is not None:
            log(i, loss)
    return opt

def clocks():
    return time.perf_counter(), time.process_time()  # wall, and CPU of every kernel thread

def since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]

def bare(steps):
    t = clocks(); loop(mlp(), steps); return since(t), 0

def with_rw(steps):
    model = mlp()
    t = clocks()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    with rw.watch(model, opt) as w:
        for i in range(steps):
            j = (i * 32) % 256
            loss = nn.functional.cross_entropy(model(X[j:j + 32]), Y[j:j + 32])
            opt.zero_grad(); loss.backward(); opt.step()
            w.log(loss=loss)
    return since(t), w.plot.messages_sent

def with_trainplot(steps):
    from trainplot import TrainPlot
    t = clocks()
    tp = TrainPlot()
    loop(mlp(), steps, log=lambda i, loss: tp(loss=loss.item()))
    tp.close()
    return since(t), 0

def livelossplot_per_send(sends):
    import matplotlib
    matplotlib.use("agg")
    from livelossplot import PlotLosses
    from livelossplot.outputs import MatplotlibPlot
    pl = PlotLosses(outputs=[MatplotlibPlot()])
    times = []
    for i in range(sends):
        t = time.perf_counter()
        pl.update({"loss": 1.0 / (i + 1)})
        pl.send()
        times.append(time.perf_counter() - t)
    return statistics.median(times)

def cnn_bare(steps):
    t = time.perf_counter(); loop(cnn(), steps, x=IMG, y=LBL); return time.perf_counter() - t

def cnn_watched(steps):
    model = cnn()
    t = time.perf_counter()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    with rw.watch(model, opt, display=False) as w:
        for i in range(steps):
            j = (i * 32) % 64
            loss = nn.functional.cross_entropy(model(IMG[j:j + 32]), LBL[j:j + 32])
            opt.zero_grad(); loss.backward(); opt.step()
            w.log(loss=loss)
    return time.perf_counter() - t
"""


class Kernel:
    """A headless python3 kernel; ``run(code)`` returns what the code printed (JSON here)."""

    def __init__(self) -> None:
        self.km, self.kc = start_new_kernel(kernel_name="python3")

    def run(self, code: str, timeout: float = 600) -> str:
        out: list[str] = []

        def keep(msg: dict) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=keep)
        if reply["content"]["status"] != "ok":
            raise RuntimeError("kernel error:\n" + "".join(out))
        return "".join(out)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="short run, no bars (make test)")
    ap.add_argument("--repeats", type=int, default=9, help="interleaved repeats (at least 7)")
    args = ap.parse_args()
    steps, repeats, sends, cnn_steps = (300, 1, 3, 60) if args.smoke else (2000, max(7, args.repeats), 10, 300)

    kernel = Kernel()
    try:
        kernel.run(SETUP)
        kernel.run("bare(50); with_rw(50); with_trainplot(50); cnn_bare(20); cnn_watched(20)")  # warm up
        measure = textwrap.dedent(f"""
            import json
            res = {{"bare": [], "rw": [], "trainplot": [], "rw_msgs": [], "cnn_bare": [], "cnn_rw": []}}
            for _ in range({repeats}):
                res["bare"].append(bare({steps})[0])
                t, m = with_rw({steps}); res["rw"].append(t); res["rw_msgs"].append(m)
                res["trainplot"].append(with_trainplot({steps})[0])  # each: [wall s, CPU s]
                res["cnn_bare"].append(cnn_bare({cnn_steps}))
                res["cnn_rw"].append(cnn_watched({cnn_steps}))
            res["livelossplot_send"] = livelossplot_per_send({sends})
            print(json.dumps(res))
        """)
        res = json.loads(kernel.run(measure).strip().splitlines()[-1])
    finally:
        kernel.close()

    def med(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    def added(key: str, clock: int) -> float:
        """Median over repeats of what a tool adds to the bare loop run just before it: pairs
        taken minutes apart would fold the machine's drift into the figure."""
        return med([run[clock] / base[clock] - 1 for run, base in zip(res[key], res["bare"])])

    bare = med([b[0] for b in res["bare"]])
    rw_over, tp_over = added("rw", 0), added("trainplot", 0)
    rw_cpu, tp_cpu = added("rw", 1), added("trainplot", 1)
    step_s = bare / steps
    msgs_per_s = med([m / r[0] for m, r in zip(res["rw_msgs"], res["rw"])])
    cnn_overhead = med([w / b - 1 for w, b in zip(res["cnn_rw"], res["cnn_bare"])])
    llp_steps = res["livelossplot_send"] / step_s
    ratio = rw_over / tp_over if tp_over > 0 else float("nan")
    print(f"bare loop: {steps} steps in {bare:.3f} s ({step_s * 1e3:.2f} ms/step), median of {repeats}")
    print(f"rw.watch (panel shown): +{rw_over:.1%} wall (+{rw_cpu:.1%} CPU) of the bare loop; "
          f"{msgs_per_s:.1f} append messages/s")
    print(f"trainplot:             +{tp_over:.1%} wall (+{tp_cpu:.1%} CPU) of the bare loop")
    print(f"rw adds {ratio:.2f}x what trainplot adds (trainplot runs no checks: it plots)")
    print(f"livelossplot: {res['livelossplot_send'] * 1e3:.0f} ms per logged step = {llp_steps:.0f}x a bare step")
    print(f"small CNN with default stats (display=False): +{cnn_overhead:.1%}")
    bars = {
        "rw_overhead<=5%": rw_over <= 0.05,
        "rw<=trainplot/4": rw_over <= 0.25 * max(tp_over, 0.0),
        "fed>=5msg/s": msgs_per_s >= 5.0,
        "cnn_overhead<=10%": cnn_overhead <= 0.10,
    }
    missed = [k for k, ok in bars.items() if not ok]
    print(
        f"RESULT live_plot steps={steps} repeats={repeats} rw_overhead={rw_over:.3f} rw_cpu_overhead={rw_cpu:.3f} "
        f"trainplot_overhead={tp_over:.3f} trainplot_cpu_overhead={tp_cpu:.3f} rw_vs_trainplot={ratio:.3f} "
        f"livelossplot_x_step={llp_steps:.0f} append_msgs_per_s={msgs_per_s:.1f} cnn_overhead={cnn_overhead:.3f} "
        f"missed={','.join(missed) or 'none'}"
    )
    if args.smoke:
        return 0
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
