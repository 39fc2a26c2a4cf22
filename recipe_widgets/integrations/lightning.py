"""``RecipeCallback`` for PyTorch Lightning: the watch's findings and live panel in ``fit``.

``Trainer(callbacks=[RecipeCallback()])`` watches the ``LightningModule`` and the optimizers of
``configure_optimizers`` as :func:`rw.watch <recipe_widgets.watch>` watches a hand-written loop,
so the findings (ids and steps) are the ones a raw loop of the same training gets:

- ``on_train_start`` starts the watch (optimizers and schedulers exist by then), and
  ``on_train_end`` / ``on_exception`` end it, keeping what was found;
- Lightning calls ``optimizer.step(closure)``, running forward and backward inside the step, so
  the watch's pre-step sampling runs from ``on_before_optimizer_step`` (the gradients the update
  will use), not from torch's pre-step hook;
- ``on_train_batch_end`` logs the loss ``training_step`` returned, and
  ``on_validation_end`` the validation metrics the module logged (``val*``);
- the LR is read from the optimizers' parameter groups after each step, where Lightning's
  schedulers write it.

In a notebook the live panel shows; from a script, give ``logdir=`` and follow the run with
``rw.view``. Needs ``pip install 'recipe-widgets[lightning]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recipe_widgets.integrations._watching import numbers, require, start_watch, unwrap

_pl = require("lightning.pytorch", "lightning")

__all__ = ["RecipeCallback"]


class RecipeCallback(_pl.Callback):
    """The watch as a Lightning callback; after ``fit``, ``callback.watch`` holds the history
    and the report (``callback.watch.report``)."""

    def __init__(
        self,
        *,
        logdir: str | Path | None = None,
        name: str = "lightning",
        display: bool | None = None,
        stats_every: int = 25,
    ) -> None:
        super().__init__()
        self.logdir = logdir
        self.name = name
        self.display = display
        self.stats_every = stats_every
        self.watch: Any = None
        self._open = False

    # -- the watch's lifetime -----------------------------------------------------------------

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        rank = trainer.global_rank
        self.watch = start_watch(
            pl_module,
            list(trainer.optimizers),
            name=self.name,
            logdir=self.logdir,
            # One panel for the run: the other ranks write their files (logdir) and keep quiet.
            display=self.display if rank == 0 else False,
            stats_every=self.stats_every,
        )
        self.watch.steps_with_closure()  # see on_before_optimizer_step
        self.watch.__enter__()
        self._open = True

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._close(None)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._close(exception)

    def _close(self, exception: BaseException | None) -> None:
        if not self._open:
            return
        self._open = False
        kind = type(exception) if exception is not None else None
        self.watch.__exit__(kind, exception, None)

    # -- what the watch is told ---------------------------------------------------------------

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        if self._open:
            self.watch.gradients_ready(unwrap(optimizer))

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not self._open:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None:  # None: training_step skipped the batch
            self.watch.log(loss=loss)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if not self._open or trainer.sanity_checking:
            return
        metrics = numbers(dict(trainer.callback_metrics))
        val = {k: v for k, v in metrics.items() if k.startswith("val")}
        if val:
            self.watch.log(**val)
