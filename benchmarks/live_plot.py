"""rw.watch's live panel side by side with trainplot and livelossplot, in a real headless kernel.

    python benchmarks/live_plot.py            # 2,000 steps, 9 repeats, bars enforced
    python benchmarks/live_plot.py --smoke    # 300 steps, 1 repeat, no bars (make test)
    python benchmarks/live_plot.py --parts    # where rw.watch's time goes: w.log, stats, panel
    python benchmarks/live_plot.py --parts --load "python load"   # the same, under a load

Everything runs inside one Jupyter kernel started by nbclient's kernel manager (as in a
notebook, with IPython's display machinery and widget comms live), so each tool pays the cost it
pays for a user.

How the time a tool adds is measured: a bare model and an instrumented twin train side by side,
their steps interleaved one by one (which of the two goes first alternates), each step timed on
its own. On this shared 2-core machine two consecutive whole 3-second loops differ by 5-10% with
nothing changed (an A/A run of whole loops shows it), which is more than the bars; interleaving
step by step puts both loops under the same conditions, so that drift cancels. The instrumented
loop's total includes creating the tool, the whole ``with`` block (enter and exit: the final
flush, findings and plot) and every ``w.log``. The A/A pair (two bare twins) is run too and
printed: it is the method's own error. Figures are medians over interleaved repeats.

  1. a small MLP's 2,000-step loop, logging the loss every step, with ``rw.watch`` (panel
     displayed) and with trainplot, quiet and under each standard load of
     ``benchmarks/_load.py`` (the kernel shares the machine with it). Bars, in every condition:
     rw adds <= 5% of the bare loop, and less than trainplot adds. The panel must really be
     fed: at least one append message per 200 ms of the ``with`` block's wall time (quiet).
     Under load it sends fewer, as its send budget allows (``LivePlot``: sending takes at most
     0.3% of the loop's wall time, never under one message a second); the rate is printed.
     trainplot (0.4.1, defaults) redraws at most every 0.1 s, each redraw two state updates and
     a render message, and runs no checks: it only plots.
  2. livelossplot, which redraws a matplotlib figure per logged step: its cost per logged step
     over a few sends (a 2,000-step run would take minutes), as a multiple of one bare step.
  3. a small CNN's loop with the watch's default stats on (``display=False``): overhead bar 10%.
  4. what bar 1's feeding requirement costs by itself: a bare widget that sends an empty message
     every 200 ms and does nothing else. Each message costs the loop about a millisecond,
     whatever it carries (most likely the kernel's IOPub thread and the loop taking turns with
     the GIL).

The last line is ``RESULT live_plot ...``; exit status 1 when a bar is missed (not in --smoke).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from jupyter_client.manager import start_new_kernel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import CONDITIONS, load

SETUP = """
import os, statistics, time, warnings
os.environ["RW_PROGRESS"] = "0"
warnings.filterwarnings("ignore")
import torch
from torch import nn
torch.set_num_threads(1)
import anywidget
from IPython.display import display
import recipe_widgets as rw
from recipe_widgets.widgets._watch_plot import shared_bundle

class Quiet(anywidget.AnyWidget):
    _esm = "export default { render() {} };"
shared_bundle()  # built and sent once per kernel; not part of any loop's cost

torch.manual_seed(0)
X = torch.randn(256, 32)
Y = (X[:, :4].sum(1) > 0).long()
IMG = torch.randn(64, 1, 16, 16)
LBL = torch.randint(0, 10, (64,))

def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))

def cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(256, 10))

def attach(kind, model, opt):
    '''The tool around one loop: (log(loss), close()) and a count of messages it sent.'''
    if kind in ("rw", "rw_hidden", "rw_nostats"):  # nostats: samples only the first 3 steps
        ctx = rw.watch(model, opt, display=kind == "rw", stats_every=10**9 if kind == "rw_nostats" else 25)
        w = ctx.__enter__()
        return (lambda loss: w.log(loss=loss)), (lambda: ctx.__exit__(None, None, None)), \\
            (lambda: getattr(getattr(w, "plot", None), "messages_sent", 0))
    if kind == "trainplot":
        from trainplot import TrainPlot
        tp = TrainPlot()
        return (lambda loss: tp(loss=loss.item())), tp.close, (lambda: 0)
    if kind == "floor":  # the fed bar's own price: an empty widget message every 200 ms, no data
        widget = Quiet()
        display(widget)
        last = [time.monotonic()]
        def send(loss, mono=time.monotonic):
            now = mono()
            if now - last[0] >= 0.2:
                last[0] = now
                widget.send({})
        return send, widget.close, (lambda: 0)
    return None, (lambda: None), (lambda: 0)  # "aa": a second bare twin

def paired(kind, steps, make=mlp, x=X, y=Y, batch=32):
    '''Seconds of the bare twin and of the instrumented twin, steps interleaved one by one;
    and the instrumented loop's messages per second of its wall time (tool created to closed).'''
    pc = time.perf_counter
    bare, model = make(), make()
    t = pc(); bare_opt = torch.optim.Adam(bare.parameters(), 1e-3); t_bare = pc() - t
    start = t = pc()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    log, close, sent = attach(kind, model, opt)
    t_tool = pc() - t
    n = len(x)
    for i in range(steps):
        j = (i * batch) % n
        xb, yb = x[j:j + batch], y[j:j + batch]
        for instrumented in ((False, True) if i % 2 == 0 else (True, False)):
            t = pc()
            if instrumented:
                loss = nn.functional.cross_entropy(model(xb), yb)
                opt.zero_grad(); loss.backward(); opt.step()
                if log is not None:
                    log(loss)
                t_tool += pc() - t
            else:
                loss = nn.functional.cross_entropy(bare(xb), yb)
                bare_opt.zero_grad(); loss.backward(); bare_opt.step()
                t_bare += pc() - t
    t = pc()
    close()
    end = pc()
    t_tool += end - t
    return t_bare, t_tool, sent() / (end - start)

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


def parts(repeats: int) -> int:
    """Where rw.watch's time goes: the same twin measurement with the panel and then the
    sampled statistics switched off (w.log and the step counter are what remains)."""
    kinds = ("rw", "rw_hidden", "rw_nostats")
    kernel = Kernel()
    try:
        kernel.run(SETUP)
        kernel.run(f"for k in {kinds!r}: paired(k, 50)")
        res = json.loads(
            kernel.run(
                textwrap.dedent(f"""
            import json
            res = {{k: [] for k in {kinds!r}}}
            for r in range({repeats}):
                for kind in ({kinds!r} if r % 2 == 0 else {kinds[::-1]!r}):
                    bare, tool, _ = paired(kind, 2000)
                    res[kind].append(tool / bare - 1)
            print(json.dumps(res))
        """)
            )
            .strip()
            .splitlines()[-1]
        )
    finally:
        kernel.close()
    med = {k: sorted(v)[len(v) // 2] for k, v in res.items()}
    print(f"w.log and the step counter:  {med['rw_nostats']:+.2%}")
    print(f"sampled statistics:          {med['rw_hidden'] - med['rw_nostats']:+.2%}")
    print(f"the live panel:              {med['rw'] - med['rw_hidden']:+.2%}")
    print(
        f"RESULT live_plot_parts repeats={repeats} "
        + " ".join(f"{k}={v:.4f}" for k, v in med.items())
    )
    return 0


def _loaded(kernel: Kernel, steps: int, repeats: int) -> dict:
    """The A/A pair, rw.watch and trainplot, interleaved as in the quiet run, under the load
    that is on now (the kernel shares the machine with it)."""
    measure = textwrap.dedent(f"""
        import json
        res = {{"aa": [], "rw": [], "trainplot": []}}
        for r in range({repeats}):
            for kind in (("rw", "trainplot", "aa") if r % 2 == 0 else ("aa", "trainplot", "rw")):
                res[kind].append(paired(kind, {steps}))
        print(json.dumps(res))
    """)
    return json.loads(kernel.run(measure).strip().splitlines()[-1])


def _med(values: list[float]) -> float:
    s = sorted(values)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def _added(res: dict, key: str) -> float:
    return _med([tool / bare - 1 for bare, tool, _ in res[key]])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="short run, no bars (make test)")
    ap.add_argument("--repeats", type=int, default=9, help="interleaved repeats (at least 7)")
    ap.add_argument(
        "--parts", action="store_true", help="only: where rw.watch's time goes (no bars)"
    )
    ap.add_argument(
        "--load", choices=CONDITIONS, default="quiet", help="with --parts: the condition"
    )
    args = ap.parse_args()
    if args.parts:
        with load(args.load) as what:
            print(f"-- {what}")
            return parts(max(3, args.repeats))
    steps, repeats, sends, cnn_steps = (
        (300, 1, 3, 60) if args.smoke else (2000, max(7, args.repeats), 10, 300)
    )
    conditions = CONDITIONS[:1] if args.smoke else CONDITIONS

    kernel = Kernel()
    loaded: dict[str, dict] = {}
    try:
        kernel.run(SETUP)
        kernel.run(
            "for k in ('aa', 'rw', 'trainplot', 'floor'): paired(k, 50)\npaired('rw_hidden', 20, cnn, IMG, LBL)"
        )
        measure = textwrap.dedent(f"""
            import json
            res = {{"aa": [], "rw": [], "trainplot": [], "floor": [], "cnn": []}}
            for r in range({repeats}):
                for kind in (("rw", "trainplot", "floor", "aa") if r % 2 == 0 else ("aa", "floor", "trainplot", "rw")):
                    res[kind].append(paired(kind, {steps}))  # [bare s, tool s, messages/s]
                res["cnn"].append(paired("rw_hidden", {cnn_steps}, cnn, IMG, LBL))
            res["livelossplot_send"] = livelossplot_per_send({sends})
            print(json.dumps(res))
        """)
        res = json.loads(kernel.run(measure).strip().splitlines()[-1])
        for cond in conditions[1:]:
            with load(cond) as what:
                print(f"-- {what}", flush=True)
                loaded[cond] = _loaded(kernel, steps, repeats)
    finally:
        kernel.close()

    bare = _med([b for b, _, _ in res["aa"] + res["rw"] + res["trainplot"]])
    step_s = bare / steps
    aa, rw_over, tp_over = _added(res, "aa"), _added(res, "rw"), _added(res, "trainplot")
    cnn_overhead, floor = _added(res, "cnn"), _added(res, "floor")
    msgs_per_s = _med([m for _, _, m in res["rw"]])
    llp_steps = res["livelossplot_send"] / step_s
    ratio = rw_over / tp_over if tp_over > 0 else float("nan")
    spread = max(t / b - 1 for b, t, _ in res["aa"]) - min(t / b - 1 for b, t, _ in res["aa"])
    print(
        f"bare loop: {steps} steps in {bare:.3f} s ({step_s * 1e3:.2f} ms/step), median of {repeats} repeats"
    )
    print(
        f"A/A (two bare twins): {aa:+.2%} (spread over repeats {spread:.2%}): the method's own error"
    )
    print(
        f"rw.watch (panel shown): {rw_over:+.2%} of the bare loop; {msgs_per_s:.1f} append messages/s"
    )
    print(f"trainplot:              {tp_over:+.2%} of the bare loop")
    print(f"rw adds {ratio:.2f}x what trainplot adds (trainplot runs no checks: it plots)")
    print(
        f"the fed bar alone (a widget sending an empty message every 200 ms, nothing else): {floor:+.2%} "
        f"= {floor / tp_over if tp_over > 0 else float('nan'):.2f}x what trainplot adds"
    )
    print(
        f"livelossplot: {res['livelossplot_send'] * 1e3:.0f} ms per logged step = {llp_steps:.0f}x a bare step"
    )
    print(f"small CNN with default stats (display=False): {cnn_overhead:+.2%}")
    over = {"quiet": (rw_over, tp_over)}
    for cond, r in loaded.items():
        over[cond] = (_added(r, "rw"), _added(r, "trainplot"))
        b = _med([x for x, _, _ in r["aa"] + r["rw"] + r["trainplot"]]) / steps
        rate = _med([m for _, _, m in r["rw"]])
        print(
            f"{cond}: bare {b * 1e3:.2f} ms/step; A/A {_added(r, 'aa'):+.2%}; rw.watch "
            f"{over[cond][0]:+.2%} ({rate:.1f} append messages/s); trainplot {over[cond][1]:+.2%}"
        )
    bars = {"fed>=5msg/s": msgs_per_s >= 5.0, "cnn_overhead<=10%": cnn_overhead <= 0.10}
    for cond, (rw_c, tp_c) in over.items():
        tag = cond.replace(" ", "_")
        bars[f"rw_overhead<=5%[{tag}]"] = rw_c <= 0.05
        bars[f"rw<trainplot[{tag}]"] = rw_c < tp_c
    missed = [k for k, ok in bars.items() if not ok]
    loads = " ".join(
        f"{c.replace(' ', '_')}_rw={o[0]:.4f} {c.replace(' ', '_')}_trainplot={o[1]:.4f}"
        for c, o in over.items()
        if c != "quiet"
    )
    print(
        f"RESULT live_plot steps={steps} repeats={repeats} aa={aa:.4f} rw_overhead={rw_over:.4f} "
        f"trainplot_overhead={tp_over:.4f} rw_vs_trainplot={ratio:.3f} livelossplot_x_step={llp_steps:.0f} "
        f"append_msgs_per_s={msgs_per_s:.1f} cnn_overhead={cnn_overhead:.4f} fed_floor={floor:.4f} "
        f"{loads + ' ' if loads else ''}missed={','.join(missed) or 'none'}"
    )
    if args.smoke:
        return 0
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
