"""``RecipeCallback`` for Hugging Face ``transformers.Trainer``: the watch's findings and panel.

``Trainer(..., callbacks=[RecipeCallback()])`` watches the Trainer's model and optimizer as
:func:`rw.watch <recipe_widgets.watch>` watches a hand-written loop (the Trainer calls
``optimizer.step()`` without a closure, so the watch's own optimizer hooks see each update):

- ``on_train_begin`` starts the watch on ``model`` and the torch optimizer under accelerate's
  wrapper; ``on_train_end`` ends it;
- the loss: the Trainer's logs average it over ``logging_steps`` and, by default, replace a NaN
  or Inf loss with the running average (``logging_nan_inf_filter``), which would hide the
  very step a NaN appeared. So the watch takes each training forward's ``loss`` (the model's
  ``ModelOutput.loss``, or ``output["loss"]``) from a forward hook, and logs the mean of a
  step's forwards at ``on_step_end`` (after the optimizer step, like ``w.log`` in a raw loop);
- ``on_evaluate`` logs the evaluation metrics (``eval_loss``, ...); ``on_log`` the
  Trainer's other scalar logs that the watch does not have (``grad_norm`` and ``learning_rate``
  are the watch's own).

Needs ``pip install 'recipe-widgets[transformers]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from recipe_widgets.integrations._watching import numbers, require, start_watch

_tf = require("transformers", "transformers")

__all__ = ["RecipeCallback"]

# Trainer log keys the watch already has or that are not training curves.
_SKIP_LOGS = frozenset(("loss", "grad_norm", "learning_rate", "epoch", "total_flos"))


class RecipeCallback(_tf.TrainerCallback):
    """The watch as a Trainer callback; after ``train``, ``callback.watch`` holds the history
    and the report."""

    def __init__(
        self,
        *,
        logdir: str | Path | None = None,
        name: str = "trainer",
        display: bool | None = None,
        stats_every: int = 25,
    ) -> None:
        self.logdir = logdir
        self.name = name
        self.display = display
        self.stats_every = stats_every
        self.watch: Any = None
        self._losses: list[torch.Tensor] = []
        self._handle: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        model, optimizer = kwargs["model"], kwargs.get("optimizer")
        self.watch = start_watch(
            model,
            [optimizer] if optimizer is not None else [],
            name=self.name,
            logdir=self.logdir,
            display=self.display if state.is_world_process_zero else False,
            stats_every=self.stats_every,
        )
        self.watch.__enter__()
        self._handle = model.register_forward_hook(self._on_forward)

    def _on_forward(self, module: Any, args: Any, output: Any) -> None:
        if not module.training or not torch.is_grad_enabled():
            return  # evaluation and the watch's own w.track forwards
        loss = getattr(output, "loss", None)
        if loss is None and isinstance(output, dict):
            loss = output.get("loss")
        if isinstance(loss, torch.Tensor) and loss.numel() == 1:
            self._losses.append(loss.detach())

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.watch is None or not self._losses:
            return
        losses, self._losses = self._losses, []
        loss = losses[0] if len(losses) == 1 else torch.stack(losses).mean()
        self.watch.log(loss=loss)

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        metrics = numbers(kwargs.get("metrics") or {})
        if self.watch is not None and metrics:
            self.watch.log(**{k: v for k, v in metrics.items() if not k.endswith("_runtime")})

    def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        logs = numbers(kwargs.get("logs") or {})
        extra = {
            k: v
            for k, v in logs.items()
            if k not in _SKIP_LOGS and not k.startswith(("eval_", "train_"))
        }
        if self.watch is not None and extra:
            self.watch.log(**extra)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._handle is None:  # not started, or ended already
            return
        self._handle.remove()
        self._handle = None
        self.watch.__exit__(None, None, None)
