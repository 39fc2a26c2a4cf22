"""The watch's hooks on the user's model and optimizers, and what they measure.

Only public hook APIs are used (optimizer step pre/post hooks, module forward hooks, tensor
gradient hooks): nothing is monkey-patched, and :meth:`Hooks.remove` takes every one of them
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

PROBES = 2  # parameters whose gradients show a forgotten zero_grad (any one of them shows it)
_TRAIN_MODE_LAYERS = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)


class Hooks:
    """Registers, measures and removes. ``steps`` counts optimizer steps of all optimizers."""

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
        self.lrs: list[tuple[int, float]] = []
        self._handles: list[Any] = []
        self._transient: list[Any] = []  # hooks on for the sampled step only
        self._relus: list[tuple[str, nn.Module]] = []
        self._probes: list[nn.Parameter] = []
        self._names = {id(p): n for n, p in model.named_parameters()}
        self._before: dict[int, torch.Tensor] = {}  # sampled step: weights before the update
        self._grad_seen: dict[int, tuple[int, int]] = {}  # id(p) -> (id(grad), grad._version)
        self._checked_since_step: set[int] = set()
        self._no_grad_runs: dict[int, int] = {}
        self._dead_runs: dict[str, int] = {}
        self._probes_of: list[list[nn.Parameter]] = [[] for _ in optimizers]
        self._relu_sampled: dict[str, int] = {}  # layer -> the step it was last sampled at
        self._weight_norms: dict[int, float] = {}  # id(p) -> norm before the sampled update
        self._first_norm: float | None = None
        self._in_opt = {id(p) for opt in optimizers for g in opt.param_groups for p in g["params"]}
        self._has_train_layers = any(isinstance(m, _TRAIN_MODE_LAYERS) for m in model.modules())

    # -- registration -------------------------------------------------------------------------

    def register(self) -> None:
        for i, opt in enumerate(self.optimizers):
            self._handles.append(opt.register_step_post_hook(self._make_post(i)))
        if self._has_train_layers:  # evaluation in train mode only matters with dropout / batch norm
            self._handles.append(self.model.register_forward_hook(self._on_model_forward))
        self._relus = [(name, m) for name, m in self.model.named_modules() if isinstance(m, nn.ReLU)]
        # zero_grad check: a few small trainable parameters are enough (any of them shows it).
        in_opt = [p for opt in self.optimizers for g in opt.param_groups for p in g["params"]]
        self._probes = sorted((p for p in in_opt if p.requires_grad), key=lambda p: p.numel())[:PROBES]
        probe_ids = {id(p) for p in self._probes}
        self._probes_of = [
            [p for g in opt.param_groups for p in g["params"] if id(p) in probe_ids] for opt in self.optimizers
        ]
        self._arm()  # the first steps are sampled

    def _arm(self) -> None:
        """Activation and gradient hooks for one sampled step only: a hook costs every forward
        or backward it is on, so between samples they are off, not merely quick to return."""
        for i, opt in enumerate(self.optimizers):
            self._transient.append(opt.register_step_pre_hook(self._make_pre(i)))
        for name, module in self._relus:
            self._transient.append(module.register_forward_hook(self._make_relu(name)))
        for p in self._probes:
            self._transient.append(p.register_hook(self._make_grad_probe(p)))

    def _disarm(self) -> None:
        for h in self._transient:
            h.remove()
        self._transient.clear()

    def remove(self) -> None:
        self._disarm()
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._before.clear()

    # -- optimizer steps ----------------------------------------------------------------------

    def _sampled(self) -> bool:
        return self.steps < 3 or self.steps % self.config.stats_every == 0

    def _params(self, opt: torch.optim.Optimizer) -> list[nn.Parameter]:
        return [p for g in opt.param_groups for p in g["params"]]

    def _make_pre(self, index: int) -> Any:
        def pre(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            # Armed for sampled steps only (see _arm): gradients as the step will use them.
            step = self.steps + 1
            if not self._sampled():
                return
            with torch.no_grad():
                self._grad_stats(opt, step)
                for p in self._params(opt):
                    if p.grad is not None and p.requires_grad:
                        self._before[id(p)] = p.detach().clone()

        return pre

    def _make_post(self, index: int) -> Any:
        def post(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            if index == 0 or len(self.optimizers) == 1:
                self.steps += 1
            step = self.steps
            # The LR this step used: a scheduler steps after the optimizer, so it is still there.
            self.lr.feed(index, opt.param_groups, step)
            if index == 0 and opt.param_groups:
                self.lrs.append((step, float(opt.param_groups[0]["lr"])))
            if self._checked_since_step:
                self._checked_since_step.clear()
            if index == 0 and step <= 3 * self.config.stats_every:
                self._check_outside_optimizers(step)
            if self._before:
                with torch.no_grad():
                    self._update_stats(opt, step)
            if index == 0 or len(self.optimizers) == 1:
                if self._transient:
                    self._disarm()
                if self._sampled():  # the coming step is sampled: its forward and backward too
                    self._arm()
            if self._transient:
                # What the probes will compare the next backward against: this step's gradients.
                for p in self._probes_of[index]:
                    if p.grad is not None:
                        self._grad_seen[id(p)] = (id(p.grad), p.grad._version)

        return post

    def _check_outside_optimizers(self, step: int) -> None:
        """Trainable, receiving gradients, in no watched optimizer: it is never updated."""
        for name, p in self.model.named_parameters():
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

    def _grad_stats(self, opt: torch.optim.Optimizer, step: int) -> None:
        norms: dict[str, float] = {}
        rel: dict[str, float] = {}
        with_grad: list[nn.Parameter] = []
        for p in self._params(opt):
            name = self._names.get(id(p), "?")
            if not p.requires_grad:
                continue
            if p.grad is None:
                runs = self._no_grad_runs.get(id(p), 0) + 1
                self._no_grad_runs[id(p)] = runs
                if runs >= self.config.no_grad_samples:
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
                continue
            self._no_grad_runs.pop(id(p), None)
            with_grad.append(p)
        if not with_grad:
            return
        both = _norms([p.grad.detach() for p in with_grad] + [p.detach() for p in with_grad])
        grad_norms, weight_norms = both[: len(with_grad)], both[len(with_grad) :]
        self._weight_norms = {id(p): w for p, w in zip(with_grad, weight_norms)}
        for p, g, w in zip(with_grad, grad_norms, weight_norms):
            name = self._names.get(id(p), "?")
            norms[name] = g
            rel[name] = g / w if w > 0 else g
        if not norms:
            return
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

    def _update_stats(self, opt: torch.optim.Optimizer, step: int) -> None:
        ratios: dict[str, float] = {}
        pairs = [(p, self._before.pop(id(p))) for p in self._params(opt) if id(p) in self._before]
        self._before.clear()
        if pairs:
            changes = _norms(list(torch._foreach_sub([p.detach() for p, _ in pairs], [b for _, b in pairs])))
            for (p, _), change in zip(pairs, changes):
                w = self._weight_norms.get(id(p), 0.0)
                if w > 0:
                    ratios[self._names.get(id(p), "?")] = change / w
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
        def probe(grad: torch.Tensor) -> None:
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
            if not (step < 3 or step % self.config.stats_every == 0) or self._relu_sampled.get(name) == step:
                return  # sampled: the first training forward of one optimizer step in stats_every
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


def _norms(tensors: list[torch.Tensor]) -> list[float]:
    """L2 norms (in float32) of many tensors with one device sync, not one per tensor."""
    if not tensors:
        return []
    try:
        norms = torch._foreach_norm(tensors, 2, dtype=torch.float32)
    except (AttributeError, RuntimeError, TypeError):  # older torch, or tensors it cannot batch
        norms = [t.float().norm() for t in tensors]
    return torch.stack([n.to(tensors[0].device) for n in norms]).cpu().tolist()
