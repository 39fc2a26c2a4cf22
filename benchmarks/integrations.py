"""What watching costs where people train: Lightning, the HF Trainer, and a script with logdir=.

    python benchmarks/integrations.py           # bars enforced
    python benchmarks/integrations.py --smoke   # a few short runs, no bars (make test)

  1. ``Trainer.fit`` of a small MLP (Lightning, CPU) with and without ``RecipeCallback``; and
     the same for ``transformers.Trainer.train``. A fit cannot be cut into steps from outside,
     so whole fits are interleaved (with, without, alternating which goes first), and an A/A
     pair (two fits without) is printed: it is the method's own error on this machine. Bar:
     the median ratio with/without <= 1.05 for each framework.
  2. A script's loop with ``rw.watch(..., logdir=..., display=False)`` against the bare loop,
     steps interleaved one by one (as in benchmarks/live_plot.py), logging the loss every step.
     Bar: <= 5% over the bare loop, writing included.

Figures are ratios measured in one run; absolute times depend on the machine. The last line is
``RESULT integrations ...``; exit status 1 when a bar is missed (not in --smoke).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("RW_PROGRESS", "0")
warnings.filterwarnings("ignore")

BAR = 1.05


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)
    )


def dataset(steps: int) -> torch.utils.data.TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(steps * 16, 32, generator=g)
    return torch.utils.data.TensorDataset(x, x[:, :1].clone())


def lightning_fit(steps: int, watched: bool) -> float:
    import lightning.pytorch as pl

    from recipe_widgets.integrations.lightning import RecipeCallback

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)  # set to INFO on import

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp()

        def training_step(self, batch: list[torch.Tensor], i: int) -> torch.Tensor:
            return nn.functional.mse_loss(self.net(batch[0]), batch[1])

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[RecipeCallback(display=False)] if watched else [],
    )
    data = torch.utils.data.DataLoader(dataset(steps), batch_size=16)
    start = time.perf_counter()
    trainer.fit(Module(), data)
    return time.perf_counter() - start


def trainer_train(steps: int, watched: bool) -> float:
    import transformers as tf

    from recipe_widgets.integrations.transformers import RecipeCallback

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp()

        def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"loss": nn.functional.mse_loss(self.net(x), labels)}

    class Rows(torch.utils.data.Dataset):
        def __init__(self) -> None:
            self.data = dataset(steps)

        def __len__(self) -> int:
            return len(self.data)

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            x, y = self.data[i]
            return {"x": x, "labels": y}

    with tempfile.TemporaryDirectory() as out:
        args = tf.TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=16,
            num_train_epochs=1,
            logging_strategy="no",
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            disable_tqdm=True,
        )
        callbacks = [RecipeCallback(display=False)] if watched else []
        trainer = tf.Trainer(model=Model(), args=args, train_dataset=Rows(), callbacks=callbacks)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the Trainer prints a summary
            trainer.train()
        return time.perf_counter() - start


def whole_fits(fit: object, steps: int, repeats: int) -> tuple[float, float]:
    """Median ratios with/without and without/without (A/A) over interleaved whole fits."""
    fit(steps, False)  # imports and first-use costs, for both
    fit(steps, True)  # type: ignore[operator]
    ratios, aa = [], []
    for r in range(repeats):
        order = [True, False, False] if r % 2 else [False, False, True]
        times = {}
        for i, watched in enumerate(order):
            times[(watched, i)] = fit(steps, watched)  # type: ignore[operator]
        bare = [t for (w, _), t in times.items() if not w]
        watched_t = next(t for (w, _), t in times.items() if w)
        ratios.append(watched_t / statistics.mean(bare))
        aa.append(bare[0] / bare[1])
    return statistics.median(ratios), statistics.median(aa)


def script_loop(steps: int, repeats: int) -> float:
    """Median ratio of a logdir-watched loop over its bare twin, steps interleaved."""
    from recipe_widgets.engine.watch import watch_loop

    ratios = []
    x = torch.randn(64, 32)
    for r in range(repeats):
        bare, watched = mlp(), mlp()
        opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in (bare, watched)]
        with tempfile.TemporaryDirectory() as logdir:
            t0 = time.perf_counter()
            w = watch_loop(watched, opts[1], logdir=logdir)
            w.__enter__()
            totals = [0.0, time.perf_counter() - t0]
            for step in range(steps):
                pair = [(0, bare, opts[0]), (1, watched, opts[1])]
                for i, model, opt in pair if (step + r) % 2 else pair[::-1]:
                    t = time.perf_counter()
                    loss = model(x).pow(2).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    if i:
                        w.log(loss=loss)
                    totals[i] += time.perf_counter() - t
            t = time.perf_counter()
            w.__exit__(None, None, None)
            totals[1] += time.perf_counter() - t
        ratios.append(totals[1] / totals[0])
    return statistics.median(ratios)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="short runs, no bars (make test)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    steps, repeats, loop_steps = (20, 1, 200) if args.smoke else (300, 5, 3000)
    results = {}
    for name, fit in (("lightning", lightning_fit), ("transformers", trainer_train)):
        ratio, aa = whole_fits(fit, steps, repeats)
        results[name] = ratio
        print(
            f"{name}: fit with RecipeCallback / without = {ratio:.3f} (A/A {aa:.3f}), "
            f"{steps} steps, median of {repeats}"
        )
    results["script"] = script_loop(loop_steps, max(3, repeats))
    print(f"script: watch(logdir=) loop / bare loop = {results['script']:.3f}, {loop_steps} steps")
    missed = [k for k, v in results.items() if v > BAR]
    line = " ".join(f"{k}={v:.3f}" for k, v in results.items())
    print(
        f"RESULT integrations {line} bar={BAR} {'smoke' if args.smoke else 'missed=' + ','.join(missed) if missed else 'ok'}"
    )
    return 0 if args.smoke or not missed else 1


if __name__ == "__main__":
    sys.exit(main())
