"""The watch's hooks on the user's model and optimizers, and what they measure.

Only public hook APIs are used (optimizer step pre/post hooks, module forward hooks, autograd
node pre-hooks): nothing is monkey-patched, and :meth:`Hooks.remove` takes every one of them
off again (the watch calls it in ``finally:``). The hooks read tensors and never write them.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from recipe_widgets.engine._results import Finding
from recipe_widgets.engine.watch._detectors import (
    Findings,
    LRDetector,
    WatchConfig,
    relu_dead_fraction,
)

LR_EVERY = 10  # steps between looks at an unchanged LR (the collapse check counts steps at ~0)
PROBES = 2  # parameters whose gradients show a forgotten zero_grad (any one of them shows it)
_TRAIN_MODE_LAYERS = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)


class Hooks:
    """Registers, measures and removes. ``steps`` counts optimizer steps of all optimizers.

    Sampling (``E = config.stats_every``): the steps ``k < 3`` and every ``k % E == 0`` are
    *light* samples (dead ReLUs, parameters without gradient, both of which need two samples
    in a row); every ``k % 2E == 0`` is also a *heavy* sample (gradient, weight and update norms,
    the zero_grad probes), which needs one. Either way a bug is seen within ``2E`` steps of its
    first appearance (50 with the defaults). Between samples only the optimizer post-step hook
    runs: it counts the step, reads the LR and arms the hooks when the next step is sampled.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizers: list[torch.optim.Optimizer],
        config: WatchConfig,
        out: Findings,
    ) -> None:
        self.model = model
        self.optimizers = optimizers
        self.config = config
        self.out = out
        self.steps = 0
        self.suspended = False  # True while the watch itself runs the model (w.track)
        self.lr = LRDetector(config, out)
        self.grad_norms: list[tuple[int, float]] = []
        self._lr_points: list[tuple[int, float]] = []  # (step, LR) where the first group's LR changed
        self._lr_seen: list[Any] = [None] * len(optimizers)  # each optimizer's LR object last step
        self._due = 0  # the next step whose post-hook does more than count (see _after_step)
        self._handles: list[Any] = []
        self._transient: list[Any] = []  # activation and gradient hooks on for the sampled step only
        self._nodes: list[Any] = []  # the probes' gradient accumulators while armed
        self._pre: dict[int, Any] = {}  # optimizer index -> its step pre-hook, on for sampled steps
        self._probes_armed = False
        self._relus: list[tuple[str, nn.Module]] = []
        self._probes: list[nn.Parameter] = []
        self._named = list(model.named_parameters())
        self._names = {id(p): n for n, p in self._named}
        self._params_of = [[p for g in opt.param_groups for p in g["params"]] for opt in optimizers]
        self._before: dict[int, tuple[list[nn.Parameter], list[torch.Tensor]]] = {}  # opt -> (params, copies)
        self._grad_seen: dict[int, tuple[int, int]] = {}  # id(p) -> (id(grad), grad._version)
        self._checked_since_step: set[int] = set()
        self._no_grad_runs: dict[int, int] = {}
        self._dead_runs: dict[str, int] = {}
        self._probes_of: list[list[nn.Parameter]] = [[] for _ in optimizers]
        self._relu_sampled: dict[str, int] = {}  # layer -> the step it was last sampled at
        self._first_norm: float | None = None
        self._in_opt = {id(p) for params in self._params_of for p in params}
        self._has_train_layers = any(isinstance(m, _TRAIN_MODE_LAYERS) for m in model.modules())

    # -- registration -------------------------------------------------------------------------

    def register(self) -> None:
        for i, opt in enumerate(self.optimizers):
            self._handles.append(opt.register_step_post_hook(self._make_post(i)))
        if self._has_train_layers:  # evaluation in train mode only matters with dropout / batch norm
            self._handles.append(self.model.register_forward_hook(self._on_model_forward))
        self._relus = [(name, m) for name, m in self.model.named_modules() if isinstance(m, nn.ReLU)]
        # zero_grad check: a few small trainable parameters are enough (any of them shows it).
        in_opt = [p for params in self._params_of for p in params]
        self._probes = sorted((p for p in in_opt if p.requires_grad), key=lambda p: p.numel())[:PROBES]
        probe_ids = {id(p) for p in self._probes}
        self._probes_of = [[p for p in params if id(p) in probe_ids] for params in self._params_of]
        self._arm(self.steps)  # the first steps are sampled

    def light(self, k: int) -> bool:
        """Is the optimizer step after ``k`` completed ones a light sample?"""
        return k < 3 or k % self.config.stats_every == 0

    def heavy(self, k: int) -> bool:
        return k < 3 or k % (2 * self.config.stats_every) == 0

    def _arm(self, k: int) -> None:
        """Hooks for one sampled step only: a hook costs every forward or backward it is on, so
        between samples they are off, not merely quick to return."""
        for i in range(len(self.optimizers)):
            self._arm_pre(i)
        for name, module in self._relus:
            self._transient.append(module.register_forward_hook(self._make_relu(name)))
        self._probes_armed = self.heavy(k)
        if self._probes_armed:
            for p in self._probes:
                node = _accumulator(p)
                if node is not None:  # held, so the coming forward uses this node and its hook
                    self._nodes.append(node)
                    self._transient.append(node.register_prehook(self._make_grad_probe(p)))

    def _arm_pre(self, index: int) -> None:
        if index not in self._pre:
            self._pre[index] = self.optimizers[index].register_step_pre_hook(self._make_pre(index))

    def _disarm(self) -> None:
        for h in self._transient:
            h.remove()
        self._transient.clear()
        self._nodes.clear()  # unreferenced, they go with their graph: no hook is left behind
        self._probes_armed = False

    def remove(self) -> None:
        self._disarm()
        for h in [*self._handles, *self._pre.values()]:
            h.remove()
        self._handles.clear()
        self._pre.clear()
        self._before.clear()

    # -- optimizer steps ----------------------------------------------------------------------

    def _make_pre(self, index: int) -> Any:
        def pre(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            # Armed for sampled steps only (see _arm): gradients as the step will use them.
            k = self.steps
            with_grad = self._check_gradients(index, k + 1)
            if with_grad and self.heavy(k):
                with torch.no_grad():  # the weights before the update, for the update norms
                    self._before[index] = (with_grad, [p.detach().clone() for p in with_grad])

        return pre

    def _make_post(self, index: int) -> Any:
        single = len(self.optimizers) == 1
        seen = self._lr_seen

        def post(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            # Runs after every step, right after the optimizer's own work has pushed our code
            # and data out of the CPU caches: the common case is a counter and two comparisons.
            if single:
                step = self.steps = self.steps + 1
                groups = opt.param_groups
                if step < self._due and groups and groups[0]["lr"] is seen[0]:
                    return  # not a sampled step, and the LR object is the one seen last step
            elif index == 0:
                self.steps += 1
            self._after_step(index, opt, self.steps)

        return post

    def _after_step(self, index: int, opt: torch.optim.Optimizer, step: int) -> None:
        """The post-step work of a sampled step, a step whose LR changed, or a periodic LR look."""
        first = len(self.optimizers) == 1 or index == 0
        groups = opt.param_groups
        # The LR this step used: a scheduler steps after the optimizer, so it is still there.
        self.lr.feed(index, groups, step)
        if groups:
            lr = groups[0]["lr"]
            self._lr_seen[index] = lr
            if index == 0 and (not self._lr_points or self._lr_points[-1][1] != float(lr)):
                self._lr_points.append((step, float(lr)))
        self._checked_since_step.clear()
        sampled = index in self._pre
        coming = self.light(step)
        before = self._before.pop(index, None)
        if before is not None:
            with torch.no_grad():
                self._norm_stats(*before, step)
        if sampled and not coming:
            self._pre.pop(index).remove()
        if coming:  # the coming step is sampled: its forward and backward too
            self._arm_pre(index)
        if first:
            if sampled and index == 0 and step <= 3 * self.config.stats_every:
                self._check_outside_optimizers(step)
            if sampled or coming:
                self._disarm()
            if coming:
                self._arm(step)
        if self._probes_armed:
            # What the probes will compare the next backward against: this step's gradients.
            for p in self._probes_of[index]:
                if p.grad is not None:
                    self._grad_seen[id(p)] = (id(p.grad), p.grad._version)
        # The next step that needs more than the fast path: the sampled step's own post, the
        # step before the next sample (to arm it), or the next periodic look at the LR.
        every = self.config.stats_every
        nxt = step + 1 if coming else max(3, (step // every + 1) * every)
        self._due = min(nxt, (step // LR_EVERY + 1) * LR_EVERY)

    def lr_history(self) -> list[tuple[int, float]]:
        """The first optimizer's first-group LR at every step so far (kept as change points)."""
        out: list[tuple[int, float]] = []
        points = self._lr_points
        for i, (start, lr) in enumerate(points):
            end = points[i + 1][0] if i + 1 < len(points) else self.steps + 1
            out.extend((s, lr) for s in range(start, end))
        return out

    def _check_outside_optimizers(self, step: int) -> None:
        """Trainable, receiving gradients, in no watched optimizer: it is never updated."""
        for name, p in self._named:
            if p.requires_grad and p.grad is not None and id(p) not in self._in_opt:
                self.out.add(
                    f"not_in_optimizer:{name}",
                    Finding(
                        "not_in_optimizer",
                        "warn",
                        f"Parameter {name} gets gradients but is in no watched optimizer, so it "
                        f"is never updated (seen at step {step}).",
                        fix="Build the optimizer from model.parameters() after all layers exist "
                        "(and after moving the model to its device), or freeze it with "
                        "requires_grad_(False) if that is intended.",
                        evidence={"step": step, "parameter": name},
                    ),
                )

    def _check_gradients(self, index: int, step: int) -> list[nn.Parameter]:
        """The trainable parameters of optimizer ``index`` that have a gradient; the others are
        counted, and reported once they had none at ``no_grad_samples`` samples in a row."""
        with_grad: list[nn.Parameter] = []
        runs_of = self._no_grad_runs
        for p in self._params_of[index]:
            if not p.requires_grad:
                continue
            if p.grad is not None:
                if runs_of:
                    runs_of.pop(id(p), None)
                with_grad.append(p)
                continue
            runs = runs_of[id(p)] = runs_of.get(id(p), 0) + 1
            name = self._names.get(id(p), "?")
            if runs >= self.config.no_grad_samples and f"no_gradient:{name}" not in self.out:
                self.out.add(
                    f"no_gradient:{name}",
                    Finding(
                        "no_gradient",
                        "warn",
                        f"Parameter {name} is trainable and in the optimizer but has had "
                        f"no gradient at {runs} sampled steps (up to step {step}).",
                        fix="It is not used in the forward pass, or its output is detached "
                        "(.detach(), .item(), numpy). Remove it or freeze it with "
                        "requires_grad_(False) if that is intended.",
                        evidence={"parameter": name, "step": step},
                    ),
                )
        return with_grad

    def _norm_stats(self, params: list[nn.Parameter], before: list[torch.Tensor], step: int) -> None:
        """Gradient, weight and update norms of one heavy sample, in one batched norm call."""
        weights = [p.detach() for p in params]
        grads = [p.grad.detach() if p.grad is not None else torch.zeros_like(w) for p, w in zip(params, weights)]
        torch._foreach_sub_(before, weights)  # our copy becomes minus the update
        n = len(params)
        values = _norms(grads + weights + before)
        names = [self._names.get(id(p), "?") for p in params]
        norms = dict(zip(names, values[:n]))
        rel = {name: g / w if w > 0 else g for name, g, w in zip(names, values[:n], values[n : 2 * n])}
        ratios = {
            name: (d / w if w > 0 else (math.inf if d > 0 else 0.0))
            for name, w, d in zip(names, values[n : 2 * n], values[2 * n :])
        }
        self._update_findings(ratios, step)
        total = math.sqrt(sum(v * v for v in norms.values()))
        self.grad_norms.append((step, total))
        if not math.isfinite(total):
            bad = [n for n, v in norms.items() if not math.isfinite(v)]
            self.out.add(
                "grad_not_finite",
                Finding(
                    "grad_not_finite",
                    "fail",
                    f"Gradients are NaN/Inf at step {step} (in {', '.join(bad[:5])}).",
                    fix="Find the op producing them (log, sqrt, division near 0); lower the LR; "
                    "with mixed precision use a GradScaler.",
                    evidence={"step": step, "parameters": bad},
                ),
            )
            return
        if self._first_norm is None:
            self._first_norm = total
        first = self._first_norm
        if total > self.config.grad_explode or (
            first > 0 and total > self.config.grad_explode_factor * first
        ):
            self.out.add(
                "grad_exploding",
                Finding(
                    "grad_exploding",
                    "warn",
                    f"The gradient norm exploded to {total:.3g} at step {step} "
                    f"(first sampled: {first:.3g}).",
                    fix="Lower the LR, clip gradients (clip_grad_norm_(params, 1.0)), check the "
                    "initialisation and normalisation of inputs.",
                    evidence={"step": step, "norm": total, "first": first},
                ),
            )
        top = max(rel.values())
        if len(rel) > 1 and top > 0:
            low = {n: v for n, v in rel.items() if v < self.config.grad_vanish * top}
            if low:
                self.out.add(
                    "grad_vanishing",
                    Finding(
                        "grad_vanishing",
                        "warn",
                        f"Gradients vanish at step {step}: {', '.join(sorted(low)[:5])} get(s) "
                        f"under {self.config.grad_vanish:g} of the largest relative gradient.",
                        fix="Use ReLU/GELU instead of saturating activations, add normalisation "
                        "or residual connections, check the initialisation.",
                        evidence={"step": step, "parameters": sorted(low)},
                    ),
                )

    def _update_findings(self, ratios: dict[str, float], step: int) -> None:
        high = {n: r for n, r in ratios.items() if r > self.config.ratio_high}
        if high:
            worst = max(high, key=high.get)
            self.out.add(
                "update_ratio_high",
                Finding(
                    "update_ratio_high",
                    "warn",
                    f"At step {step} the update changed {worst} by {high[worst]:.2g} of its norm "
                    f"(healthy is ~1e-3): the learning rate is too high for it.",
                    fix="Lower the learning rate (a 10-100x lower LR brings the ratio near 1e-3).",
                    evidence={"step": step, "ratios": high},
                ),
            )

    def _make_grad_probe(self, p: nn.Parameter) -> Any:
        def probe(grad_outputs: Any) -> None:
            # Runs before this backward accumulates into p.grad: p.grad still holds what the
            # last optimizer step used unless zero_grad (or set_to_none) happened since.
            if id(p) in self._checked_since_step or id(p) not in self._grad_seen:
                return
            self._checked_since_step.add(id(p))
            old = p.grad
            if old is None or (id(old), old._version) != self._grad_seen[id(p)]:
                return
            if not bool(old.any()):
                return
            name = self._names.get(id(p), "?")
            self.out.add(
                "zero_grad_forgotten",
                Finding(
                    "zero_grad_forgotten",
                    "fail",
                    f"Gradients are accumulating across steps: after optimizer step "
                    f"{self.steps}, backward() added to the old gradient of {name} - "
                    "zero_grad() was not called.",
                    fix="Call optimizer.zero_grad() once per optimizer step (before backward, "
                    "or right after step()). With gradient accumulation, zero after each step.",
                    evidence={"step": self.steps, "parameter": name},
                ),
            )

        return probe

    # -- forwards -----------------------------------------------------------------------------

    def _on_model_forward(self, module: nn.Module, args: Any, output: Any) -> None:
        if self.suspended:
            return
        evaluating = not torch.is_grad_enabled() or torch.is_inference_mode_enabled()
        if evaluating and module.training and self._has_train_layers:
            self.out.add(
                "eval_in_train_mode",
                Finding(
                    "eval_in_train_mode",
                    "warn",
                    f"A forward pass ran under no_grad with the model in train mode (after "
                    f"step {self.steps}): dropout stays on and batch norm uses batch statistics "
                    "and updates its running averages, so evaluation numbers are wrong.",
                    fix="Call model.eval() before evaluating and model.train() after.",
                    evidence={"step": self.steps},
                ),
            )

    def _make_relu(self, name: str) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if self.suspended or not module.training or not torch.is_grad_enabled():
                return
            step = self.steps
            if self._relu_sampled.get(name) == step:
                return  # armed for sampled steps only; of those, the first training forward counts
            self._relu_sampled[name] = step
            frac = relu_dead_fraction(output)
            runs = self._dead_runs.get(name, 0) + 1 if frac > self.config.dead_fraction else 0
            self._dead_runs[name] = runs
            if runs >= self.config.dead_samples:
                self.out.add(
                    f"dead_relu:{name}",
                    Finding(
                        "dead_relu",
                        "warn",
                        f"{frac:.0%} of the units after {name} output 0 for the whole batch "
                        f"(at step {self.steps}): they are dead and no longer learn.",
                        fix="Lower the LR, check the initialisation and biases; LeakyReLU/GELU "
                        "or normalisation before the activation keeps units alive.",
                        evidence={"step": self.steps, "layer": name, "dead_fraction": frac},
                    ),
                )

        return hook


def _accumulator(p: nn.Parameter) -> Any:
    """The autograd node that accumulates into ``p.grad``, or None when it cannot be had.

    A hook on this node, not on the tensor: ``p.register_hook`` leaves a Python call on every
    later backward even after its handle is removed, while the node (and its hook) is freed with
    the graph once the watch lets go of it."""
    try:
        with torch.enable_grad():
            return p.expand_as(p).grad_fn.next_functions[0][0]
    except (AttributeError, IndexError, RuntimeError):  # inference tensors, odd subclasses
        return None


def _norms(tensors: list[torch.Tensor]) -> list[float]:
    """L2 norms (in float32) of many tensors with one device sync, not one per tensor."""
    if not tensors:
        return []
    try:
        norms = torch._foreach_norm(tensors, 2, dtype=torch.float32)
    except (AttributeError, RuntimeError, TypeError):  # older torch, or tensors it cannot batch
        norms = [t.float().norm() for t in tensors]
    try:
        return torch.stack(norms).tolist()
    except RuntimeError:  # norms on several devices
        return torch.stack([n.to(tensors[0].device) for n in norms]).tolist()
