"""What the watch's sampled steps measure, and the findings they raise.

:class:`~recipe_widgets.engine.watch._hooks.Hooks` decides when (which steps are sampled, which
hooks are on); this module decides what a sample means: missing gradients, gradient / weight /
update norms, dead ReLUs, gradients accumulating across steps. Every finding is added once, at the
step it was first seen.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding
from recipe_widgets.engine.watch._detectors import Findings, WatchConfig
from recipe_widgets.engine.watch._history import Points


class Samples:
    """Measurements of sampled steps; ``grad_norms`` keeps the total gradient norm of each
    (bounded: older samples thinned, the larger of a pair kept)."""

    def __init__(self, config: WatchConfig, out: Findings, names: dict[int, str]) -> None:
        self.config = config
        self.out = out
        self._names = names  # id(parameter) -> its name in the model
        self.grad_norms = Points(keep="max")
        self._first_norm: float | None = None
        self._no_grad_runs: dict[int, int] = {}

    def with_gradients(self, params: list[nn.Parameter], step: int) -> list[nn.Parameter]:
        """The trainable ones of ``params`` that have a gradient; the others are counted, and
        reported once they had none at ``no_grad_samples`` samples in a row."""
        with_grad: list[nn.Parameter] = []
        runs_of = self._no_grad_runs
        for p in params:
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

    def norms(
        self,
        params: list[nn.Parameter],
        mats: list[nn.Parameter],
        before: list[torch.Tensor],
        step: int,
    ) -> None:
        """Gradient and weight norms of ``params``, update norms of ``mats`` (the matrices and
        kernels among them, in order; ``before`` holds their copies from before the step), in
        one batched norm call (under no_grad: the hooks' caller). Findings are built only for
        what crosses a threshold."""
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        if before:
            torch._foreach_sub_(before, mats)  # our copy becomes minus the update
        n = len(params)
        values = _norms(grads + params + before)
        g, w, d = values[:n], values[n : 2 * n], values[2 * n :]
        mw = [wi for p, wi in zip(params, w) if p.dim() >= 2]  # mats' weights: same order
        high = self.config.ratio_high
        # The ~1e-3 rule is about weight matrices in steady state: a bias, a norm's scale or a
        # ReZero gate starts at (or near) 0, so its first updates are as large as itself, and
        # so is any tensor's right after initialisation. Only matrices and kernels (dim >= 2),
        # and only once the first three steps are over, are judged.
        if step > 3 and any(di > high * wi for wi, di in zip(mw, d)):
            self._ratio_findings(
                {
                    self._names.get(id(p), "?"): (di / wi if wi > 0 else math.inf)
                    for p, wi, di in zip(mats, mw, d)
                    if di > high * wi
                },
                step,
            )
        total = math.sqrt(sum(v * v for v in g))
        self.grad_norms.append((step, total))
        if not math.isfinite(total):
            bad = [self._names.get(id(p), "?") for p, v in zip(params, g) if not math.isfinite(v)]
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
                    f"The gradient norm exploded to {fmt(total)} at step {step} "
                    f"(first sampled: {fmt(first)}).",
                    fix="Lower the LR, clip gradients (clip_grad_norm_(params, 1.0)), check the "
                    "initialisation and normalisation of inputs.",
                    evidence={"step": step, "norm": total, "first": first},
                ),
            )
        self._vanishing(params, g, w, step)

    def _vanishing(
        self, params: list[nn.Parameter], g: list[float], w: list[float], step: int
    ) -> None:
        """Weight matrices whose gradient, relative to the weight, is a vanishing fraction of
        the largest relative gradient."""
        n = len(params)
        rel = [gi / wi if wi > 0 else gi for gi, wi in zip(g, w)]  # gradient relative to weight
        top = max(rel, default=0.0)
        if n > 1 and top > 0:
            cut = self.config.grad_vanish * top
            # A gradient of exactly 0 is structural, not vanishing (a bias feeding batch norm,
            # whose mean subtraction cancels it), and biases carry no depth signal: the
            # matrices say whether the signal fades through the layers.
            low = sorted(
                self._names.get(id(p), "?")
                for p, r, gi in zip(params, rel, g)
                if r < cut and gi > 0 and p.dim() >= 2
            )
            if low:
                self.out.add(
                    "grad_vanishing",
                    Finding(
                        "grad_vanishing",
                        "warn",
                        f"Gradients vanish at step {step}: {', '.join(low[:5])} get(s) "
                        f"under {self.config.grad_vanish:g} of the largest relative gradient.",
                        fix="Use ReLU/GELU instead of saturating activations, add normalisation "
                        "or residual connections, check the initialisation.",
                        evidence={"step": step, "parameters": low},
                    ),
                )

    def _ratio_findings(self, high: dict[str, float], step: int) -> None:
        """``high``: the layers whose update-to-weight ratio is past ``ratio_high`` (norms)."""
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

    def dead_relu(self, name: str, top: torch.Tensor, batches: int, step: int) -> None:
        """``top``: each unit's largest output over a window's ``batches`` (see unit_maxima)."""
        if top.numel() == 0 or f"dead_relu:{name}" in self.out:
            return
        frac = 1.0 - int(torch.count_nonzero(top)) / top.numel()
        if frac > self.config.dead_fraction:
            self.out.add(
                f"dead_relu:{name}",
                Finding(
                    "dead_relu",
                    "warn",
                    f"{frac:.0%} of the units after {name} output 0 for every example of "
                    f"{batches} batches (up to step {step}): they are dead and no longer learn.",
                    fix="Lower the LR, check the initialisation and biases; LeakyReLU/GELU "
                    "or normalisation before the activation keeps units alive.",
                    evidence={
                        "step": step,
                        "layer": name,
                        "dead_fraction": frac,
                        "batches": batches,
                    },
                ),
            )

    def zero_grad_forgotten(self, name: str, step: int) -> None:
        self.out.add(
            "zero_grad_forgotten",
            Finding(
                "zero_grad_forgotten",
                "fail",
                f"Gradients are accumulating across steps: after optimizer step "
                f"{step}, backward() added to the old gradient of {name} - "
                "zero_grad() was not called.",
                fix="Call optimizer.zero_grad() once per optimizer step (before backward, "
                "or right after step()). With gradient accumulation, zero after each step.",
                evidence={"step": step, "parameter": name},
            ),
        )

    def eval_in_train_mode(self, step: int) -> None:
        if "eval_in_train_mode" in self.out:
            return  # every evaluation forward comes here: build the finding once
        self.out.add(
            "eval_in_train_mode",
            Finding(
                "eval_in_train_mode",
                "warn",
                f"A forward pass ran under no_grad with the model in train mode (after "
                f"step {step}): dropout stays on and batch norm uses batch statistics "
                "and updates its running averages, so evaluation numbers are wrong.",
                fix="Call model.eval() before evaluating and model.train() after.",
                evidence={"step": step},
            ),
        )

    def frozen_norm_training(self, names: list[str], step: int) -> None:
        if "frozen_norm_training" in self.out:
            return
        self.out.add(
            "frozen_norm_training",
            Finding(
                "frozen_parameters",
                "warn",
                f"{len(names)} batch norm layer(s) with frozen parameters ({', '.join(names[:3])}"
                f"{', ...' if len(names) > 3 else ''}) are in train mode at optimizer step"
                f" {step}: requires_grad=False does not freeze their running statistics, so"
                " every batch overwrites the mean and variance the frozen layers were trained"
                " with, and evaluation uses the drifted ones.",
                fix="Put the frozen part in eval mode after every model.train() (e.g."
                " backbone.eval(), or override train() to keep it there).",
                evidence={"step": step, "layers": names},
            ),
        )

    def clip_after_step(self, step: int) -> None:
        self.out.add(
            "clip_after_step",
            Finding(
                "clip_after_step",
                "warn",
                f"After optimizer step {step} the gradients it had used were scaled down in"
                " place before zero_grad: a clip_grad_norm_ (or clip_grad_value_) placed after"
                " optimizer.step(). The step already took the unclipped gradients, so the clip"
                " has no effect on training.",
                fix="Clip between loss.backward() and optimizer.step() (with a GradScaler, after"
                " scaler.unscale_(optimizer)).",
                evidence={"step": step},
            ),
        )

    def training_in_eval_mode(self, step: int) -> None:
        if "training_in_eval_mode" in self.out:
            return
        self.out.add(
            "training_in_eval_mode",
            Finding(
                "training_in_eval_mode",
                "warn",
                f"Optimizer step {step} trained on a forward pass made with the model in eval"
                " mode: dropout is off and batch norm uses (and no longer updates) its running"
                " statistics, so the net trains as a different model than intended.",
                fix="Call model.train() at the start of every training epoch (after each"
                " validation that called model.eval()).",
                evidence={"step": step},
            ),
        )

    def not_in_optimizer(self, name: str, step: int) -> None:
        """Trainable, receiving gradients, in no watched optimizer: it is never updated."""
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
