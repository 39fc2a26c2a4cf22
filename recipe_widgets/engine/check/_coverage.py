"""Parameter coverage and eval-mode determinism: is every weight trained, is evaluation stable?"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from recipe_widgets.engine.check._context import Ctx, user_optimizers
from recipe_widgets.engine.results import Finding
from recipe_widgets.engine.seed import seed_torch


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


def _one_step(
    ctx: Ctx, trainable: list[str], missing: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """On a fresh copy, one step: the parameters with no gradient, those that do not move, and
    layers hidden in plain containers that train but no optimizer sees."""
    model = ctx.fresh()
    model.train()
    opt = ctx.make_optimizer(model)
    opt.zero_grad(set_to_none=True)
    batch = ctx.pool.take(slice(0, min(int(ctx.th("batch_size")), ctx.pool.n)))
    ctx.loss(model, batch).backward()
    params = dict(model.named_parameters())
    no_grad = [n for n in trainable if params[n].grad is None or not bool(params[n].grad.any())]
    # A parameter with a gradient that does not move: its group's lr is 0 (a tiny gradient, like
    # a bias right before batch norm, can legitimately round to no change, so lr decides). Only
    # those are kept to compare (a copy of every parameter would cost a model's size).
    lr_of = {id(p): g.get("lr") for g in opt.param_groups for p in g["params"]}
    before = {
        n: params[n].detach().clone()
        for n in trainable
        if n not in missing and lr_of.get(id(params[n])) == 0
    }
    opt.step()
    # Hidden layers that train in forward (their parameters got gradients) but that no
    # optimizer can see; a frozen teacher kept in a list on purpose gets none and is fine.
    hidden = [
        name
        for name, ps in unregistered_layers(model)
        if any(p.requires_grad and p.grad is not None for p in ps)
    ]
    if any(params[n].grad is not None for n in no_grad):
        no_grad = _still_without_gradient(ctx, model, opt, batch, no_grad)
    unchanged = [
        n for n in before if n not in no_grad and torch.equal(before[n], params[n].detach())
    ]
    return no_grad, unchanged, hidden


def _coverage_problems(
    missing: list[str], no_grad: list[str], unchanged: list[str], hidden: list[str]
) -> list[str]:
    problems = []
    if hidden:
        problems.append(
            f"layers kept in a plain Python list or dict ({', '.join(hidden[:5])}) are not"
            " registered: model.parameters() never sees them, so the optimizer never updates"
            " them and .to(device) / state_dict() skip them"
        )
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
    no_grad, unchanged, hidden = _one_step(ctx, trainable, missing)
    ev.update(
        missing_from_optimizer=missing,
        no_gradient=no_grad,
        unchanged_after_step=unchanged,
        unregistered=hidden,
    )
    problems = _coverage_problems(missing, no_grad, unchanged, hidden)
    if problems:
        registered = (
            "Hold submodules in nn.ModuleList / nn.ModuleDict (parameters in"
            " nn.ParameterList), then build the optimizer from model.parameters(). "
        )
        return Finding(
            "parameter_coverage",
            "fail",
            "; ".join(problems) + ".",
            fix=(registered if hidden else "")
            + "Build the optimizer after the model is complete, from"
            " model.parameters(); use every submodule in forward.",
            evidence=ev,
        )
    return _covered(user, frozen, trainable, ev)


def _still_without_gradient(
    ctx: Ctx, model: nn.Module, opt: Any, batch: Any, names: list[str]
) -> list[str]:
    """Of ``names`` (no gradient at the first step), those that have none in the next steps
    either. A gradient of exactly 0 at init can be the design: a ReZero gate or a zero-initialised
    head lets no gradient through at step 0, and one step later it does."""
    params = dict(model.named_parameters())
    left = [n for n in names if params[n].grad is not None]  # None: not in the graph at all
    for _ in range(3):
        if not left:
            break
        opt.zero_grad(set_to_none=True)
        ctx.loss(model, batch).backward()
        left = [n for n in left if params[n].grad is None or not bool(params[n].grad.any())]
        opt.step()
    return [n for n in names if params[n].grad is None or n in left]


def _params_in(value: Any, depth: int) -> list[torch.Tensor]:
    """Parameters held by a (nested) plain container of modules and parameters."""
    if isinstance(value, nn.Parameter):
        return [value]
    if isinstance(value, nn.Module):
        return list(value.parameters())
    if depth == 0 or not isinstance(value, (list, tuple, dict)):
        return []
    items = value.values() if isinstance(value, dict) else value
    return [p for v in items for p in _params_in(v, depth - 1)]


def unregistered_layers(model: nn.Module) -> list[tuple[str, list[torch.Tensor]]]:
    """Attributes holding modules or parameters inside a plain list, tuple or dict, with their
    parameters: PyTorch does not register them, so ``parameters()`` never sees them."""
    found = []
    for prefix, module in model.named_modules():
        for attr, value in vars(module).items():
            if attr.startswith("_") or not isinstance(value, (list, tuple, dict)):
                continue
            params = _params_in(value, depth=3)
            if params:
                found.append((f"{prefix}.{attr}" if prefix else attr, params))
    return found


def data_order(ctx: Ctx) -> Finding:
    """An unshuffled training loader over data sorted by class: each batch then holds one class
    and the net chases the last class it saw (the loss swings, the model forgets)."""
    loader = ctx.raw_data
    if not isinstance(loader, torch.utils.data.DataLoader):
        return Finding("data_order", "skip", "data is not a DataLoader: no order to look at.")
    if not isinstance(loader.sampler, torch.utils.data.SequentialSampler):
        return Finding(
            "data_order", "pass", "the loader draws its examples in a shuffled or sampled order."
        )
    y = ctx.pool.targets
    if y.is_floating_point() or y.dim() != 1 or ctx.task.task not in ("classification", "binary"):
        return Finding("data_order", "skip", "not a classification task with one label each.")
    size = loader.batch_size or 1
    batches = [y[i : i + size] for i in range(0, y.shape[0], size)][:8]
    batches = [b for b in batches if b.numel() >= 4]
    if len(batches) < 3:
        return Finding("data_order", "skip", "too few batches read to judge their order.")
    majority = [float(b.bincount().max()) / b.numel() for b in batches]
    pure = sum(m >= 0.9 for m in majority)
    ev = {"batches": len(batches), "single_class_batches": pure, "majority_share": majority}
    if pure >= 0.75 * len(batches):
        firsts = [int(b.bincount().argmax()) for b in batches]
        return Finding(
            "data_order",
            "warn",
            f"the training loader is not shuffled (shuffle=False) and {pure} of its first"
            f" {len(batches)} batches hold a single class (classes {firsts}): the data is"
            " sorted by label, so each step pulls the net towards one class and it forgets"
            " the others.",
            fix="Pass shuffle=True to the training DataLoader (a seeded generator= keeps it"
            " reproducible).",
            evidence=ev,
        )
    return Finding(
        "data_order",
        "pass",
        f"the loader is not shuffled, but its first {len(batches)} batches mix the classes.",
        evidence=ev,
    )


@torch.no_grad()
def eval_mode(ctx: Ctx) -> Finding:
    model = ctx.fresh()
    model.eval()
    still = [n or type(model).__name__ for n, m in model.named_modules() if m.training]
    batch = ctx.pool.take(slice(0, min(int(ctx.th("batch_size")), ctx.pool.n)))
    seed_torch(ctx.seed)
    a = ctx.out(model, batch)
    seed_torch(ctx.seed + 1)
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
    if _val_item_changes(ctx.raw_val):
        return Finding(
            "eval_mode",
            "warn",
            "the model is deterministic in eval mode, but reading the same validation example"
            " twice gives different inputs: the evaluation data goes through a random"
            " transform (augmentation), so validation numbers are noisy and measure"
            " augmented data.",
            fix="Give the validation / test dataset a deterministic transform (resize,"
            " to-tensor, normalize only); keep random augmentation for training.",
            evidence=ev,
        )
    return Finding(
        "eval_mode",
        "pass",
        "two eval-mode passes on the same batch give identical outputs.",
        evidence=ev,
    )


def _val_item_changes(val: Any) -> bool:
    """Does the validation dataset return different data for the same index twice? (The
    global RNG the transform draws from is put back by ``rw.check`` afterwards.)"""
    dataset = val.dataset if isinstance(val, torch.utils.data.DataLoader) else val
    if not isinstance(dataset, torch.utils.data.Dataset) or isinstance(
        dataset, torch.utils.data.IterableDataset
    ):
        return False
    try:
        if len(dataset) == 0:  # type: ignore[arg-type]
            return False
        first, second = dataset[0], dataset[0]
    except Exception:  # noqa: BLE001 - a dataset that cannot be indexed twice says nothing
        return False
    a, b = _tensors(first), _tensors(second)
    return len(a) == len(b) and any(
        x.shape != y.shape or not torch.equal(x, y) for x, y in zip(a, b)
    )


def _tensors(item: Any) -> list[torch.Tensor]:
    if isinstance(item, torch.Tensor):
        return [item]
    if isinstance(item, dict):
        return [t for v in item.values() for t in _tensors(v)]
    if isinstance(item, (tuple, list)):
        return [t for v in item for t in _tensors(v)]
    return []
