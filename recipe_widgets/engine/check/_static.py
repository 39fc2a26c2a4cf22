"""Checks at initialisation, before any training: input sanity, loss at init, init well, health.

All of them look at one forward (and one backward) pass of a fresh copy on the first examples of
the pool, so together they cost about one training step.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.check._context import Ctx
from recipe_widgets.engine.check._data import Pool
from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding


def probe_pool(ctx: Ctx, n: int = 64) -> Pool:
    return ctx.pool.take(slice(0, min(n, ctx.pool.n)))


def _class_probs(ctx: Ctx, out: torch.Tensor) -> torch.Tensor:
    """(N, C) predicted class probabilities from the output, classes last."""
    flat = out.movedim(ctx.task.class_dim, -1).reshape(-1, out.shape[ctx.task.class_dim]).float()
    if ctx.task.loss_kind == "nll":
        return flat.exp()
    return flat.softmax(-1)


def _label_prior(ctx: Ctx, y: torch.Tensor, c: int) -> torch.Tensor:
    if y.is_floating_point():  # soft labels / probabilities, classes along the class dim
        p = y.movedim(ctx.task.class_dim, -1).reshape(-1, c).double().mean(0).cpu()
        return p / p.sum().clamp_min(1e-12)
    y = y.reshape(-1)
    y = y[(y != ctx.task.ignore_index) & (y >= 0) & (y < c)]
    counts = torch.bincount(y.long(), minlength=c).double()
    return counts / counts.sum().clamp_min(1)


def input_sanity(ctx: Ctx, out: torch.Tensor) -> Finding:
    fails: list[str] = []
    warns: list[str] = []
    label_warns: list[str] = []
    ev: dict = {"inputs": _input_stats(ctx, fails, warns)}
    y = ctx.pool.targets
    _target_problems(ctx, y, fails, label_warns)
    batch_y = probe_pool(ctx, out.shape[0]).targets if out.dim() else y
    _loss_problems(ctx, out, batch_y, fails, label_warns)
    ev["targets"] = {"shape": list(y.shape), "dtype": str(y.dtype)}
    ev["output_shape"] = list(out.shape)
    return _sanity_finding(ctx, fails, warns, label_warns, ev)


def _input_stats(ctx: Ctx, fails: list[str], warns: list[str]) -> list[dict]:
    """Per input tensor: NaN/Inf (fail) and scale (warn when far from normalized)."""
    thr = ctx.th("input_std_warn")
    rows = []
    for i, t in enumerate(ctx.pool.tensors()):
        stats: dict = {"index": i, "shape": list(t.shape), "dtype": str(t.dtype)}
        if t.is_floating_point():
            bad = int((~torch.isfinite(t)).sum())
            stats["non_finite"] = bad
            if bad:
                fails.append(f"input {i} holds {bad} NaN/Inf value(s) out of {t.numel()}")
            finite = t[torch.isfinite(t)].double()
            if finite.numel() > 1:
                mean, std = float(finite.mean()), float(finite.std())
                stats.update(mean=mean, std=std, min=float(finite.min()), max=float(finite.max()))
                spread = std
                if t.dim() == 2 and bad == 0:  # tabular: the worst-scaled feature counts
                    spread = float(t.double().std(0).max())
                    stats["max_feature_std"] = spread
                if spread > thr or abs(mean) > thr:
                    warns.append(
                        f"input {i} is far from normalized (mean {fmt(mean)}, std"
                        f" {fmt(spread)}, range {fmt(stats['min'])}..{fmt(stats['max'])})"
                    )
        rows.append(stats)
    return rows


def _target_problems(ctx: Ctx, y: torch.Tensor, fails: list[str], label_warns: list[str]) -> None:
    """NaN targets, labels outside 0..C-1 or numbered from 1, binary targets outside [0, 1]."""
    if y.is_floating_point():
        bad = int((~torch.isfinite(y)).sum())
        if bad:
            fails.append(f"the targets hold {bad} NaN/Inf value(s)")
    task = ctx.task
    if task.task in ("classification", "sequence") and task.n_classes and not y.is_floating_point():
        valid = y[y != task.ignore_index]
        if valid.numel() and (int(valid.min()) < 0 or int(valid.max()) >= task.n_classes):
            fails.append(
                f"labels range {int(valid.min())}..{int(valid.max())} but the output has"
                f" {task.n_classes} classes (valid labels 0..{task.n_classes - 1})"
            )
        elif (
            task.task == "classification"
            and y.dim() == 1
            and _labels_from_one(valid, task.n_classes)
        ):
            label_warns.append(
                f"the labels run 1..{task.n_classes - 1} and class 0 never occurs in"
                f" {valid.numel()} labels: labels numbered from 1 with the final layer"
                " widened to fit, so output 0 is learned as 'never' and the class count is"
                " off by one"
            )
    if task.task == "binary":
        yf = y.float()
        if yf.numel() and (float(yf.min()) < 0 or float(yf.max()) > 1):
            fails.append(
                f"binary targets range {fmt(float(yf.min()))}..{fmt(float(yf.max()))};"
                " binary cross-entropy needs targets in [0, 1]"
            )


def _loss_problems(
    ctx: Ctx, out: torch.Tensor, batch_y: torch.Tensor, fails: list[str], label_warns: list[str]
) -> None:
    """What the user's loss does with this batch's own targets: padding counted, examples
    compared with each other's targets."""
    task = ctx.task
    pad = counted_padding(ctx, out, batch_y)
    if pad is not None:
        label_warns.append(
            f"the loss counts padding: token {pad['token']} fills {pad['share']:.0%} of the"
            f" targets, in runs at the end of {pad['rows']:.0%} of the sequences, and the"
            " loss's gradient reaches those positions, so the net mostly learns to predict"
            f" padding (pass ignore_index={pad['token']} to the loss, or mask those positions)"
        )
    if task.task in ("binary", "regression", "other") and out.shape != batch_y.shape:
        mixed = loss_mixes_examples(ctx, out, batch_y)
        if mixed is not None:
            fails.append(
                f"the loss compares every prediction with every target: output shape"
                f" {tuple(out.shape)} and target shape {tuple(batch_y.shape)} broadcast to"
                f" {mixed} (changing example 0's target changed the loss's gradient for the"
                " other examples' outputs)"
            )


def _sanity_finding(
    ctx: Ctx, fails: list[str], warns: list[str], label_warns: list[str], ev: dict
) -> Finding:
    if fails:
        return Finding(
            "input_sanity",
            "fail",
            "; ".join(fails + warns + label_warns) + ". The net trains on"
            " this silently, and learns the wrong thing.",
            fix="Fix the data or the shapes: drop or impute NaN/Inf rows, make labels"
            " 0..C-1 for C outputs, and give the loss targets of the output's shape"
            " (e.g. out.squeeze(-1) or y.unsqueeze(-1)).",
            evidence=ev,
        )
    if warns or label_warns:
        why = " Unnormalized inputs make the first layer saturate and training slow or unstable."
        fix = (
            "Standardize inputs (subtract the training mean, divide by the std per"
            " feature or channel; images: /255 then normalize)."
        )
        label_fix = "Number the labels 0..C-1 and give the final layer C outputs."
        return Finding(
            "input_sanity",
            "warn",
            "; ".join(warns + label_warns) + "." + (why if warns else ""),
            fix=" ".join(([fix] if warns else []) + ([label_fix] if label_warns else [])),
            evidence=ev,
        )
    return Finding(
        "input_sanity",
        "pass",
        f"{len(ctx.pool.tensors())} input tensor(s) and the"
        " targets are finite, scaled near unit range, with labels and shapes that fit"
        " the output.",
        evidence=ev,
    )


def _labels_from_one(valid: torch.Tensor, c: int) -> bool:
    """Every class but 0 present, 0 absent, in a pool big enough that a real class 0 would
    show (at least 20 labels per class): labels 1..C given C+1 outputs."""
    if c < 3 or valid.numel() < 20 * c:
        return False
    counts = torch.bincount(valid.reshape(-1).long(), minlength=c)
    return int(counts[0]) == 0 and bool((counts[1:] > 0).all())


def counted_padding(ctx: Ctx, out: torch.Tensor, y: torch.Tensor) -> dict | None:
    """A pad token that the user's loss counts: the most common target of a sequence batch,
    filling the end of many rows (right padding), with the loss's gradient reaching the
    outputs at those positions. None when there is none, or the loss already ignores it."""
    if y.dim() != 2 or y.is_floating_point() or y.shape[1] < 4 or out.dim() != 3:
        return None
    values, counts = y.reshape(-1).unique(return_counts=True)
    token = int(values[counts.argmax()])
    share = float(counts.max()) / y.numel()
    rows = float(((y[:, -1] == token) & (y[:, -2] == token)).float().mean())
    if share < 0.2 or rows < 0.3 or token == ctx.task.ignore_index:
        return None
    # Padding is padding in the input too: the positions after each sequence hold one pad id.
    # A dominant real label (a tagger's 'O') sits under varied input tokens.
    x = next((t for t in probe_pool(ctx, y.shape[0]).tensors() if t.shape == y.shape), None)
    inner = (y[:, 1:] == token) & (y[:, :-1] == token) & (y[:, -1:] == token)  # inside end runs
    if x is None or x.is_floating_point() or int(x[:, 1:][inner].unique().numel()) != 1:
        return None
    o = out.detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad():
            (g,) = torch.autograd.grad(ctx.loss_fn(o, y).sum(), o)
    except Exception:  # noqa: BLE001 - a loss that cannot be differentiated here
        return None
    cdim = ctx.task.class_dim % 3
    per_position = g.abs().sum(dim=cdim)  # (B, T)
    if per_position.shape != y.shape or not bool((per_position[y == token] > 0).any()):
        return None
    return {"token": token, "share": share, "rows": rows}


def loss_mixes_examples(ctx: Ctx, out: torch.Tensor, y: torch.Tensor) -> str | None:
    """The broadcast shape when the user's loss, on this batch and its own targets, lets one
    example's target reach the other examples' outputs; None when it keeps them apart.

    Shapes alone cannot tell: ``loss(out.squeeze(-1), y)`` with an output ``(B, 1)`` and targets
    ``(B,)`` is right, ``mse_loss(out, y)`` on the same shapes compares all B x B pairs. So the
    loss itself is asked: its gradient with respect to the outputs, before and after changing
    example 0's target. Only where the shapes differ and could broadcast (a loss over examples
    that legitimately mixes them, e.g. a contrastive one, has matching shapes)."""
    if out.dim() == 0 or y.dim() == 0 or out.shape[0] != y.shape[0] or out.shape[0] < 2:
        return None
    try:
        shape = torch.broadcast_shapes(out.shape, y.shape)
    except RuntimeError:
        return None
    if math.prod(shape) <= max(out.numel(), y.numel()):
        return None
    changed = y.clone()
    changed[0] = (changed[0] + 1) if y.is_floating_point() else 1 - changed[0].clamp(0, 1)

    def grad(targets: torch.Tensor) -> torch.Tensor | None:
        o = out.detach().clone().requires_grad_(True)
        try:
            with torch.enable_grad():
                loss = ctx.loss_fn(o, targets)
                (g,) = torch.autograd.grad(loss.sum(), o, allow_unused=True)
        except Exception:  # noqa: BLE001 - a loss that refuses the shapes broadcasts nothing
            return None
        return g

    before, after = grad(y), grad(changed)
    if before is None or after is None:
        return None
    others = (before[1:] - after[1:]).abs().max()
    scale = before.abs().max().clamp_min(1e-12)
    return str(tuple(shape)) if float(others) > 1e-6 * float(scale) else None


def _const_loss(
    ctx: Ctx, out: torch.Tensor, y: torch.Tensor, value: torch.Tensor, fallback: float
) -> float:
    """The user's loss for an output that is ``value`` (broadcast to the output's shape) for
    every example; the textbook value if the loss cannot take it."""
    try:
        with torch.no_grad():
            const = value.to(device=out.device, dtype=out.dtype).expand(out.shape).contiguous()
            v = float(ctx.loss_fn(const, y))
        return v if math.isfinite(v) else fallback
    except Exception:  # noqa: BLE001 - an exotic loss: use the formula
        return fallback


def _expected_range(
    ctx: Ctx, out: torch.Tensor, y: torch.Tensor
) -> tuple[float, float, str] | None:
    task = ctx.task
    if ctx.expected_init_loss is not None:
        e = float(ctx.expected_init_loss)
        return e, e, "the expected_init_loss you gave"
    kind = task.loss_kind
    if kind in ("ce", "nll") and task.n_classes:
        c = task.n_classes
        p = _label_prior(ctx, y, c)
        h = float(-(p[p > 0] * p[p > 0].log()).sum())
        # The user's own loss on constant outputs: class weights and label smoothing included.
        shape = [1] * out.dim()
        shape[task.class_dim] = c
        uniform = _const_loss(ctx, out, y, torch.full(shape, -math.log(c)), math.log(c))
        prior = _const_loss(ctx, out, y, p.clamp_min(1e-8).log().float().reshape(shape), h)
        lo, hi = sorted((prior, uniform))
        return (
            lo,
            hi,
            (
                f"between {fmt(prior)} (output at the label prior) and {fmt(uniform)}"
                f" (uniform over {c} classes, -log(1/{c}) = {fmt(math.log(c))})"
            ),
        )
    if kind in ("bce_logits", "bce"):
        p = float(y.float().mean().clamp(1e-6, 1 - 1e-6))
        h = -(p * math.log(p) + (1 - p) * math.log(1 - p))
        logits = kind == "bce_logits"
        half = _const_loss(
            ctx, out, y, torch.zeros(()) if logits else torch.full((), 0.5), math.log(2)
        )
        at_p = _const_loss(ctx, out, y, torch.tensor(math.log(p / (1 - p)) if logits else p), h)
        lo, hi = sorted((at_p, half))
        return (
            lo,
            hi,
            (
                f"between {fmt(at_p)} (predicting the positive rate {fmt(p)}) and"
                f" {fmt(half)} (predicting 0.5)"
            ),
        )
    if kind == "mse":
        yf = y.float()
        var, sq = float(yf.var(unbiased=False)), float((yf**2).mean())
        # The upper end allows for the output's own spread at init (about half the target's).
        return (
            var,
            1.5 * sq,
            (
                f"between the target variance {fmt(var)} (output at the target"
                f" mean) and 1.5x the mean squared target {fmt(sq)} (output near 0)"
            ),
        )
    if kind == "l1":
        yf = y.float()
        lo = float((yf - yf.median()).abs().mean())
        return lo, 1.5 * float(yf.abs().mean()), "the mean absolute deviation of the targets"
    return None


_SHAPE_OPS = ("View", "Reshape", "Squeeze", "Unsqueeze", "Clone", "Expand", "Permute", "Select")


def _op(node: Any) -> str:
    return type(node).__name__.removesuffix("Backward0").removesuffix("Backward1")


def _past_shape_ops(node: Any) -> Any:
    """The first node at or under ``node`` that computes something (views only reshape)."""
    while node is not None and _op(node).startswith(_SHAPE_OPS):
        nxt = [n for n, _ in node.next_functions if n is not None]
        node = nxt[0] if nxt else None
    return node


def _below(node: Any) -> Any:
    return _past_shape_ops(next((n for n, _ in node.next_functions if n), None))


def _logs_softmax(head: Any, loss_node: Any) -> bool:
    """Is the model's output a log of a softmax, or a softmax whose log the loss takes? Only the
    output itself counts: a softmax of a teacher's logits inside a distillation loss is a target,
    not the prediction."""
    if _op(head) == "Log":
        below = _below(head)
        return below is not None and _op(below) == "Softmax"
    if _op(head) != "Softmax":
        return False
    seen, todo = set(), [loss_node]
    while todo and len(seen) < 200:
        node = todo.pop()
        if node is None or node in seen or node is head:
            continue
        seen.add(node)
        if _op(node) == "Log" and _below(node) is head:
            return True
        todo.extend(n for n, _ in node.next_functions if n is not None)
    return False


def graph_mistakes(ctx: Ctx) -> list[tuple[str, str]]:
    """Mistakes read from the autograd graph of the user's model and loss on two examples:
    a sigmoid right before a loss that applies its own (BCEWithLogits), and ``log`` of a
    ``softmax`` (which gives -inf once a probability underflows). Certain, not guessed: the ops
    are the user's. Each is (what, fix)."""
    model = ctx.fresh()
    model.train()
    batch = probe_pool(ctx, 2)
    try:
        with torch.enable_grad():
            out = ctx.out(model, batch)
            loss = ctx.loss_fn(out, batch.targets)
    except Exception:  # noqa: BLE001 - the probe already ran it; nothing to read then
        return []
    found = []
    head = _past_shape_ops(getattr(out, "grad_fn", None))
    if ctx.task.loss_kind == "bce_logits" and head is not None and _op(head) == "Sigmoid":
        found.append(
            (
                "the model's output is already a sigmoid, and the loss (BCEWithLogits /"
                " binary_cross_entropy_with_logits) applies another: predictions are squeezed"
                " into (0.5, 0.73) and the loss cannot fall",
                "Return the raw score (logit) from forward and apply the sigmoid only to"
                " report probabilities, or use nn.BCELoss on the sigmoid's output.",
            )
        )
    if head is not None and _logs_softmax(head, getattr(loss, "grad_fn", None)):
        found.append(
            (
                "the loss takes log(softmax(x)) of the model's output: once a probability"
                " underflows to 0 the log gives -inf and the loss and gradients become NaN",
                "Use F.log_softmax(x, dim=-1) (with nll_loss), or return logits and"
                " use cross_entropy, which does it stably.",
            )
        )
    return found


def loss_at_init(ctx: Ctx, out: torch.Tensor, loss: float) -> Finding:
    task = ctx.task
    y = ctx.pool.targets[: out.shape[0]]
    ev: dict = {"loss": loss, "task": task.task, "loss_kind": task.loss_kind}
    wrong = _wrong_outputs(ctx, out, loss, ev)
    if wrong is not None:
        return wrong
    return _against_expected(ctx, out, y, loss, ev)


def _summed(
    ctx: Ctx, y: torch.Tensor, rng: tuple[float, float, str] | None
) -> tuple[float, float, str] | None:
    """The expected range for a loss built with ``reduction='sum'``: the per-element range times
    the number of elements it sums (valid targets for a classification loss)."""
    if rng is None or getattr(ctx.loss_fn, "reduction", None) != "sum":
        return rng
    if ctx.task.loss_kind in ("ce", "nll"):
        n = int((y != ctx.task.ignore_index).sum())
    else:
        n = y.numel()
    lo, hi, why = rng
    return lo * n, hi * n, f"{why}, summed over {n} elements (reduction='sum')"


def _wrong_outputs(ctx: Ctx, out: torch.Tensor, loss: float, ev: dict) -> Finding | None:
    """A loss that is not finite, or outputs of the wrong kind for the loss: read from the
    autograd graph, or from their values."""
    task = ctx.task
    mistakes = graph_mistakes(ctx)
    if mistakes:
        return Finding(
            "loss_at_init",
            "fail",
            "; ".join(m for m, _ in mistakes) + f" (loss at init {fmt(loss)}).",
            fix=" ".join(f for _, f in mistakes),
            evidence=ev,
        )
    if not math.isfinite(loss):
        return Finding(
            "loss_at_init",
            "fail",
            f"the loss at init is {loss}.",
            fix="Look for NaN/Inf in the data, log(0) or division by zero in the model.",
            evidence=ev,
        )
    if task.loss_kind in ("ce", "bce_logits", "nll") and task.n_classes and task.task != "binary":
        probs_like = out.movedim(task.class_dim, -1)
        if (
            task.loss_kind == "ce"
            and bool((probs_like >= 0).all())
            and torch.allclose(probs_like.sum(-1), torch.ones((), device=out.device), atol=1e-3)
        ):
            return Finding(
                "loss_at_init",
                "fail",
                "the outputs are probabilities (non-negative,"
                " summing to 1): a softmax before cross_entropy, which applies"
                " log_softmax itself. The loss can never reach 0 and gradients shrink.",
                fix="Remove the softmax from the model's forward; return raw logits.",
                evidence=ev,
            )
        if task.loss_kind == "nll":
            lse = probs_like.float().logsumexp(-1)
            if float(lse.abs().max()) > 1e-2:
                return Finding(
                    "loss_at_init",
                    "fail",
                    f"nll_loss is given outputs that are not"
                    f" log-probabilities (logsumexp per row up to {fmt(float(lse.abs().max()))},"
                    " not 0): raw logits into NLL lets the loss go to -inf.",
                    fix="Apply log_softmax in the model, or use cross_entropy on logits.",
                    evidence=ev,
                )
    return None


def _against_expected(
    ctx: Ctx, out: torch.Tensor, y: torch.Tensor, loss: float, ev: dict
) -> Finding:
    """The loss at init against what an uninformed net of this task starts at."""
    task = ctx.task
    rng = _summed(ctx, y, _expected_range(ctx, out, y))
    if rng is None:
        return Finding(
            "loss_at_init",
            "skip",
            f"no expected initial loss is known for this loss"
            f" (task {task.task!r}); measured {fmt(loss)}.",
            fix="Pass expected_init_loss= (e.g. a VAE's KL + reconstruction at init) to"
            " compare against.",
            evidence=ev,
        )
    lo, hi, why = rng
    ev.update(expected_low=lo, expected_high=hi)
    if lo <= loss <= hi:
        rel = 0.0
    elif loss > hi:
        rel = loss / hi - 1 if hi > 0 else math.inf
    else:
        rel = lo / loss - 1 if loss > 0 else math.inf
    ev["relative_gap"] = rel
    seen = f"the loss at init is {fmt(loss)}; expected {why}"
    if rel <= ctx.th("loss_init_warn"):
        gap = "" if rel == 0 else f", {rel:.0%} outside that range"
        return Finding(
            "loss_at_init",
            "pass",
            f"{seen}{gap} (tolerance {ctx.th('loss_init_warn'):.0%}).",
            evidence=ev,
        )
    status = "fail" if rel > ctx.th("loss_init_fail") else "warn"
    if loss > hi and task.loss_kind in ("mse", "l1"):
        # A regression net's output scale at init follows its inputs' scale: unstandardized
        # features start it a few times too high, and the first steps fix the scale (a hockey
        # stick, not a bug). Far too high (badly scaled init, targets on another scale) is.
        far = ctx.th("regression_init_far")
        status = "info" if rel <= far else ("warn" if rel <= 5 * far else "fail")
    if loss < lo and task.loss_kind in ("mse", "l1") and rel <= ctx.th("loss_init_fail"):
        # Below the target's variance at init is what a model with a skip connection from its
        # input (a forecaster predicting the last value, a denoiser) does by design.
        return Finding(
            "loss_at_init",
            "info",
            f"{seen}: {rel:.0%} below that range, so the net starts better than a constant."
            " Expected when the output has a skip connection from the input; otherwise look"
            " for targets leaking into the inputs.",
            evidence=ev,
        )
    if loss > hi:
        why_bad = (
            " Too high: the net starts confidently wrong (badly scaled init or final layer,"
            " targets on another scale, or a loss that sums instead of averaging)."
        )
        fix = (
            "Scale the final layer's weights down, set its bias with rw.init_final_bias(model,"
            " targets), standardize regression targets, and use reduction='mean'."
        )
    else:
        why_bad = (
            " Too low: the loss is lower than an uninformed net can reach, so it is not"
            " measuring what you think (labels leaking into inputs, NLL on raw logits, a"
            " loss that ignores most targets)."
        )
        fix = "Check which tensor goes into the loss, and the loss's reduction and ignore_index."
    return Finding("loss_at_init", status, seen + "." + why_bad, fix=fix, evidence=ev)


_ADAPTIVE = (
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adafactor",
)


def _bias_speed(ctx: Ctx) -> tuple[float, bool] | None:
    """The user's first learning rate, and whether the optimizer is adaptive (Adam-like: a bias
    moves by about ``lr`` a step, whatever the gradient); None when it is not known."""
    opt = ctx.optimizer
    if isinstance(opt, (list, tuple)):
        opt = opt[0] if opt else None
    if opt is None:
        return 3e-4, True  # the checks' default optimizer
    if not isinstance(opt, torch.optim.Optimizer) or not opt.param_groups:
        return None
    group = opt.param_groups[0]
    lr = group.get("initial_lr", group.get("lr"))
    if not isinstance(lr, (int, float)) or lr <= 0:
        return None
    return float(lr), type(opt).__name__ in _ADAPTIVE


def _shift_gain(ctx: Ctx, out: torch.Tensor, shift: torch.Tensor) -> float | None:
    """How much the user's own loss on the probe batch drops when only the final bias moves by
    ``shift`` (class weights, label smoothing and ignore_index included): the height of the
    'hockey stick'. None when the loss cannot be evaluated so."""
    y = probe_pool(ctx, out.shape[0]).targets
    try:
        with torch.no_grad():
            before = float(ctx.loss_fn(out, y))
            after = float(ctx.loss_fn(out + shift.to(device=out.device, dtype=out.dtype), y))
    except Exception:  # noqa: BLE001 - an exotic loss: no measured gain
        return None
    return before - after if math.isfinite(before) and math.isfinite(after) else None


def _init_status(ctx: Ctx, kl: float, gain: float | None, loss: float) -> str:
    """A prediction away from the label prior is worth a look ('info'); it is a likely problem
    ('warn') only when moving the final bias alone would remove a large part of the initial
    loss: then the first steps are spent on the prior (Karpathy's 1:10 example removes over
    half of it). A character-level language model's uniform start is ~0.3 nats from its
    letter frequencies, under a tenth of its loss: ordinary, not a warning."""
    if kl <= ctx.th("init_kl_warn"):
        return "pass"
    if gain is None or loss <= 0 or gain < ctx.th("init_gain_warn") * loss:
        return "info"
    return "fail" if kl > ctx.th("init_kl_fail") else "warn"


def init_well(ctx: Ctx, out: torch.Tensor, loss: float = math.nan) -> Finding:
    task = ctx.task
    y = ctx.pool.targets
    fix = "Call rw.init_final_bias(model, targets) once before training (an explicit choice)."
    if task.loss_kind in ("ce", "nll") and task.n_classes:
        c = task.n_classes
        p = _label_prior(ctx, y, c)
        q = _class_probs(ctx, out).mean(0).double().clamp_min(1e-12).cpu()
        kl = float((p[p > 0] * (p[p > 0] / q[p > 0]).log()).sum())
        shape = [1] * out.dim()
        shape[task.class_dim] = c
        shift = (p.clamp_min(1e-8).log() - q.log()).float().reshape(shape)
        ev = {"prior": p, "mean_prediction": q, "kl": kl}
        seen = f"KL(label prior || mean prediction at init) = {fmt(kl)} nats"
    elif task.loss_kind in ("bce_logits", "bce"):
        p = float(y.float().mean().clamp(1e-6, 1 - 1e-6))
        qs = out.float().sigmoid() if task.loss_kind == "bce_logits" else out.float()
        q = float(qs.mean().clamp(1e-6, 1 - 1e-6))
        kl = p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
        logit = math.log(p / (1 - p)) - math.log(q / (1 - q))
        shift = torch.tensor(logit if task.loss_kind == "bce_logits" else p - q)
        ev = {"positive_rate": p, "mean_prediction": q, "kl": kl}
        seen = f"the positive rate is {fmt(p)}, the mean prediction at init {fmt(q)} (KL {fmt(kl)} nats)"
    elif task.loss_kind in ("mse", "l1"):
        return _init_well_regression(ctx, out, y, fix)
    else:
        return Finding("init_well", "skip", f"no prior to compare with for task {task.task!r}.")
    gain = _shift_gain(ctx, out, shift)
    ev["gain_from_bias"] = gain
    status = _init_status(ctx, kl, gain, loss)
    if status == "pass":
        return Finding(
            "init_well", "pass", seen + ": the output starts near the label prior.", evidence=ev
        )
    part = "" if gain is None or not loss > 0 else f" ({gain / loss:.0%} of the loss at init)"
    if status == "info":
        return Finding(
            "init_well",
            "info",
            seen + f". Moving only the final bias to the prior would lower the loss by"
            f" {fmt(gain)}{part}: a short start, not a problem.",
            fix=fix,
            evidence=ev,
        )
    return Finding(
        "init_well",
        status,
        seen + f". The first steps will be spent learning the prior through the final bias"
        f" (the 'hockey stick' loss curve): the bias alone accounts for {fmt(gain)}{part}.",
        fix=fix,
        evidence=ev,
    )


def _init_well_regression(ctx: Ctx, out: torch.Tensor, y: torch.Tensor, fix: str) -> Finding:
    """A regression output far from the target mean is a problem when the optimizer needs many
    steps to walk the bias there: an adaptive optimizer moves a bias by about its LR a step
    (a mean of 150 at lr 1e-2: ~15,000 steps), plain SGD on MSE closes the gap geometrically.
    Ratings of mean 3.5 learned at lr 1e-2 take a few hundred steps: worth a look only."""
    yf = y.float()
    std = float(yf.std()) or 1.0
    offset = abs(float(out.float().mean()) - float(yf.mean()))
    z = offset / std
    ev = {
        "target_mean": float(yf.mean()),
        "target_std": std,
        "mean_prediction": float(out.mean()),
        "distance_in_std": z,
    }
    if z <= ctx.th("init_mean_warn"):
        return Finding(
            "init_well",
            "pass",
            f"the mean prediction at init is {fmt(z)} target std from the target mean.",
            evidence=ev,
        )
    speed = _bias_speed(ctx)
    steps = None
    if speed is not None:
        lr, adaptive = speed
        steps = offset / lr if adaptive or ctx.task.loss_kind == "l1" else 1 / (2 * lr)
        ev["steps_to_reach_mean"] = steps
    seen = (
        f"the mean prediction at init is {fmt(z)} target std away from the target mean"
        f" {fmt(ev['target_mean'])}"
    )
    if steps is not None and steps < ctx.th("init_bias_steps_warn"):
        return Finding(
            "init_well",
            "info",
            seen + f"; at this learning rate the bias gets there in about {steps:.0f} steps:"
            " a short start, not a problem.",
            fix=fix + " Or standardize the targets.",
            evidence=ev,
        )
    status = "fail" if z > ctx.th("init_mean_fail") else "warn"
    took = "" if steps is None else f" (about {steps:.0f} steps at this learning rate)"
    return Finding(
        "init_well",
        status,
        seen + f": the first steps only move the bias{took} (the 'hockey stick' loss curve).",
        fix=fix + " Or standardize the targets.",
        evidence=ev,
    )


def health_at_init(ctx: Ctx) -> Finding:
    stats, loss, grads = _forward_backward_stats(ctx)
    ev = {"layers": stats, "grad_norms": grads}
    if not math.isfinite(loss) or not all(math.isfinite(g) for g in grads.values()):
        return Finding(
            "health_at_init",
            "fail",
            "the loss or the gradients at init are not finite.",
            fix="Look for log(0), division by zero or overflow; lower the init scale.",
            evidence=ev,
        )
    return _health_verdict(ctx, stats, grads, ev)


def _forward_backward_stats(ctx: Ctx) -> tuple[list[dict], float, dict[str, float]]:
    """One forward and backward of a fresh copy: each leaf layer's output std (and dead
    fraction after a ReLU), the loss, and each weight's gradient norm."""
    model = ctx.fresh()
    model.train()
    batch = probe_pool(ctx)
    stats: list[dict] = []
    hooks = []

    def hook(name: str, module: nn.Module):
        def fn(_m: nn.Module, _inp: object, output: object) -> None:
            if (
                not isinstance(output, torch.Tensor)
                or not output.is_floating_point()
                or output.dim() < 2
            ):
                return
            o = output.detach().float()
            row = {"layer": name, "type": type(module).__name__, "std": float(o.std())}
            if isinstance(module, (nn.ReLU, nn.ReLU6)):
                units = o.movedim(1, 0).reshape(o.shape[1], -1)  # (C, B*...)
                row["dead_fraction"] = float((units <= 0).all(1).float().mean())
            stats.append(row)

        return fn

    try:
        for name, m in model.named_modules():
            if name and not any(True for _ in m.children()):
                hooks.append(m.register_forward_hook(hook(name, m)))
        loss = ctx.loss(model, batch)
        loss.backward()
    finally:
        for h in hooks:
            h.remove()
    # An exactly-zero gradient at init is structural (a zero-initialised head or ReZero gate
    # passes none through at step 0; a bias before batch norm never gets one), not vanishing.
    grads = {
        n: float(p.grad.norm())
        for n, p in model.named_parameters()
        if p.grad is not None and p.dim() > 1 and bool(p.grad.any())
    }
    return stats, float(loss.detach()), grads


def _fades_towards_input(norms: list[float]) -> bool:
    """Vanishing gradients fade with depth: the first third of the weights (nearest the input)
    gets a hundredth of the gradient the last third gets. One small gradient elsewhere is not
    that: a transformer's query and key weights start with tiny gradients (attention is almost
    uniform at init) in every layer."""
    k = max(1, len(norms) // 3)
    first, last = norms[:k], norms[-k:]

    def geo(xs: list[float]) -> float:
        return math.exp(sum(math.log(max(x, 1e-30)) for x in xs) / len(xs))

    return geo(first) < 1e-2 * geo(last)


def _health_verdict(ctx: Ctx, stats: list[dict], grads: dict[str, float], ev: dict) -> Finding:
    problems: list[str] = []
    status = "pass"
    big = [s for s in stats if s["std"] > ctx.th("activation_std_fail")]
    if big:
        status = "fail"
        problems.append(
            f"layer {big[0]['layer']} ({big[0]['type']}) outputs std {fmt(big[0]['std'])}"
            " at init: badly scaled init (or unnormalized inputs) saturates the net"
        )
    dead = [s for s in stats if s.get("dead_fraction", 0.0) > ctx.th("dead_relu_warn")]
    if dead:
        worst = max(dead, key=lambda s: s["dead_fraction"])
        status = (
            "fail" if worst["dead_fraction"] >= 1.0 else ("warn" if status == "pass" else status)
        )
        problems.append(
            f"{worst['dead_fraction']:.0%} of the units of {worst['layer']} are dead"
            " (zero for every example) at init: they get no gradient and never recover"
        )
    if len(grads) >= 2:
        ratio = min(grads.values()) / max(max(grads.values()), 1e-30)
        ev["grad_ratio"] = ratio
        if ratio < ctx.th("grad_ratio_warn") and _fades_towards_input(list(grads.values())):
            if status == "pass":
                status = "warn"
            low = min(grads, key=grads.get)  # type: ignore[arg-type]
            problems.append(
                f"the gradient of {low} is {fmt(ratio)} of the largest: vanishing gradients"
            )
    if status == "pass":
        return Finding(
            "health_at_init",
            "pass",
            f"{len(stats)} layer outputs at init have sane"
            " scale, no dead ReLU layer, gradient norms within a factor"
            f" {fmt(1 / ev.get('grad_ratio', 1.0))}.",
            evidence=ev,
        )
    return Finding(
        "health_at_init",
        status,
        "; ".join(problems) + ".",
        fix="Use the default (Kaiming) init or scale weights by 1/sqrt(fan_in); avoid"
        " large negative biases before ReLUs; normalize inputs; add normalization layers"
        " or residual connections for deep nets.",
        evidence=ev,
    )
