"""Checks that train a copy: reproducibility, overfit one batch, decreasing loss, the
input-independent baseline, and the LR schedule dry run (which trains nothing)."""

from __future__ import annotations

import hashlib
import math
import random
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from recipe_widgets.engine.check._context import Ctx, dropout_off
from recipe_widgets.engine.check._data import split_pool
from recipe_widgets.engine.check._state import tensor_bytes
from recipe_widgets.engine.check._static import loss_mixes_examples
from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding

_CE_KINDS = ("ce", "nll", "bce_logits", "bce")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _thin(values: list[float], n: int = 200) -> list[float]:
    step = max(1, math.ceil(len(values) / n))
    return values[::step]


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def reproducibility(ctx: Ctx) -> Finding:
    sources: list[str] = []
    data = ctx.raw_data
    if isinstance(data, torch.utils.data.DataLoader) or isinstance(data, torch.utils.data.Dataset):
        firsts = []
        # A loader (or its sampler) may carry its own seeded generator, as PyTorch documents for
        # reproducible shuffling: both iterations start from its state now, which is put back.
        gens = _loader_generators(data)
        states = [g.get_state() for g in gens]
        try:
            for _ in range(2):
                _seed_all(ctx.seed)
                for g, st in zip(gens, states):
                    g.set_state(st)
                loader = isinstance(data, torch.utils.data.DataLoader)
                firsts.append(next(iter(data)) if loader else data[0])
        finally:
            for g, st in zip(gens, states):
                g.set_state(st)
        try:
            same = all(_same(a, b) for a, b in zip(_flat(firsts[0]), _flat(firsts[1])))
        except (TypeError, RuntimeError):
            same = True
        if not same:
            sources.append(
                "the data pipeline: the first batch differs between two seeded"
                " iterations (a sampler with its own unseeded generator, or augmentation"
                " drawing from a private random generator)"
            )
    runs = []
    pool = ctx.pool.take(slice(0, min(int(ctx.th("batch_size")) * 2, ctx.pool.n)))
    for _ in range(2):
        model = ctx.fresh()
        model.train()
        losses = ctx.train(model, pool, int(ctx.th("repro_steps")), desc="reproducibility")
        # A digest per parameter, not a copy: the second run never lives beside the first.
        runs.append((losses, [_digest(p.detach()) for p in model.parameters()]))
        model = None
    same_loss = len(runs[0][0]) == len(runs[1][0]) and all(
        a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(runs[0][0], runs[1][0])
    )
    same_params = runs[0][1] == runs[1][1]
    if not (same_loss and same_params):
        first = next((i for i, (a, b) in enumerate(zip(*(r[0] for r in runs))) if a != b), None)
        where = "the forward pass" if first == 0 else "the training step (a nondeterministic op)"
        sources.append(
            f"{where}: two seeded runs of {len(runs[0][0])} steps differ"
            f" ({'losses' if not same_loss else 'parameters'})"
        )
    ev = {"losses": [r[0] for r in runs]}
    if sources:
        return Finding(
            "reproducibility",
            "fail",
            "not reproducible: "
            + "; ".join(sources)
            + ". Without a fixed seed you cannot tell a fix from luck.",
            fix="Seed everything (rw.seed_everything(0)), pass a seeded"
            " torch.Generator to the DataLoader, draw augmentation from torch's RNG,"
            " and on GPU use torch.use_deterministic_algorithms(True).",
            evidence=ev,
        )
    return Finding(
        "reproducibility",
        "pass",
        f"two seeded runs of {len(runs[0][0])} steps give identical losses and parameters.",
        evidence=ev,
    )


def _loader_generators(data: Any) -> list[torch.Generator]:
    """The private generators a loader draws its order from (its own, its sampler's)."""
    found = []
    for holder in (data, getattr(data, "sampler", None), getattr(data, "batch_sampler", None)):
        g = getattr(holder, "generator", None)
        if isinstance(g, torch.Generator) and all(g is not f for f in found):
            found.append(g)
    inner = getattr(getattr(data, "batch_sampler", None), "sampler", None)
    g = getattr(inner, "generator", None)
    if isinstance(g, torch.Generator) and all(g is not f for f in found):
        found.append(g)
    return found


def _digest(t: torch.Tensor) -> tuple[Any, ...]:
    """Shape, dtype and a SHA-256 of the values, equal exactly when :func:`_same` says so: every
    NaN counts as the same NaN (NaN data is a finding of its own, not irreproducibility) and
    -0.0 as 0.0, as ``torch.equal`` does."""
    h = hashlib.sha256()
    if t.is_floating_point() or t.is_complex():
        nan = t.isnan()
        h.update(tensor_bytes(nan))
        t = torch.where(nan, torch.zeros((), dtype=t.dtype, device=t.device), t) + 0  # -0.0 -> 0.0
    h.update(tensor_bytes(t))
    return tuple(t.shape), str(t.dtype), h.hexdigest()


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit-equal, where NaN equals NaN (NaN data is a finding of its own, not irreproducibility)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point() or a.is_complex():
        return bool(torch.equal(a.isnan(), b.isnan())) and bool(
            torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0))
        )
    return bool(torch.equal(a, b))


def _flat(x: Any) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _flat(v)]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _flat(v)]
    return []


def _predictions(ctx: Ctx, out: torch.Tensor) -> list:
    kind = ctx.task.loss_kind
    if kind in ("ce", "nll") and ctx.task.n_classes:
        return out.argmax(ctx.task.class_dim).tolist()
    if kind == "bce_logits":
        return out.sigmoid().tolist()
    return out.tolist()


def _floor(ctx: Ctx, model: nn.Module, pool: Any) -> float:
    """The lowest loss a perfect net could reach on ``pool``: 0 for hard labels, more with label
    smoothing or soft targets. Computed with the user's loss on the ideal output."""
    try:
        with torch.no_grad():
            out = ctx.out(model, pool)
            y = pool.targets
            kind, task = ctx.task.loss_kind, ctx.task
            if kind in ("ce", "nll") and task.n_classes:
                c, cdim = task.n_classes, task.class_dim
                if y.is_floating_point():
                    q = y.movedim(cdim, -1).double()
                else:
                    valid = (y >= 0) & (y < c)
                    q = nn.functional.one_hot(torch.where(valid, y, 0).long(), c).double()
                    smooth = float(getattr(ctx.loss_fn, "label_smoothing", 0.0) or 0.0)
                    q = (1 - smooth) * q + smooth / c
                ideal = q.clamp_min(1e-12).log().movedim(-1, cdim).to(out.dtype)
            elif kind == "bce_logits":
                p = y.double().clamp(1e-9, 1 - 1e-9).reshape(out.shape)
                ideal = (p / (1 - p)).log().to(out.dtype)
            elif kind == "bce":
                ideal = y.clamp(1e-9, 1 - 1e-9).reshape(out.shape).to(out.dtype)
            else:
                return 0.0
            v = float(ctx.loss_fn(ideal, y))
        return max(v, 0.0) if math.isfinite(v) else 0.0
    except Exception:  # noqa: BLE001 - an exotic loss: assume the floor is 0
        return 0.0


def _contradiction_floor(ctx: Ctx, pool: Any) -> float:
    """The lowest mean cross-entropy any net can reach on ``pool`` when some examples have
    identical inputs but different labels (a bigram model's batch), or, for a causal sequence
    model, identical prefixes followed by different tokens (random windows of a text). 0 when
    nothing contradicts."""
    y = pool.targets
    if ctx.task.loss_kind not in ("ce", "nll") or y.is_floating_point() or pool.n < 2:
        return 0.0
    xs = [t.reshape(t.shape[0], -1) for t in pool.tensors()]
    if not xs:
        return 0.0
    x = torch.cat([t.to(torch.float64) for t in xs], dim=1)
    valid = y != ctx.task.ignore_index
    if y.dim() == 1:
        keys = [x[i].tolist() for i in range(pool.n)]
        return _group_entropy(keys, y.tolist(), valid.tolist())
    seq = pool.tensors()[0]
    if (
        len(xs) != 1
        or seq.is_floating_point()
        or seq.dim() != 2
        or y.shape != seq.shape
        or ctx.causal is False
    ):
        return 0.0
    keys, labels, ok = [], [], []
    for t in range(seq.shape[1]):
        for i in range(pool.n):
            keys.append((t, *seq[i, : t + 1].tolist()))
            labels.append(int(y[i, t]))
            ok.append(bool(valid[i, t]))
    return _group_entropy(keys, labels, ok)


def _group_entropy(keys: list, labels: list, valid: list) -> float:
    """Mean over valid items of -log(the share of its label among items with the same key)."""
    groups: dict[Any, dict[Any, int]] = {}
    for k, lab, ok in zip(keys, labels, valid):
        if ok:
            counts = groups.setdefault(tuple(k) if isinstance(k, list) else k, {})
            counts[lab] = counts.get(lab, 0) + 1
    total = sum(sum(c.values()) for c in groups.values())
    if not total:
        return 0.0
    h = 0.0
    for counts in groups.values():
        n = sum(counts.values())
        h -= sum(c * math.log(c / n) for c in counts.values())
    return h / total


def _stalled(budget: int):
    """Stop after ``budget`` steps unless the last quarter still cut the loss by over 20% (then
    keep going, up to the caller's hard cap): a slow but steady descent is not a failure."""

    def stop(losses: list[float]) -> bool:
        n = len(losses)
        if n < budget:
            return False
        return not losses[-1] < 0.8 * losses[-max(2, n // 4)]

    return stop


def overfit_one_batch(ctx: Ctx) -> Finding:
    n_main = min(int(ctx.th("overfit_examples")), ctx.pool.n)
    ladder: list[dict] = []
    final_out = None
    batch = ctx.pool.take(slice(0, n_main))
    # The ladder: 1 example, then the batch, then (once the batch is memorized) 4x more, which
    # is reported but does not change the verdict.
    n_more = min(4 * n_main, ctx.pool.n)
    rungs = sorted({1, n_main}) + ([n_more] if n_more > n_main else [])
    for n in rungs:
        if n == n_more and n > n_main and not ladder[-1]["reached"]:
            break  # the batch was not memorized: more examples cannot tell us anything new
        record, model = _overfit_rung(ctx, ctx.pool.take(slice(0, n)))
        ladder.append(record)
        if n == n_main and ctx.forward_runs:
            with torch.no_grad():
                model.eval()
                final_out = ctx.out(model, batch).detach()
        model = None  # freed before the next rung's copy
    main = next(r for r in ladder if r["examples"] == n_main)
    ev = {
        "ladder": ladder,
        "labels": batch.targets.tolist(),
        "predictions": _predictions(ctx, final_out) if final_out is not None else [],
    }
    if main["reached"]:
        more = ladder[-1] if ladder[-1]["examples"] > n_main else None
        nxt = (
            f" Next rung: {more['examples']} examples"
            f" {'reach' if more['reached'] else 'stop at'} {fmt(more['floor'])}"
            f" in {more['steps']} steps."
            if more
            else ""
        )
        return Finding(
            "overfit_one_batch",
            "pass",
            f"{n_main} examples overfit to loss {fmt(main['floor'])} (< {fmt(main['target'])})"
            f" in {main['steps']} steps (from {fmt(main['init'])}).{nxt}",
            evidence=ev,
        )
    seen = _seen_causes(ctx, final_out, batch)
    rung1 = ladder[0]
    if rung1["reached"] and rung1["examples"] < n_main and not seen:
        # The plumbing works (one example is memorized) and nothing specific is wrong: a slow
        # architecture (sigmoid LeNet), a budget or a target this loss does not reach in
        # the steps given. Worth a look, not a verdict on the setup.
        return Finding(
            "overfit_one_batch",
            "info",
            f"1 example overfits (loss {fmt(rung1['floor'])}), {n_main} examples reached"
            f" {fmt(main['floor'])} from {fmt(main['init'])} in {main['steps']} steps (target"
            f" < {fmt(main['target'])}): the plumbing works; the model, its learning rate or"
            " this step budget do not memorize the batch yet.",
            fix="If training stalls too, widen the model or raise the learning rate; a slow"
            " start can also be the architecture (saturating activations).",
            evidence=ev,
        )
    return _not_overfit(ctx, ladder, main, seen, ev)


def _overfit_rung(ctx: Ctx, rung: Any) -> tuple[dict, nn.Module]:
    """Train a fresh copy on ``rung`` until its loss is below the target: first at the user's
    lr times ``lr_scale``, then their own lr, then (if it diverged) clipped."""
    steps = int(ctx.th("overfit_steps"))
    model = None
    for scale, clip in _attempts(ctx):
        model = None  # the last attempt's copy is freed before the next is made
        model = ctx.fresh()
        model.train()
        dropout_off(model)
        for m in model.modules():  # statistics of 1-10 examples are noise (BN1d refuses 1)
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        with torch.no_grad():
            init = float(ctx.loss(model, rung))
        target = (
            max(_floor(ctx, model, rung), _contradiction_floor(ctx, rung))
            + ctx.th("overfit_ce_target")
            if ctx.task.loss_kind in _CE_KINDS
            else ctx.th("overfit_rel_target") * init
        )
        losses = ctx.train(
            model,
            rung,
            3 * steps,
            desc=f"overfit {rung.n}",
            stop_below=target,
            full_batch=True,
            lr_scale=scale,
            stop_fn=_stalled(steps),
            clip=clip,
        )
        finite = [v for v in losses if math.isfinite(v)]
        best = min(finite) if finite else math.inf
        if best <= target or (clip and len(finite) == len(losses)):
            break
        if clip is None and scale == 1.0 and len(finite) == len(losses) and best < init:
            break  # it fell, unclipped: clipping would not change the verdict
    record = {
        "examples": rung.n,
        "init": init,
        "floor": best,
        "target": target,
        "lr_scale": scale,
        "clip": clip,
        "steps": len(losses),
        "reached": best <= target,
        "losses": _thin(losses),
    }
    return record, model


def _seen_causes(ctx: Ctx, final_out: Any, batch: Any) -> list[tuple[str, str]]:
    """Causes seen in the trained copy's outputs (not guessed), each with its fix."""
    seen = []
    if ctx.task.loss_kind in ("ce", "bce_logits") and final_out is not None:
        o = final_out.float()
        if bool(((o >= 0) & (o <= 1)).all()):
            seen.append(
                (
                    "the outputs stay in [0, 1]: a softmax/sigmoid before a loss that expects"
                    " logits",
                    "return raw logits for cross_entropy / BCEWithLogits",
                )
            )
    if (
        final_out is not None
        and ctx.task.loss_kind in ("mse", "l1", "bce_logits", "bce")
        and final_out.shape != batch.targets.shape
        and loss_mixes_examples(ctx, final_out, batch.targets) is not None
    ):
        seen.append(
            (
                f"output {tuple(final_out.shape)} vs target {tuple(batch.targets.shape)}:"
                " broadcasting in the loss",
                "give the loss targets of the output's shape",
            )
        )
    return seen


def _not_overfit(
    ctx: Ctx, ladder: list[dict], main: dict, seen: list[tuple[str, str]], ev: dict
) -> Finding:
    n_main = main["examples"]
    causes = [c for c, _ in seen]
    fixes = [f for _, f in seen]
    if not math.isfinite(main["floor"]) or main["floor"] >= main["init"]:
        causes.append(
            "the loss never fell below its start: a learning rate too high for this"
            " model, or a loss that does not depend on the parameters"
        )
        fixes.append("lower the learning rate 10x and check that the loss has a gradient")
    else:
        causes.append("too little capacity or too small a learning rate for the step budget")
        fixes.append("widen the model or raise the learning rate")
    if ctx.task.loss_kind in ("ce", "nll"):
        causes.append("labels that contradict each other on identical inputs")
    else:
        causes.append(
            f"a target ({ctx.th('overfit_rel_target'):.0%} of the loss at init) below what"
            " this loss can reach, e.g. a KL or regularization term with a floor above 0"
        )
        fixes.append("if the loss has a known floor, set thresholds={'overfit_rel_target': ...}")
    rung1 = ladder[0]
    if rung1["examples"] == n_main:
        one = ""
    elif rung1["reached"]:
        one = (
            f" 1 example alone does reach the target (floor {fmt(rung1['floor'])}), so the"
            f" plumbing works; capacity, step budget or target do not stretch to {n_main}."
        )
    else:
        one = (
            f" Even 1 example does not reach the target (floor {fmt(rung1['floor'])}): suspect"
            " the plumbing (outputs, loss, gradients) before the model's size."
        )
    return Finding(
        "overfit_one_batch",
        "fail",
        f"{n_main} examples did not overfit: the loss"
        f" stopped at {fmt(main['floor'])} after {main['steps']} steps (from"
        f" {fmt(main['init'])}; target < {fmt(main['target'])}).{one} If a net cannot"
        f" memorize {n_main} examples, training on the full set proves nothing."
        " Likely: " + "; ".join(causes) + ".",
        fix=_sentence("; ".join(fixes)),
        evidence=ev,
    )


def _attempts(ctx: Ctx) -> list[tuple[float, float | None]]:
    """(lr scale, gradient clip) for a short run, tried in turn until one stays finite: the
    user's LR times ``lr_scale``, their own LR, and their own LR with gradients clipped to
    ``retry_clip`` (the LR many RNN and transformer recipes use only works with clipping, which
    their loops do and ``rw.check`` cannot see unless given ``clip_grad_norm=``)."""
    tries: list[tuple[float, float | None]] = [
        (scale, None) for scale in dict.fromkeys((ctx.th("lr_scale"), 1.0))
    ]
    if not ctx.clip_grad_norm:
        tries.append((1.0, ctx.th("retry_clip")))
    return tries


def _real_run(ctx: Ctx) -> dict:
    """Train a copy on the training split (shared by the baseline and decreasing-loss checks)."""
    if "real_run" not in ctx.cache:
        train, held = (ctx.pool, ctx.val) if ctx.val is not None else split_pool(ctx.pool)
        steps = int(ctx.th("baseline_steps"))
        model = None
        for scale, clip in _attempts(ctx):
            model = None  # the last attempt's copy is freed before the next is made
            model = ctx.fresh()
            model.train()
            before = ctx.eval_loss(model, train)
            losses = ctx.train(model, train, steps, desc="real inputs", lr_scale=scale, clip=clip)
            after = ctx.eval_loss(model, train)
            if math.isfinite(after) and after < before and all(map(math.isfinite, losses)):
                break  # the scaled lr worked; otherwise retry with the user's own lr
        ctx.cache["real_run"] = {
            "train": train,
            "held": held,
            "before": before,
            "losses": losses,
            "after": after,
            "lr_scale": scale,
            "clip": clip,
            "held_loss": ctx.eval_loss(model, held),
        }
    return ctx.cache["real_run"]


def decreasing_loss(ctx: Ctx) -> Finding:
    run = _real_run(ctx)
    before, after = run["before"], run["after"]
    ev = {
        "before": before,
        "after": after,
        "losses": _thin(run["losses"]),
        "lr_scale": run["lr_scale"],
    }
    steps = len(run["losses"])
    if not all(math.isfinite(v) for v in run["losses"]) or not math.isfinite(after):
        return Finding(
            "decreasing_loss",
            "fail",
            f"the training loss became non-finite within {steps} steps: divergence.",
            fix="Lower the learning rate (Adam 3e-4 is"
            " the safe start), clip gradients, check for log(0).",
            evidence=ev,
        )
    ratio = after / before if before > 0 else 0.0
    ev["ratio"] = ratio
    if ratio <= ctx.th("decrease_ratio"):
        if run["clip"] and not ctx.clip_grad_norm:
            return Finding(
                "decreasing_loss",
                "info",
                f"the training loss fell from {fmt(before)} to {fmt(after)} in {steps} steps"
                f" with gradients clipped to norm {fmt(run['clip'])}; without clipping it diverged at this"
                " learning rate.",
                fix="If your loop clips gradients, say so with clip_grad_norm=; if it does"
                " not, clip (nn.utils.clip_grad_norm_) or lower the learning rate.",
                evidence=ev,
            )
        return Finding(
            "decreasing_loss",
            "pass",
            f"the training loss fell from {fmt(before)} to {fmt(after)} in {steps} steps.",
            evidence=ev,
        )
    grew = ratio > 1.0
    return Finding(
        "decreasing_loss",
        "fail",
        f"the training loss went from {fmt(before)} to"
        f" {fmt(after)} in {steps} steps ({ratio:.2f}x): it "
        f"{'grew (learning rate too high?)' if grew else 'barely moved'}.",
        fix="Check the learning rate (try 3e-4 with Adam), that the loss is computed on"
        " the model's output, and the overfit-one-batch result.",
        evidence=ev,
    )


def input_independent_baseline(ctx: Ctx) -> Finding:
    run = _real_run(ctx)
    train, held = run["train"], run["held"]
    if held.n < 4:
        return Finding(
            "input_independent_baseline",
            "skip",
            f"only {held.n} held-out examples; pass val= with a few dozen.",
        )
    model = ctx.fresh()
    model.train()
    ctx.train(
        model,
        train.zeroed(),
        int(ctx.th("baseline_steps")),
        desc="zeroed inputs",
        lr_scale=run["lr_scale"],
    )
    zero = ctx.eval_loss(model, held.zeroed())
    real = run["held_loss"]
    ratio = real / zero if zero > 0 else math.inf
    zero_train = ctx.eval_loss(model, train.zeroed())
    train_ratio = run["after"] / zero_train if zero_train > 0 else math.inf
    ev = {
        "real_held_loss": real,
        "zero_input_held_loss": zero,
        "ratio": ratio,
        "train_ratio": train_ratio,
        "held_examples": held.n,
        "steps": int(ctx.th("baseline_steps")),
    }
    limit = ctx.th("baseline_ratio")
    if math.isfinite(ratio) and ratio <= limit:
        return Finding(
            "input_independent_baseline",
            "pass",
            f"on {held.n} held-out examples the"
            f" net trained on real inputs reaches loss {fmt(real)}, vs {fmt(zero)}"
            f" with inputs zeroed ({ratio:.2f}x): it learns from its input.",
            evidence=ev,
        )
    if not math.isfinite(ratio) or not math.isfinite(train_ratio):
        return Finding(
            "input_independent_baseline",
            "info",
            f"the short training runs did not stay finite (held-out loss {fmt(real)} with real"
            f" inputs, {fmt(zero)} with zeroed ones), so they cannot compare the two; the"
            " decreasing-loss and overfit checks say why.",
            evidence=ev,
        )
    if ratio <= ctx.th("baseline_weak_ratio") or train_ratio <= limit:
        # The real inputs did help, on the held-out examples a little (a CNN 120 steps into
        # CIFAR) or on the training examples (embedding tables and factorizations memorize
        # their ids long before they generalize): a slow learner or a small pool, not a net
        # that ignores its input.
        return Finding(
            "input_independent_baseline",
            "info",
            f"on {held.n} held-out examples the net trained on real inputs reaches loss"
            f" {fmt(real)}, vs {fmt(zero)} with inputs zeroed ({ratio:.2f}x); on its training"
            f" examples {train_ratio:.2f}x. It uses its input, but in"
            f" {int(ctx.th('baseline_steps'))} steps on {train.n} examples little of it"
            " generalizes yet.",
            fix="Pass more data (or val=) or raise thresholds={'baseline_steps': ...} to"
            " see it generalize.",
            evidence=ev,
        )
    return Finding(
        "input_independent_baseline",
        "fail",
        f"on {held.n} held-out examples the net"
        f" trained on real inputs reaches loss {fmt(real)}, the one trained on zeroed"
        f" inputs {fmt(zero)} ({ratio:.2f}x, needs <= {limit}x): the model gets nothing"
        " from its inputs that generalizes.",
        fix="Check that labels stay paired with"
        " their inputs (no separate shuffles), that the input reaches the model"
        " (no zeroing, no detach), and the overfit result; or raise"
        " thresholds={'baseline_steps': ...} for a slow learner.",
        evidence=ev,
    )


def lr_schedule(ctx: Ctx) -> Finding:
    if ctx.scheduler is None or not ctx.steps:
        return Finding("lr_schedule", "skip", "no scheduler= factory and steps= given.")
    if not callable(ctx.scheduler) or isinstance(
        ctx.scheduler, torch.optim.lr_scheduler.LRScheduler
    ):
        return Finding(
            "lr_schedule",
            "skip",
            "scheduler= must be a factory optimizer -> scheduler"
            " (e.g. lambda opt: CosineAnnealingLR(opt, T_max=1000)), not a scheduler"
            " object, so that the dry run cannot move yours.",
        )
    dummy = nn.Linear(1, 1)
    opt = ctx.make_optimizer_for_dummy(dummy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = ctx.scheduler(opt)
        steps = int(ctx.steps)
        lrs = []
        for _ in range(steps):  # no optimizer.step(): nothing to train, only the lr to read
            lrs.append(float(opt.param_groups[0]["lr"]))
            sched.step()
    peak = max(lrs)
    ipeak = lrs.index(peak)
    ev = {
        "lrs": _thin(lrs),
        "lr_steps": _thin(list(range(steps))),
        "steps": steps,
        "peak": peak,
        "start": lrs[0],
        "end": lrs[-1],
    }
    if peak <= 0:
        return Finding(
            "lr_schedule",
            "fail",
            "the learning rate is 0 for the whole run.",
            fix="Check the scheduler's arguments.",
            evidence=ev,
        )
    floor = ctx.th("schedule_floor") * peak
    low = next((i for i in range(ipeak, steps) if lrs[i] < floor), None)
    ev["collapse_step"] = low
    if low is not None and low < ctx.th("schedule_before") * steps:
        return Finding(
            "lr_schedule",
            "fail",
            f"the learning rate falls to {fmt(lrs[low])}"
            f" (< {ctx.th('schedule_floor'):.0%} of its peak {fmt(peak)}) at step {low}"
            f" of {steps}: the rest of the run barely learns. Often a schedule written in"
            " epochs (step_size, T_max, milestones) stepped once per batch.",
            fix="Express the schedule in optimizer steps (e.g. T_max=steps), or call"
            " scheduler.step() once per epoch if it is written in epochs.",
            evidence=ev,
        )
    return Finding(
        "lr_schedule",
        "pass",
        f"over {steps} steps the learning rate goes"
        f" {fmt(lrs[0])} -> peak {fmt(peak)} -> {fmt(lrs[-1])}, staying above"
        f" {ctx.th('schedule_floor'):.0%} of its peak for the first half.",
        evidence=ev,
    )
