"""Parameter coverage and eval-mode determinism: is every weight trained, is evaluation stable?"""

from __future__ import annotations

import torch
from torch import nn

from recipe_widgets.engine.check._context import Ctx, user_optimizers
from recipe_widgets.engine.results import Finding


def _last_param_module(model: nn.Module) -> str | None:
    last = None
    for name, m in model.named_modules():
        if any(True for _ in m.parameters(recurse=False)):
            last = name
    return last


def _missing_from_optimizer(ctx: Ctx, trainable: list[str]) -> list[str]:
    """Trainable parameters of the user's model that none of the user's optimizers holds."""
    given = user_optimizers(ctx.optimizer)
    if not given:
        return []
    names = {id(p): n for n, p in ctx.model.named_parameters()}
    in_opt = {
        names[id(p)] for o in given for g in o.param_groups for p in g["params"] if id(p) in names
    }
    return [n for n in trainable if n not in in_opt]


def _one_step(ctx: Ctx, trainable: list[str], missing: list[str]) -> tuple[list[str], list[str]]:
    """On a fresh copy, one step: the parameters with no gradient, and those that do not move."""
    model = ctx.fresh()
    model.train()
    opt = ctx.make_optimizer(model)
    opt.zero_grad(set_to_none=True)
    batch = ctx.pool.take(slice(0, min(int(ctx.th("batch_size")), ctx.pool.n)))
    ctx.loss(model, batch).backward()
    params = dict(model.named_parameters())
    no_grad = [n for n in trainable if params[n].grad is None or not bool(params[n].grad.any())]
    before = {n: params[n].detach().clone() for n in trainable}
    opt.step()
    # A parameter with a gradient that does not move: its group's lr is 0 (a tiny gradient, like
    # a bias right before batch norm, can legitimately round to no change, so lr decides).
    lr_of = {id(p): g.get("lr") for g in opt.param_groups for p in g["params"]}
    unchanged = [
        n
        for n in trainable
        if n not in no_grad
        and n not in missing
        and torch.equal(before[n], params[n].detach())
        and lr_of.get(id(params[n])) == 0
    ]
    return no_grad, unchanged


def _coverage_problems(missing: list[str], no_grad: list[str], unchanged: list[str]) -> list[str]:
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} trainable parameter(s) are not in the optimizer"
            f" ({', '.join(missing[:5])}): they never change"
        )
    if no_grad:
        problems.append(
            f"{len(no_grad)} trainable parameter(s) get no gradient"
            f" ({', '.join(no_grad[:5])}): not used in forward, or cut off by"
            " .detach() / .data / torch.no_grad"
        )
    if unchanged:
        problems.append(
            f"{len(unchanged)} parameter(s) have a gradient but do not change after a"
            f" step ({', '.join(unchanged[:5])}): a zero learning rate in their group?"
        )
    return problems


def _covered(user: nn.Module, frozen: list[str], trainable: list[str], ev: dict) -> Finding:
    """Every trainable parameter trains: a frozen head warns, other frozen parameters inform."""
    head = _last_param_module(user)
    head_params = [
        n for n, _ in user.named_parameters() if head is not None and n.startswith(f"{head}.")
    ]
    if head_params and set(head_params) <= set(frozen):
        return Finding(
            "parameter_coverage",
            "warn",
            f"the final layer {head!r} is frozen"
            f" (requires_grad=False on {', '.join(head_params)}); frozen backbones are"
            " common, a frozen head is almost always an accident.",
            fix=f"Set requires_grad=True on model.{head}'s parameters.",
            evidence=ev,
        )
    if frozen:
        return Finding(
            "parameter_coverage",
            "info",
            f"all {len(trainable)} trainable parameters"
            f" get gradients, are in the optimizer and change after a step;"
            f" {len(frozen)} are frozen ({', '.join(frozen[:5])}"
            f"{', ...' if len(frozen) > 5 else ''}): fine if deliberate.",
            evidence=ev,
        )
    return Finding(
        "parameter_coverage",
        "pass",
        f"all {len(trainable)} parameters get gradients,"
        " are in the optimizer and change after one step.",
        evidence=ev,
    )


def parameter_coverage(ctx: Ctx) -> Finding:
    user = ctx.model
    frozen = [n for n, p in user.named_parameters() if not p.requires_grad]
    trainable = [n for n, p in user.named_parameters() if p.requires_grad]
    ev: dict = {"frozen": frozen, "trainable": len(trainable)}
    if not trainable:
        return Finding(
            "parameter_coverage",
            "fail",
            "no parameter requires grad: nothing trains.",
            fix="Set requires_grad=True on the parameters to train.",
            evidence=ev,
        )
    missing = _missing_from_optimizer(ctx, trainable)
    no_grad, unchanged = _one_step(ctx, trainable, missing)
    ev.update(missing_from_optimizer=missing, no_gradient=no_grad, unchanged_after_step=unchanged)
    problems = _coverage_problems(missing, no_grad, unchanged)
    if problems:
        return Finding(
            "parameter_coverage",
            "fail",
            "; ".join(problems) + ".",
            fix="Build the optimizer after the model is complete, from"
            " model.parameters(); use every submodule in forward.",
            evidence=ev,
        )
    return _covered(user, frozen, trainable, ev)


@torch.no_grad()
def eval_mode(ctx: Ctx) -> Finding:
    model = ctx.fresh()
    model.eval()
    still = [n or type(model).__name__ for n, m in model.named_modules() if m.training]
    batch = ctx.pool.take(slice(0, min(int(ctx.th("batch_size")), ctx.pool.n)))
    torch.manual_seed(ctx.seed)
    a = ctx.out(model, batch)
    torch.manual_seed(ctx.seed + 1)
    b = ctx.out(model, batch)
    diff = float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
    ev = {"max_difference": diff, "modules_still_training": still}
    if diff > 0 or still:
        where = (
            f" Modules still in train mode after .eval(): {', '.join(still[:5])}." if still else ""
        )
        return Finding(
            "eval_mode",
            "fail",
            f"two passes in eval mode on the same batch differ by"
            f" up to {diff:.3g}: randomness (dropout, augmentation) stays active in"
            f" evaluation, so validation numbers are noisy and biased.{where}",
            fix="Use nn.Dropout modules (or F.dropout(x, training=self.training)), keep"
            " augmentation out of forward, and do not override train().",
            evidence=ev,
        )
    return Finding(
        "eval_mode",
        "pass",
        "two eval-mode passes on the same batch give identical outputs.",
        evidence=ev,
    )
