"""The kit on setups it was not written against: tests/corpus/, run as a user runs it.

    python benchmarks/corpus.py            # the whole corpus, on both kernel sets, bars enforced
    python benchmarks/corpus.py --smoke    # a sample on this CPU's kernels, no bars (make test)

Each correct setup, and each reproduced bug and its fixed twin, goes through ``rw.check`` with
the user's own optimizer instance (and ``val=`` / ``task=`` where the setup has them), then
``rw.watch(display=False)`` around the user's own loop. neural-net-checklist, the tool a user
would pick instead, runs its assertions on the same setups (those it can run: it assumes a
tensor batch and a classification or causal-LM output). Printed:

- false alarms: correct setups and fixed twins with any warn or fail (bar: 0, on this CPU's
  kernels and again with ``ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1``);
- causes named: bugs where the expected finding says what the report says (bar: >= 90%);
  neural-net-checklist names no cause, so for it the table shows whether it flags the bug at all;
- crashes: the kit raising on a setup that runs in the user's own loop (bar: 0);
- wall time of the whole corpus (bar: <= 600 s on a 2-core machine).

The last line is ``RESULT corpus ...``; the exit status is 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")  # the peer's progress bars would flood the table
os.environ.setdefault("RW_PROGRESS", "0")

import corpus  # noqa: E402
import torch  # noqa: E402 - after sys.path

PORTABLE = {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"}
SMOKE = ("correct/c00", "correct/c01", "correct/c22", "bugs/b00", "fixed/b00", "bugs/b01")


# ------------------------------------------------------------------------------ the peer
def _first_batch(data: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    if (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(t, torch.Tensor) for t in data)
    ):
        return data[0][:64], data[1][:64]
    if isinstance(data, torch.utils.data.DataLoader):
        batch = next(iter(data))
    elif isinstance(data, torch.utils.data.Dataset):
        items = [data[i] for i in range(min(64, len(data)))]
        try:
            batch = torch.utils.data.default_collate(items)
        except (TypeError, RuntimeError):
            return None
    else:
        return None
    if (
        isinstance(batch, (tuple, list))
        and len(batch) == 2
        and all(isinstance(t, torch.Tensor) for t in batch)
    ):
        return batch[0], batch[1]
    return None


def _peer_steps(
    nnc: Any, setup: corpus.Setup, batch: tuple[torch.Tensor, torch.Tensor]
) -> list[tuple[str, Any]]:
    model0 = setup.model
    factory = lambda: copy.deepcopy(model0)  # noqa: E731
    x, y = batch
    out = factory()(x[:2])
    if not isinstance(out, torch.Tensor) or out.dim() < 2 or y.is_floating_point():
        return []  # not a classifier: the peer's assertions do not apply
    n = int(out.shape[-1])
    is_seq = out.dim() == 3 and y.dim() == 2
    loss = setup.loss_fn
    steps: list[tuple[str, Any]] = [
        (
            "loss_at_init",
            lambda: nnc.assert_balanced_classification_cross_entropy_loss_at_init(
                factory(), batch, num_classes=n, device="cpu", loss_fn=loss
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
                factory, batch, device="cpu", loss_fn=loss
            ),
        ),
        (
            "overfit_to_batch",
            lambda: nnc.assert_overfit_to_batch(
                factory(), batch, device="cpu", max_steps=512, loss_fn=loss
            ),
        ),
    ]
    if is_seq:
        steps.append(
            (
                "forward_causal",
                lambda: nnc.assert_forward_causal_property(factory, batch, device="cpu"),
            )
        )
    else:
        steps.append(
            (
                "init_calibrated",
                lambda: nnc.assert_balanced_classification_cross_entropy_init_calibrated(
                    factory(), batch, num_classes=n, device="cpu"
                ),
            )
        )
        steps.append(
            (
                "backward_batch_independence",
                lambda: nnc.assert_backward_batch_independence(factory, batch, device="cpu"),
            )
        )
    return steps


def _peer_run(nnc: Any, case: corpus.Case) -> tuple[str, list[str], float]:
    """('ran' | 'n/a', failed assertions, seconds): each assertion separately, so one failure
    does not hide the next, and its overfit bounded to 512 steps."""
    t0 = time.perf_counter()
    setup = case.make()
    batch = _first_batch(setup.data)
    try:
        steps = [] if batch is None else _peer_steps(nnc, setup, batch)
    except Exception:  # noqa: BLE001 - the peer cannot even run a forward on this batch
        steps = []
    if not steps:
        return "n/a", [], time.perf_counter() - t0
    failed = []
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        for name, fn in steps:
            try:
                fn()
            except AssertionError:
                failed.append(name)
            except Exception as exc:  # noqa: BLE001
                failed.append(f"{name} (error: {type(exc).__name__})")
    return "ran", failed, time.perf_counter() - t0


# ---------------------------------------------------------------------------------- runs
def _run_kit(names: list[str] | None) -> list[dict[str, Any]]:
    rows = []
    for case in corpus.cases():
        if names is not None and not any(case.name.startswith(n) for n in names):
            continue
        o = corpus.run_case(case)
        rows.append(
            {
                "case": case.name,
                "kind": case.kind,
                "flags": o.summary(),
                "named": o.named(case.expect),
                "crash": o.crash,
                "seconds": o.seconds,
                "messages": [f"{f}: {f.message}" for f in o.flags],
            }
        )
    return rows


def _run_portable(names: list[str] | None) -> list[dict[str, Any]]:
    """The same corpus in a child process on the portable kernels (they are chosen at import)."""
    cmd = [sys.executable, __file__, "--kit-only", "--json"] + (["--only", *names] if names else [])
    env = {**os.environ, **PORTABLE}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"portable run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    clean = [r for r in rows if r["kind"] in ("correct", "fixed")]
    bugs = [r for r in rows if r["kind"] == "bug"]
    return {
        "false_alarms": [r["case"] for r in clean if r["flags"]],
        "n_clean": len(clean),
        "named": sum(r["named"] for r in bugs),
        "n_bugs": len(bugs),
        "crashes": [r["case"] for r in rows if r["crash"]],
        "seconds": sum(r["seconds"] for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="a sample, this CPU's kernels, no bars"
    )
    parser.add_argument("--only", nargs="*", help="case name prefixes (e.g. bugs/b01 correct/)")
    parser.add_argument(
        "--kit-only", action="store_true", help="no peer (used for the portable run)"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON line")
    args = parser.parse_args(argv)
    names = list(SMOKE) if args.smoke else args.only

    t0 = time.perf_counter()
    rows = _run_kit(names)
    wall = time.perf_counter() - t0
    if args.json:
        print(json.dumps(rows))
        return 0
    try:
        import neural_net_checklist.torch_diagnostics as nnc
    except ImportError:
        nnc = None
    by_name = {c.name: c for c in corpus.cases()}

    print(
        f"{'case':52} {'rw s':>5}  {'rw (warn/fail findings; * = cause named)':58} {'nnc s':>5}  nnc failed"
    )
    peer: dict[str, tuple[str, list[str]]] = {}
    peer_seconds = 0.0
    for r in rows:
        ran, failed, pt = (
            ("n/a", [], 0.0) if nnc is None or args.kit_only else _peer_run(nnc, by_name[r["case"]])
        )
        peer[r["case"]] = (ran, failed)
        peer_seconds += pt
        said = ("CRASH " + r["crash"][:50]) if r["crash"] else (", ".join(r["flags"]) or "-")
        mark = "*" if r["named"] else " "
        nnc_text = (
            "not installed"
            if nnc is None
            else ("n/a (not a tensor classifier)" if ran == "n/a" else (", ".join(failed) or "-"))
        )
        print(
            f"{r['case'][:52]:52} {r['seconds']:5.1f} {mark}{said[:58]:58} {pt:5.1f}  {nnc_text[:60]}"
        )

    s = _summary(rows)
    portable = None if args.smoke else _summary(_run_portable(names))
    ran_clean = [
        r for r in rows if r["kind"] in ("correct", "fixed") and peer[r["case"]][0] == "ran"
    ]
    ran_bugs = [r for r in rows if r["kind"] == "bug" and peer[r["case"]][0] == "ran"]

    # an assertion that raised something other than AssertionError could not run: not an alarm
    def asserted(case: str) -> bool:
        return any("(error:" not in f for f in peer[case][1])

    nnc_alarms = sum(asserted(r["case"]) for r in ran_clean)
    nnc_flags = sum(asserted(r["case"]) for r in ran_bugs)
    print()
    print(
        f"false alarms (correct setups and fixed twins with a warn/fail): rw {len(s['false_alarms'])}/{s['n_clean']}"
        + (f" (portable kernels: {len(portable['false_alarms'])})" if portable else "")
        + f"; neural-net-checklist {nnc_alarms}/{len(ran_clean)} of those it can run"
    )
    print(
        f"bugs whose cause is named by the expected finding: rw {s['named']}/{s['n_bugs']}"
        + (f" (portable kernels: {portable['named']})" if portable else "")
        + f"; neural-net-checklist flags {nnc_flags}/{len(ran_bugs)} of those it can run (names no cause)"
    )
    print(f"crashes: rw {len(s['crashes'])}" + (f" {s['crashes']}" if s["crashes"] else ""))
    print(
        f"wall time: rw {wall:.0f} s for {len(rows)} runs; neural-net-checklist {peer_seconds:.0f} s"
        f" ({peer_seconds / max(wall, 1e-9):.2f}x rw)"
    )
    for name in s["false_alarms"]:
        print("FALSE ALARM:", name, next(r["messages"] for r in rows if r["case"] == name)[:3])
    for r in rows:
        if r["kind"] == "bug" and not r["named"]:
            print("NOT NAMED:", r["case"], r["flags"])

    misses = []
    if not args.smoke:
        share = s["named"] / max(s["n_bugs"], 1)
        if s["false_alarms"] or (portable and portable["false_alarms"]):
            misses.append("false alarms")
        if share < 0.9 or (portable and portable["named"] / max(portable["n_bugs"], 1) < 0.9):
            misses.append(f"causes named {share:.0%} < 90%")
        if s["crashes"] or (portable and portable["crashes"]):
            misses.append("crashes")
        if wall > 600:
            misses.append(f"{wall:.0f} s > 600 s")
    for m in misses:
        print("MISSED:", m)
    print(
        f"RESULT corpus runs={len(rows)} false_alarms={len(s['false_alarms'])}"
        f" portable_false_alarms={'na' if portable is None else len(portable['false_alarms'])}"
        f" named={s['named']}/{s['n_bugs']} crashes={len(s['crashes'])} wall_s={wall:.0f}"
        f" nnc_false_alarms={nnc_alarms}/{len(ran_clean)}"
        + (" (smoke: no bars)" if args.smoke else "")
    )
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
