"""rw.check side by side with neural-net-checklist, on the same setups, in the same run.

    python benchmarks/check_suite.py            # 3 seeds x 2 widths, bars enforced
    python benchmarks/check_suite.py --smoke    # one seed, one width, no bars (make test)

Measures (ratios, not absolute times: the machine is shared):
  1. the full rw.check on each reference setup, quiet and under each standard load of
     ``benchmarks/_load.py`` (another multithreaded torch process; one busy Python process per
     core), the peer on the same setups under the same load: wall time (the median of three
     runs for a setup under 2.5 s, of five under 1 s) and no fail / no warn. Bars: under load at
     most 2x the quiet time, or 1.25x the slowdown the same load causes a plain one-thread
     training loop where that is larger (see ``LOADED_BAR``; the loop runs right after each run
     of the check, for as long as that setup's check took quiet); never 20 s or more;
     worst/best over seeds within 3x. Then the measurement behind running the checks on one
     intra-op thread: rw.check at torch's default count over its time on one thread, per
     condition;
  2. batch independence on all B=64 examples of the digits CNN: the batched probe against one
     training step (bar: <= 3x) and against the naive loop of B backward passes (bar: >= 5x
     faster), interleaved repeats, medians;
  3. neural-net-checklist (pip install --no-deps neural-net-checklist) on the same clean setups
     and on one broken setup per catalogued bug: its time, and which bugs each tool catches.
The last line is ``RESULT check_suite ...``; the exit status is 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import io
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")  # the peer's progress bars would flood the table

from recipe_widgets.engine.check import _structure, check  # noqa: E402 - after sys.path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import CONDITIONS, load  # noqa: E402 - the benchmarks' standard busy machine


def _load_setups():
    """The reference setups of the unit tests (tests/engine/conftest.py), one definition."""
    spec = importlib.util.spec_from_file_location(
        "rw_check_setups", ROOT / "tests/engine/conftest.py"
    )
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


S = _load_setups()


def _reference(smoke: bool) -> list[tuple[str, dict]]:
    seeds = [0] if smoke else [0, 1, 2]
    out = []
    for seed in seeds:
        for small, big in [(16, 16)] if smoke else [(16, 64)]:
            for width in dict.fromkeys((small, big)):
                out += [
                    (f"wine-mlp w{width} s{seed}", S.tabular("wine", width, seed)),
                    (f"cancer-mlp w{width} s{seed}", S.tabular("breast_cancer", width, seed)),
                    (f"digits-cnn w{width // 2} s{seed}", S.digits(width // 2, seed)),
                    (f"seq-gru w{width + 8} s{seed}", S.sequence(width + 8, seed)),
                    (f"diabetes-reg w{width} s{seed}", S.regression(width, seed)),
                ]
    return out


# ---------------------------------------------------------------------------- broken setups
class MixesBatch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn, self.head = nn.GRU(3, 8), nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, F)
        b, t, f = x.shape
        h, _ = self.rnn(x.view(t, b, f))  # bug: view where permute(1, 0, 2) was meant
        return self.head(h[-1])


class Unmasked(nn.Module):
    causal = True

    def __init__(self, vocab: int = 8, width: int = 16) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, width)
        self.block = nn.TransformerEncoderLayer(width, 2, 32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.emb(ids)))  # bug: no causal mask


def _bugs() -> list[tuple[str, dict, list[str]]]:
    """(bug, rw.check kwargs, the rw check ids that own it)."""
    bugs = []
    s = S.tabular("wine", 16)
    s["model"] = nn.Sequential(*s["model"], nn.Softmax(-1))
    bugs.append(("softmax before CE", s, ["loss_at_init", "overfit_one_batch"]))
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    bugs.append(
        (
            "view mixes the batch",
            {
                "model": MixesBatch(),
                "loss_fn": nn.CrossEntropyLoss(),
                "data": (
                    torch.randn(64, 5, 3, generator=g),
                    torch.randint(0, 2, (64,), generator=g),
                ),
            },
            ["batch_independence"],
        )
    )
    s = S.sequence(n=64)
    torch.manual_seed(0)
    s["model"] = Unmasked()
    bugs.append(("missing causal mask", s, ["causality"]))
    s = S.tabular("breast_cancer", 16)
    x, y = s["data"]
    s["data"] = (x, y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))])
    bugs.append(("labels shuffled", s, ["input_independent_baseline"]))
    s = S.digits(8)
    x, y = s["data"]
    s["data"] = ((x - x.min()) / (x.max() - x.min()) * 255, y)
    bugs.append(("inputs 0-255", s, ["input_sanity"]))
    s = S.tabular("wine", 16)
    with torch.no_grad():
        s["model"][2].bias.copy_(torch.tensor([8.0, 0.0, 0.0]))
    bugs.append(("bias far from prior", s, ["init_well", "loss_at_init"]))
    s = S.tabular("wine", 16)
    with torch.no_grad():
        s["model"][0].weight.mul_(300)
    bugs.append(("badly scaled init", s, ["health_at_init", "loss_at_init"]))
    s = S.tabular("wine", 16)
    for p in s["model"][2].parameters():
        p.requires_grad_(False)
    bugs.append(("head frozen by accident", s, ["parameter_coverage"]))
    s = S.tabular("wine", 16)
    x, y = s["data"]
    x = x.clone()
    x[3, 2] = float("nan")
    s["data"] = (x, y)
    bugs.append(("NaN in data", s, ["input_sanity"]))
    return bugs


# ------------------------------------------------------------------------------ the peer
def _peer():
    try:
        import neural_net_checklist.torch_diagnostics as nnc
    except ImportError:
        return None
    return nnc


def _peer_run(nnc, setup: dict) -> tuple[bool, list[str], float]:
    """neural-net-checklist's assert_all_* sequence, each assertion run separately (so one
    failure does not hide the next) and its overfit bounded to 512 steps (its default, 2**16,
    would run for minutes on a broken net). Returns (ran, failed assertions, seconds)."""
    model0, (x, y) = setup["model"], setup["data"]
    import copy

    factory = lambda: copy.deepcopy(model0)  # noqa: E731
    batch = (x[:64], y[:64])
    is_seq = not x.is_floating_point() and y.dim() == 2  # token ids -> next-token labels
    n_classes = int(factory()(x[:2]).shape[-1])
    loss = S.seq_loss if is_seq else None
    steps: list[tuple[str, object]] = [
        (
            "loss_at_init",
            lambda: nnc.assert_balanced_classification_cross_entropy_loss_at_init(
                factory(),
                batch,
                num_classes=n_classes,
                device="cpu",
                **({"loss_fn": loss} if loss else {}),
            ),
        ),
        (
            "forward_batch_independence",
            lambda: nnc.assert_forward_batch_independence(factory, batch, device="cpu"),
        ),
        (
            "non_zero_gradients",
            lambda: nnc.assert_non_zero_gradients(factory(), batch, device="cpu"),
        ),
        (
            "input_independent_baseline",
            lambda: nnc.assert_input_independent_baseline_worse(
                factory, batch, device="cpu", **({"loss_fn": loss} if loss else {})
            ),
        ),
        (
            "overfit_to_batch",
            lambda: nnc.assert_overfit_to_batch(
                factory(), batch, device="cpu", max_steps=512, **({"loss_fn": loss} if loss else {})
            ),
        ),
    ]
    if not is_seq:
        steps.insert(
            1,
            (
                "init_calibrated",
                lambda: nnc.assert_balanced_classification_cross_entropy_init_calibrated(
                    factory(), batch, num_classes=n_classes, device="cpu"
                ),
            ),
        )
        steps.insert(
            3,
            (
                "backward_batch_independence",
                lambda: nnc.assert_backward_batch_independence(factory, batch, device="cpu"),
            ),
        )
    else:
        steps.insert(
            1,
            (
                "forward_causal",
                lambda: nnc.assert_forward_causal_property(factory, batch, device="cpu"),
            ),
        )
    failed = []
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for name, fn in steps:
            try:
                fn()
            except AssertionError:
                failed.append(name)
            except Exception as exc:  # noqa: BLE001 - the peer cannot run this setup
                failed.append(f"{name} (error: {type(exc).__name__})")
    return True, failed, time.perf_counter() - t0


# ------------------------------------------------------------------ batch independence timing
def _independence_timing(repeats: int) -> dict[str, float]:
    x, y = S.digits_data(0, n=64)
    torch.manual_seed(0)
    model = S.SmallCNN(8)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)

    def train_step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    from recipe_widgets.engine.check._context import Ctx
    from recipe_widgets.engine.check._data import Pool, default_output_fn
    from recipe_widgets.engine.check._state import Snapshot
    from recipe_widgets.engine.check._task import infer_task

    ctx = Ctx(
        model=model,
        pool=Pool((x,), y),
        val=None,
        loss_fn=nn.CrossEntropyLoss(),
        output_fn=default_output_fn,
        optimizer=None,
        task=infer_task(nn.CrossEntropyLoss(), model(x[:4]), y[:4], 2.3),
        snapshot=Snapshot(model),
        quiet=True,
    )

    def probe() -> None:
        f = _structure.batch_independence(ctx)
        assert f.status == "pass" and f.evidence["method"] == "gradient", f.message

    def naive() -> None:
        m = S.SmallCNN(8)
        m.load_state_dict(model.state_dict())
        m.eval()
        xi = x.clone().requires_grad_(True)
        out = m(xi)
        for i in range(len(x)):  # one backward per example, gradient mass on the others
            (g,) = torch.autograd.grad(out[i].sum(), xi, retain_graph=True)
            g[i] = 0
            assert float(g.abs().max()) == 0.0

    times: dict[str, list[float]] = {"train_step": [], "probe": [], "naive_loop": []}
    for fn in (train_step, probe, naive):  # warm-up
        fn()
    for _ in range(repeats):
        for name, fn in (("train_step", train_step), ("probe", probe), ("naive_loop", naive)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _timed_checks(setups: list[tuple[str, dict]], nnc) -> tuple[dict[str, dict], list[str]]:
    """rw.check on every setup under each condition (fresh copies each time: a setup's model is
    used once), and the peer on the seed-0 classification setups under the same load."""
    rows: dict[str, dict] = {
        name: {
            "wall": {},
            "plain": {},
            "paired": {},
            "peer_wall": {},
            "bad": [],
            "peer": "-",
            "peer_failed": set(),
        }
        for name, _ in setups
    }
    loads = []
    step_s = 0.0
    for cond in CONDITIONS:
        with load(cond) as what:
            loads.append(what)
            _plain_loop()  # warm
            if cond == "quiet":
                step_s = _plain_loop(100) / 100
            peer_seen: set[str] = set()
            for name, setup in setups:
                r = rows[name]
                walls, plains = [], []
                # one scheduling hiccup is a large share of a short run: the median of several
                while len(walls) < r.get("repeats", 1):
                    fresh = copy.deepcopy(setup)
                    t0 = time.perf_counter()
                    report = check(**fresh, quiet=True)
                    walls.append(time.perf_counter() - t0)
                    r["bad"] = sorted(
                        set(r["bad"]) | {f.check for f in report if f.status in ("fail", "warn")}
                    )
                    # the machine's speed right now, over as long as the check took quiet:
                    # the same number of plain steps in every condition, right after each run
                    r.setdefault("steps", max(20, round(walls[0] / step_s)))
                    r.setdefault("repeats", _repeats(walls[0]))  # from the first quiet run
                    plains.append(_plain_loop(r["steps"]))
                r["plain"][cond] = statistics.median(plains)
                # each run against the plain loop right after it: drift slower than one pair
                # (the machine's speed moves from one second to the next) cancels
                r["paired"][cond] = statistics.median(w / p for w, p in zip(walls, plains))
                r["wall"][cond] = statistics.median(walls)
                if nnc is None:
                    r["peer"] = "skipped (not installed)"
                elif isinstance(setup["loss_fn"], nn.MSELoss):
                    r["peer"] = "n/a (classification only)"
                elif "s0" in name and (cond == "quiet" or name.split()[0] not in peer_seen):
                    # under load the peer runs its default threads into the barrier problem:
                    # once per kind of setup (the narrowest) keeps the run to minutes
                    peer_seen.add(name.split()[0])
                    _, failed, pt = _peer_run(nnc, setup)
                    r["peer_failed"].update(failed)
                    r["peer"], r["peer_wall"][cond] = (", ".join(failed) or "none"), pt
    return rows, loads


#: Under load at most LOADED_BAR times the quiet time, or RELATIVE_BAR times the slowdown the
#: same load causes a plain one-thread training loop, whichever is larger. The 2x of issue #17
#: presumed that a fair share of two cores gives 1.5x; measured here, the plain loop of this
#: benchmark (its own line in the table) slowed 1.0-2.0x beside two busy Python processes in one
#: run and 1.3-2.7x in another, from one setup to the next (the scheduler's share swings, and on
#: a virtual machine the same instructions can take more CPU time while the other core is busy:
#: ``python benchmarks/_load.py`` prints both), so a flat 2x left nothing for the check some of
#: the time. The plain loop therefore runs right after each run of the check, for as long as
#: that check took quiet, and the check is judged run by run against it (the median over runs
#: of check / loop, under the load over quiet): a 0.17 s loop timed once before each setup
#: sampled the swings, not the machine (the check read up to 1.6x its slowdown; time-matched,
#: 0.9-1.2x in an ad-hoc run of three setups). What the bar guards against, a check that
#: collapses under load (3-5x with two intra-op threads, the peer 7-36x), it still catches.
LOADED_BAR, RELATIVE_BAR = 2.0, 1.25

#: (quiet seconds under which, runs per condition): a setup is timed as the median of that many
#: runs of the check, each followed by its plain loop; a setup of 2.5 s or more runs once
REPEATS = ((1.0, 5), (2.5, 3))


def _repeats(quiet_s: float) -> int:
    return next((n for below, n in REPEATS if quiet_s < below), 1)


def _plain_loop(steps: int = 100) -> float:
    """The machine's own slowdown under a load, for the kind of work rw.check does: a plain
    training loop of the digits CNN on one intra-op thread (Adam, batch 64), wall seconds."""
    x, y = S.digits_data(0, n=512)
    torch.manual_seed(0)
    model = S.SmallCNN(8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        for i in range(steps):
            lo = (i * 64) % 448
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[lo : lo + 64]), y[lo : lo + 64]).backward()
            opt.step()
        return time.perf_counter() - t0
    finally:
        torch.set_num_threads(saved)


def _seed_spread(rows: dict[str, dict]) -> dict[str, tuple[float, float]]:
    """Per setup without its seed: (best, worst) wall time over seeds, each seed at its worst
    condition."""
    out: dict[str, list[float]] = {}
    for name, r in rows.items():
        out.setdefault(name.rsplit(" s", 1)[0], []).append(max(r["wall"].values()))
    return {k: (min(v), max(v)) for k, v in out.items() if len(v) > 1}


TRAINING = ("overfit_one_batch", "decreasing_loss")


def _thread_measurement(smoke: bool) -> dict[str, dict[str, float]]:
    """The measurement behind one thread: rw.check's training checks at the user's default count
    (the undecorated function) over their time on one thread, per condition, for two seed-0
    setups (the training checks only: at the default count under load the full check can take
    minutes)."""
    picks = [("wine-mlp w16", S.tabular("wine", 16, 0)), ("digits-cnn w8", S.digits(8, 0))]
    if smoke:
        picks = picks[:1]
    out: dict[str, dict[str, float]] = {name: {} for name, _ in picks}
    for cond in CONDITIONS:
        with load(cond):
            for name, setup in picks:
                t = []
                for fn in (check, check.__wrapped__):  # one thread, then the default
                    fresh = copy.deepcopy(setup)
                    t0 = time.perf_counter()
                    fn(**fresh, quiet=True, checks=TRAINING)
                    t.append(time.perf_counter() - t0)
                out[name][cond] = t[1] / t[0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small run, no bars")
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)  # the user's default, whatever the env says
    misses: list[str] = []
    nnc = _peer()

    print("== 1. full rw.check on the reference setups, quiet and under load (wall s)")
    setups = _reference(args.smoke)
    rows, loads = _timed_checks(setups[:2] if args.smoke else setups, nnc)  # smoke: two
    print("loads: " + " | ".join(loads))
    print(
        f"{'setup':26} {'quiet':>6} {'torch':>6} {'x':>5} {'python':>6} {'x':>5} {'vs loop':>9}"
        f" {'rw verdict':>22} {'nnc s':>6}  nnc failed assertions (false alarms)"
    )
    worst = worst_ratio = worst_rel = 0.0
    rels: list[float] = []  # each setup's slowdown over its plain loop's, per load
    false_alarms = 0
    nnc_clean_failures: set[str] = set()  # the peer's assertions that fail on correct setups
    slow = {
        c: sorted(r["plain"][c] / r["plain"]["quiet"] for r in rows.values()) for c in CONDITIONS
    }
    print(
        f"{'plain 1-thread loop':26} {'':6} {'':6} {statistics.median(slow['torch load']):4.1f}x"
        f" {'':6} {statistics.median(slow['python load']):4.1f}x   (median slowdown; "
        + ", ".join(f"{s[0]:.1f}-{s[-1]:.1f}x under {c}" for c, s in slow.items() if c != "quiet")
        + "; as long as each setup's quiet check, after each run)"
    )
    for name, r in rows.items():
        # the check's slowdown over the plain loop's beside it (paired run by run)
        rel = {c: r["paired"][c] / r["paired"]["quiet"] for c in CONDITIONS[1:]}
        bad = r["bad"]
        verdict = "clean" if not bad else "FALSE ALARM " + ",".join(bad)
        if bad:
            false_alarms += 1
            misses.append(f"{name}: false alarm {bad}")
        q, t, p = (r["wall"][c] for c in CONDITIONS)
        worst, worst_ratio = max(worst, q, t, p), max(worst_ratio, t / q, p / q)
        rels += rel.values()
        worst_rel = max(rels)
        if max(q, t, p) >= 20:
            misses.append(f"{name}: {max(q, t, p):.1f} s >= 20 s")
        for c in CONDITIONS[1:]:
            if r["wall"][c] > LOADED_BAR * q and rel[c] > RELATIVE_BAR:
                misses.append(
                    f"{name}: {r['wall'][c] / q:.1f}x its quiet time under {c}, {rel[c]:.2f}x"
                    f" the plain loop's slowdown (bar: <= {LOADED_BAR:.0f}x or <= {RELATIVE_BAR}x)"
                )
        nnc_clean_failures.update(r["peer_failed"])
        peer_t = "/".join(f"{r['peer_wall'][c]:.1f}" for c in CONDITIONS if c in r["peer_wall"])
        print(
            f"{name:26} {q:6.1f} {t:6.1f} {t / q:4.1f}x {p:6.1f} {p / q:4.1f}x"
            f" {rel['torch load']:4.2f}/{rel['python load']:4.2f} {verdict:>22}"
            f" {peer_t or '-':>6}  {r['peer']}"
        )
    spread = _seed_spread(rows)
    for setup, (lo, hi) in spread.items():
        if hi > 3 * lo:
            misses.append(f"{setup}: seeds spread {hi / lo:.1f}x (> 3x)")
    worst_spread = max((hi / lo for lo, hi in spread.values()), default=1.0)
    print(
        f"worst/best over seeds (worst condition): {worst_spread:.1f}x (bar <= 3);"
        f" worst loaded/quiet {worst_ratio:.1f}x; over the plain loop's slowdown (vs loop):"
        f" median {statistics.median(rels):.2f}x, worst {worst_rel:.2f}x (bar, each setup and"
        f" load: <= {LOADED_BAR:.0f}x its quiet time or <= {RELATIVE_BAR}x the plain loop's"
        f" slowdown); worst {worst:.1f} s (bar < 20)"
    )
    threads = _thread_measurement(args.smoke)
    print(
        "threads: rw.check trains on one intra-op thread; at the default"
        f" {torch.get_num_threads()} it takes "
        + "; ".join(
            f"{name} " + ", ".join(f"{t:.2f}x ({c})" for c, t in per.items())
            for name, per in threads.items()
        )
    )

    print("\n== 2. batch independence, digits CNN, all B=64 examples (medians)")
    t = _independence_timing(3 if args.smoke else 7)
    vs_step = t["probe"] / t["train_step"]
    speedup = t["naive_loop"] / t["probe"]
    print(
        f"one training step {t['train_step'] * 1e3:.1f} ms | rw probe {t['probe'] * 1e3:.1f} ms"
        f" ({vs_step:.2f}x a step; bar <= 3) | naive loop {t['naive_loop'] * 1e3:.1f} ms"
        f" (probe {speedup:.1f}x faster; bar >= 5)"
    )
    if vs_step > 3:
        misses.append(f"probe costs {vs_step:.2f}x a training step (> 3)")
    if speedup < 5:
        misses.append(f"probe only {speedup:.1f}x faster than the naive loop (< 5)")

    print("\n== 3. which bugs each tool catches")
    print(
        f"{'bug':26} {'rw':>5}  {'rw finding':40} {'nnc':>5}  nnc failed assertions"
        " (nnc 'yes' only for ones that pass on the clean setups)"
    )
    caught_rw = caught_nnc = 0
    bugs = _bugs()
    for bug, setup, owners in bugs:
        report = check(**setup, quiet=True, checks=owners)
        hit = [
            f"{f.check}:{f.status}"
            for f in report
            if f.check in owners and f.status in ("fail", "warn")
        ]
        caught_rw += bool(hit)
        if not hit:
            misses.append(f"rw missed: {bug}")
        peer = "skipped (not installed)"
        mark = "-"
        if nnc is not None:
            _, failed, _ = _peer_run(nnc, setup)
            # an assertion that also fails on the clean setups tells nothing about this bug
            real = [f for f in failed if "error" not in f and f not in nnc_clean_failures]
            caught_nnc += bool(real)
            peer, mark = (", ".join(failed) or "none"), ("yes" if real else "no")
        print(f"{bug:26} {'yes' if hit else 'NO':>5}  {', '.join(hit)[:40]:40} {mark:>5}  {peer}")

    for m in misses:
        print("MISSED:", m)
    bar_note = "" if not args.smoke else " (smoke: no bars)"
    print(
        f"RESULT check_suite worst_check_s={worst:.1f} loaded_vs_quiet={worst_ratio:.1f}"
        f" loaded_vs_plain_loop={worst_rel:.2f}"
        f" seed_spread={worst_spread:.1f} probe_vs_step={vs_step:.2f}"
        f" probe_speedup={speedup:.1f} rw_caught={caught_rw}/{len(bugs)}"
        f" nnc_caught={caught_nnc if nnc is not None else 'na'}/{len(bugs)}"
        f" false_alarms={false_alarms}{bar_note}"
    )
    return 0 if args.smoke or not misses else 1


if __name__ == "__main__":
    sys.exit(main())
