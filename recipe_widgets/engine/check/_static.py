"""Checks at initialisation, before any training: input sanity, loss at init, init well, health.

All of them look at one forward (and one backward) pass of a fresh copy on the first examples of
the pool, so together they cost about one training step.
"""

from __future__ import annotations

import math

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
    ev: dict = {"inputs": []}
    thr = ctx.th("input_std_warn")
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
        ev["inputs"].append(stats)
    y = ctx.pool.targets
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
    if task.task == "binary":
        yf = y.float()
        if yf.numel() and (float(yf.min()) < 0 or float(yf.max()) > 1):
            fails.append(
                f"binary targets range {fmt(float(yf.min()))}..{fmt(float(yf.max()))};"
                " binary cross-entropy needs targets in [0, 1]"
            )
    if task.task in ("binary", "regression", "other") and out.shape != y.shape:
        if out.numel() == y.numel() or (out.dim() != y.dim()):
            try:
                shape = torch.broadcast_shapes(out.shape, y.shape)
            except RuntimeError:
                shape = None
            if shape is not None and math.prod(shape) > max(out.numel(), y.numel()):
                fails.append(
                    f"output shape {tuple(out.shape)} and target shape {tuple(y.shape)}"
                    f" broadcast to {tuple(shape)} in the loss: every prediction is compared"
                    " with every target"
                )
    ev["targets"] = {"shape": list(y.shape), "dtype": str(y.dtype)}
    ev["output_shape"] = list(out.shape)
    if fails:
        return Finding(
            "input_sanity",
            "fail",
            "; ".join(fails + warns) + ". The net trains on"
            " this silently, and learns the wrong thing.",
            fix="Fix the data or the shapes: drop or impute NaN/Inf rows, make labels"
            " 0..C-1 for C outputs, and give the loss targets of the output's shape"
            " (e.g. out.squeeze(-1) or y.unsqueeze(-1)).",
            evidence=ev,
        )
    if warns:
        return Finding(
            "input_sanity",
            "warn",
            "; ".join(warns) + ". Unnormalized inputs make"
            " the first layer saturate and training slow or unstable.",
            fix="Standardize inputs (subtract the training mean, divide by the std per"
            " feature or channel; images: /255 then normalize).",
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


def loss_at_init(ctx: Ctx, out: torch.Tensor, loss: float) -> Finding:
    task = ctx.task
    y = ctx.pool.targets[: out.shape[0]]
    ev: dict = {"loss": loss, "task": task.task, "loss_kind": task.loss_kind}
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
    rng = _expected_range(ctx, out, y)
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


def init_well(ctx: Ctx, out: torch.Tensor) -> Finding:
    task = ctx.task
    y = ctx.pool.targets
    fix = "Call rw.init_final_bias(model, targets) once before training (an explicit choice)."
    if task.loss_kind in ("ce", "nll") and task.n_classes:
        c = task.n_classes
        p = _label_prior(ctx, y, c)
        q = _class_probs(ctx, out).mean(0).double().clamp_min(1e-12).cpu()
        kl = float((p[p > 0] * (p[p > 0] / q[p > 0]).log()).sum())
        ev = {"prior": p, "mean_prediction": q, "kl": kl}
        seen = f"KL(label prior || mean prediction at init) = {fmt(kl)} nats"
    elif task.loss_kind in ("bce_logits", "bce"):
        p = float(y.float().mean().clamp(1e-6, 1 - 1e-6))
        qs = out.float().sigmoid() if task.loss_kind == "bce_logits" else out.float()
        q = float(qs.mean().clamp(1e-6, 1 - 1e-6))
        kl = p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
        ev = {"positive_rate": p, "mean_prediction": q, "kl": kl}
        seen = f"the positive rate is {fmt(p)}, the mean prediction at init {fmt(q)} (KL {fmt(kl)} nats)"
    elif task.loss_kind in ("mse", "l1"):
        yf = y.float()
        std = float(yf.std()) or 1.0
        z = abs(float(out.float().mean()) - float(yf.mean())) / std
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
        status = "fail" if z > ctx.th("init_mean_fail") else "warn"
        return Finding(
            "init_well",
            status,
            f"the mean prediction at init is {fmt(z)} target std"
            f" away from the target mean {fmt(ev['target_mean'])}: the first steps"
            " only move the bias (the 'hockey stick' loss curve).",
            fix=fix + " Or standardize the targets.",
            evidence=ev,
        )
    else:
        return Finding("init_well", "skip", f"no prior to compare with for task {task.task!r}.")
    if kl <= ctx.th("init_kl_warn"):
        return Finding(
            "init_well", "pass", seen + ": the output starts near the label prior.", evidence=ev
        )
    status = "fail" if kl > ctx.th("init_kl_fail") else "warn"
    return Finding(
        "init_well",
        status,
        seen + ". The first steps will be spent learning the"
        " prior through the final bias (the 'hockey stick' loss curve).",
        fix=fix,
        evidence=ev,
    )


def health_at_init(ctx: Ctx) -> Finding:
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
    grads = {
        n: float(p.grad.norm())
        for n, p in model.named_parameters()
        if p.grad is not None and p.dim() > 1
    }
    ev = {"layers": stats, "grad_norms": grads}
    if not math.isfinite(float(loss.detach())) or not all(math.isfinite(g) for g in grads.values()):
        return Finding(
            "health_at_init",
            "fail",
            "the loss or the gradients at init are not finite.",
            fix="Look for log(0), division by zero or overflow; lower the init scale.",
            evidence=ev,
        )
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
        if ratio < ctx.th("grad_ratio_warn"):
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
