"""The watch's hooks on the user's model and optimizers: when they are on, and what they hand
to :class:`~recipe_widgets.engine.watch._samples.Samples` (which measures and reports).

Only public hook APIs are used (optimizer step pre/post hooks, module forward hooks, autograd
node pre-hooks): nothing is monkey-patched, and :meth:`Hooks.remove` takes every one of them
off again (the watch calls it in ``finally:``). The hooks read tensors and never write them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from recipe_widgets.engine.threads import small_work
from recipe_widgets.engine.watch._detectors import Findings, LRDetector, WatchConfig, unit_maxima
from recipe_widgets.engine.watch._history import Points
from recipe_widgets.engine.watch._samples import Samples

LR_EVERY = 10  # steps between looks at an unchanged LR (the collapse check counts steps at ~0)
PROBES = 2  # parameters whose gradients show a forgotten zero_grad (any one of them shows it)
_TRAIN_MODE_LAYERS = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)


class Hooks:
    """Registers, schedules and removes. ``steps`` counts optimizer steps of all optimizers.

    Sampling (``E = config.stats_every``, period ``P = 2E``): the first three steps, then a
    *window* of two consecutive steps every ``P`` (the steps after ``k`` completed ones with
    ``k % P`` in ``{0, 1}``). Both steps of a window are *light* samples: ReLU activations (a unit
    is dead when it gave 0 for every example of the window's batches) and parameters without a
    gradient (at both steps). The second is also *heavy*: gradient, weight and update norms, and
    the zero_grad probes (does its backward add to the first step's gradients?). Each bug is thus
    seen within ``P`` steps of its first appearance (50 with the defaults), and a window costs one
    arming and one disarming of the hooks. Between windows only the optimizer post-step hook
    runs, and it counts the step and compares two things.
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
        # A framework that calls optimizer.step(closure) runs forward and backward inside the
        # step, after torch's pre-step hook: there the integration calls before_step() from its
        # own "gradients are ready" hook instead (Lightning's on_before_optimizer_step).
        self.external_pre = False
        self.lr = LRDetector(config, out)
        # (step, LR) where the first group's LR changed; a schedule that changes it every step
        # would grow without bound, so older change points are thinned (the first of a pair kept)
        self._lr_points = Points(keep="first")
        self._lr_seen: list[Any] = [None] * len(optimizers)  # each optimizer's LR object last step
        self._due = 0  # the next step whose post-hook does more than count (see _after_step)
        self._handles: list[Any] = []
        self._transient: list[Any] = []  # activation hooks, on for a window only
        self._probe_hooks: list[Any] = []  # gradient-accumulator hooks, on for a heavy step only
        self._nodes: list[Any] = []  # the probes' gradient accumulators while armed
        self._pre: dict[int, Any] = {}  # optimizer index -> its step pre-hook, on for sampled steps
        self._probes_armed = False
        self._relus: list[tuple[str, nn.Module]] = []
        self._probes: list[nn.Parameter] = []
        self._named = list(model.named_parameters())
        self._names = {id(p): n for n, p in self._named}
        self.samples = Samples(config, out, self._names)
        self._params_of = [[p for g in opt.param_groups for p in g["params"]] for opt in optimizers]
        # opt -> (params with a gradient, the matrices among them, copies of those)
        self._before: dict[
            int, tuple[list[nn.Parameter], list[nn.Parameter], list[torch.Tensor]]
        ] = {}
        self._grad_seen: dict[int, tuple[int, int]] = {}  # id(p) -> (id(grad), grad._version)
        self._checked_since_step: set[int] = set()
        self._probes_of: list[list[nn.Parameter]] = [[] for _ in optimizers]
        self._relu_sampled: dict[str, int] = {}  # layer -> the step it was last sampled at
        self._frozen_norms: list[tuple[str, nn.Module]] = []
        self._stale: dict[int, str] = {}  # parameters a backward added to stale gradients
        self._patched: list[torch.optim.Optimizer] = []  # zero_grad wrapped until next call
        self._eval_forward_at = -1  # the step count when a forward with grad ran in eval mode
        self._relu_tops: dict[str, list[torch.Tensor]] = {}  # layer -> per-unit maxima this window
        self._lr_looks = False  # look at the LR every LR_EVERY steps (see _next_due)
        self._in_opt = {id(p) for params in self._params_of for p in params}
        self._has_train_layers = any(isinstance(m, _TRAIN_MODE_LAYERS) for m in model.modules())

    # -- registration -------------------------------------------------------------------------

    def register(self) -> None:
        for i, opt in enumerate(self.optimizers):
            self._handles.append(opt.register_step_post_hook(self._make_post(i)))
        if (
            self._has_train_layers
        ):  # evaluation in train mode only matters with dropout / batch norm
            self._handles.append(self.model.register_forward_hook(self._on_model_forward))
        self._relus = [
            (name, m) for name, m in self.model.named_modules() if isinstance(m, nn.ReLU)
        ]
        # Batch norms whose own parameters are frozen: requires_grad=False does not stop their
        # running statistics, only eval mode does.
        self._frozen_norms = [
            (name, m)
            for name, m in self.model.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
            and m.track_running_stats
            and m.weight is not None
            and not m.weight.requires_grad
        ]
        # zero_grad check: a few small trainable parameters are enough (any of them shows it).
        in_opt = [p for params in self._params_of for p in params]
        self._probes = sorted((p for p in in_opt if p.requires_grad), key=lambda p: p.numel())[
            :PROBES
        ]
        probe_ids = {id(p) for p in self._probes}
        self._probes_of = [[p for p in params if id(p) in probe_ids] for params in self._params_of]
        self._arm()  # the first steps are sampled
        self._arm_probes()

    def light(self, k: int) -> bool:
        """Is the optimizer step after ``k`` completed ones sampled (a step of a window)?"""
        return k < 3 or k % (2 * self.config.stats_every) < 2

    def heavy(self, k: int) -> bool:
        """... and is it the window's second step (norms and probes)?"""
        return k < 3 or k % (2 * self.config.stats_every) == 1

    def _arm(self) -> None:
        """Hooks for one window only: a hook costs every forward or backward it is on, so between
        windows they are off, not merely quick to return."""
        for i in range(len(self.optimizers)):
            self._arm_pre(i)
        for name, module in self._relus:
            self._transient.append(module.register_forward_hook(self._make_relu(name)))

    def _arm_probes(self) -> None:
        """Before a heavy step: its backward is compared with the gradients the last step used."""
        self._probes_armed = True
        for p in self._probes:
            node = _accumulator(p)
            if node is not None:  # held, so the coming forward uses this node and its hook
                self._nodes.append(node)
                self._probe_hooks.append(node.register_prehook(self._make_grad_probe(p)))

    def _arm_pre(self, index: int) -> None:
        if index not in self._pre:
            if self.external_pre:
                self._pre[index] = _Unhooked()  # armed: before_step() does the work
            else:
                hook = self._make_pre(index)
                self._pre[index] = self.optimizers[index].register_step_pre_hook(hook)

    def before_step(self, optimizer: torch.optim.Optimizer) -> None:
        """The pre-step work, called by an integration once the gradients of the coming step
        are ready (see ``external_pre``)."""
        for index, opt in enumerate(self.optimizers):
            if opt is optimizer and index in self._pre:
                self._pre_step(index)

    def _disarm(self) -> None:
        for h in self._transient:
            h.remove()
        self._transient.clear()
        self._relu_tops.clear()
        self._disarm_probes()

    def _disarm_probes(self) -> None:
        for h in self._probe_hooks:
            h.remove()
        self._probe_hooks.clear()
        self._nodes.clear()  # unreferenced, they go with their graph: no hook is left behind
        self._probes_armed = False

    def remove(self) -> None:
        for opt in self._patched:  # a zero_grad wrapper not called yet
            vars(opt).pop("zero_grad", None)
        self._patched.clear()
        self._disarm()
        for h in [*self._handles, *self._pre.values()]:
            h.remove()
        self._handles.clear()
        self._pre.clear()
        self._before.clear()

    # -- optimizer steps ----------------------------------------------------------------------

    def _make_pre(self, index: int) -> Any:
        def pre(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            self._pre_step(index)

        return pre

    def _pre_step(self, index: int) -> None:
        # Armed for sampled steps only (see _arm): gradients as the step will use them.
        k = self.steps
        with_grad = self.samples.with_gradients(self._params_of[index], k + 1)
        if with_grad and self.heavy(k):
            # the weights before the update, for the update norms: only of the matrices and
            # kernels, the only ones the update-to-weight rule judges (see Samples.norms); many
            # small copies: one intra-op thread (see engine.threads), the user's count restored
            mats = [p for p in with_grad if p.dim() >= 2]
            with torch.no_grad(), small_work():
                self._before[index] = (with_grad, mats, [p.detach().clone() for p in mats])

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
            with small_work():  # a window's norms and probes: small ops, see engine.threads
                self._after_step(index, opt, self.steps)

        return post

    def _after_step(self, index: int, opt: torch.optim.Optimizer, step: int) -> None:
        """The post-step work of a sampled step, a step whose LR changed, or a periodic LR look."""
        if self._stale:
            owned = {id(q) for q in self._params_of[index]}
            for pid, name in self._stale.items():
                if pid in owned:
                    self.samples.zero_grad_forgotten(name, step - 1)
                    break
            self._stale.clear()
        self._look_at_lr(index, opt, step)
        sampled = index in self._pre
        coming = self.light(step)
        if not (sampled or coming):  # an LR look between windows
            self._due = self._next_due(step, coming)
            return
        first = len(self.optimizers) == 1 or index == 0
        if first and sampled and any(m.training for _, m in self._frozen_norms):
            names = [n for n, m in self._frozen_norms if m.training]
            self.samples.frozen_norm_training(names, step)
        if first and self._eval_forward_at == step - 1:
            # The forward this step's gradients came from ran with dropout / batch norm in eval
            # mode (model.eval() for validation, never undone). A frozen backbone in eval mode
            # under a training model is not this: the model itself is in train mode then.
            self.samples.training_in_eval_mode(step)
        self._checked_since_step.clear()
        before = self._before.pop(index, None)
        if before is not None:
            with torch.no_grad():
                self.samples.norms(*before, step)
            self._watch_grads_after_step(index, opt, step)
        if sampled and not coming:
            self._pre.pop(index).remove()
        if first:
            if sampled and index == 0 and step <= 3 * self.config.stats_every:
                for name, p in self._named:
                    if p.requires_grad and p.grad is not None and id(p) not in self._in_opt:
                        self.samples.not_in_optimizer(name, step)
            if sampled and self._window_ends(step - 1):
                self._dead_relus(step)
            if sampled and not coming:  # the window is over
                self._disarm()
            elif coming and not sampled:
                self._arm()
            if self._probes_armed and not (coming and self.heavy(step)):
                self._disarm_probes()
            elif coming and self.heavy(step) and not self._probes_armed:
                self._arm_probes()
        if self._probes_armed:
            # What the probes will compare the next backward against: this step's gradients.
            for p in self._probes_of[index]:
                if p.grad is not None:
                    self._grad_seen[id(p)] = (id(p.grad), p.grad._version)
        self._due = self._next_due(step, coming)

    def _watch_grads_after_step(self, index: int, opt: torch.optim.Optimizer, step: int) -> None:
        """Until the optimizer's next ``zero_grad``: were the gradients this step used changed in
        place after it (a ``clip_grad_norm_`` placed after ``optimizer.step()``)? One small
        parameter's gradient, its version counter and norm are kept; ``zero_grad`` is wrapped on
        this optimizer instance for that one call (the instance attribute is removed again)."""
        p = next((q for q in self._probes_of[index] if q.grad is not None), None)
        if p is None or "zero_grad" in vars(opt) or "clip_after_step" in self.samples.out:
            return
        grad = p.grad
        seen = (grad, grad._version, float(grad.norm()))
        original = opt.zero_grad

        def zero_grad(*args: Any, **kwargs: Any) -> Any:
            vars(opt).pop("zero_grad", None)
            g, version, norm = seen
            if p.grad is g and g._version != version and float(g.norm()) < norm * (1 - 1e-6):
                self.samples.clip_after_step(step)
            return original(*args, **kwargs)

        opt.zero_grad = zero_grad  # type: ignore[method-assign]
        self._patched.append(opt)

    def _look_at_lr(self, index: int, opt: torch.optim.Optimizer, step: int) -> None:
        groups = opt.param_groups
        # The LR this step used: a scheduler steps after the optimizer, so it is still there.
        self.lr.feed(index, groups, step)
        if groups:
            lr = groups[0]["lr"]
            self._lr_seen[index] = lr
            if index == 0 and (not self._lr_points or self._lr_points[-1][1] != float(lr)):
                self._lr_points.append((step, float(lr)))
        # The post-step fast path sees a new LR object in the first group of one optimizer. A
        # tensor LR changes in place and other groups and optimizers are not compared there, and
        # an LR at ~0 must be counted until it is reported: those are looked at periodically.
        self._lr_looks = (
            len(self.optimizers) > 1
            or any(
                len(o.param_groups) != 1 or type(o.param_groups[0]["lr"]) is not float
                for o in self.optimizers
            )
            or self.lr.pending
        )

    def _next_due(self, step: int, coming: bool) -> int:
        """The next step count whose post-hook does more than count: the sampled step's own, the
        last one before the next window (to arm it), or the next periodic look at the LR."""
        period = 2 * self.config.stats_every
        nxt = step + 1 if coming else max(3, (step // period + 1) * period)
        if self._lr_looks:
            nxt = min(nxt, (step // LR_EVERY + 1) * LR_EVERY)
        return nxt

    def _window_ends(self, k: int) -> bool:
        """Is the step after ``k`` completed ones the last of its window (first three steps, then
        the second of each pair)?"""
        return k == 2 or (k > 2 and k % (2 * self.config.stats_every) == 1)

    def _dead_relus(self, step: int) -> None:
        """Dead ReLUs over the batches the window's forwards saw."""
        tops, self._relu_tops = self._relu_tops, {}
        for name, seen in tops.items():
            top = seen[0]
            for other in seen[1:]:
                if other.shape == top.shape:
                    top = torch.maximum(top, other)
            self.samples.dead_relu(name, top, len(seen), step)

    def lr_history(self) -> tuple[np.ndarray, np.ndarray]:
        """The first optimizer's first-group LR at every step so far, as (steps, lrs) arrays,
        from the change points kept (each LR holds until the next change point)."""
        points = list(self._lr_points)
        if not points:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        starts = np.fromiter((s for s, _ in points), dtype=np.int64, count=len(points))
        lrs = np.fromiter((v for _, v in points), dtype=np.float64, count=len(points))
        ends = np.append(starts[1:], max(self.steps + 1, int(starts[-1]) + 1))
        lengths = np.maximum(ends - starts, 0)
        steps = np.arange(int(lengths.sum()), dtype=np.int64)
        steps += np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        return steps, np.repeat(lrs, lengths)

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
            if len(self.optimizers) == 1:
                self.samples.zero_grad_forgotten(self._names.get(id(p), "?"), self.steps)
            else:
                # With several optimizers, another one's backward may run through these
                # parameters (a GAN's generator loss through the discriminator) and their
                # owner zero them before its own step: a bug only if the owner steps next.
                self._stale[id(p)] = self._names.get(id(p), "?")

        return probe

    # -- forwards -----------------------------------------------------------------------------

    def _on_model_forward(self, module: nn.Module, args: Any, output: Any) -> None:
        if self.suspended:
            return
        evaluating = not torch.is_grad_enabled() or torch.is_inference_mode_enabled()
        if evaluating and module.training and self._has_train_layers:
            self.samples.eval_in_train_mode(self.steps)
        elif not evaluating and not module.training and self._has_train_layers:
            self._eval_forward_at = self.steps  # a forward with gradients, in eval mode

    def _make_relu(self, name: str) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if self.suspended or not module.training or not torch.is_grad_enabled():
                return
            step = self.steps
            if self._relu_sampled.get(name) == step:
                return  # of a sampled step's forwards, the first training one counts
            self._relu_sampled[name] = step
            top = unit_maxima(output)
            if top is not None:  # combined with the window's other batches in _dead_relus
                self._relu_tops.setdefault(name, []).append(top)

        return hook


class _Unhooked:
    """Stands for a pre-step hook the integration calls itself (nothing to remove)."""

    def remove(self) -> None:
        pass


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
