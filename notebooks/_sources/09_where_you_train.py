# %% [markdown]
# # 09 · Where you train
#
# The earlier notebooks train in a loop written by hand, inside this notebook. Most training
# runs elsewhere: inside PyTorch Lightning's `fit`, inside Hugging Face's `Trainer.train`, or in
# a script on another machine. The watch goes there too, and says the same thing in each place.
#
# One bug, planted three times: **a learning rate far too high** (50 where 0.05 was meant, a
# slipped decimal point or a config read in the wrong units). It does not crash anything. The
# loss goes to `inf`, then `nan`, and every later step trains on garbage. We catch it in
#
# 1. a Lightning run, with `RecipeCallback`;
# 2. a Hugging Face `Trainer` run, with its own `RecipeCallback`;
# 3. a script running in another process, writing its run to disk (`logdir=`), followed here
#    with `rw.view`;
#
# and, before any training, with `rw.check` on the `LightningModule` itself.

# %%
%load_ext recipe_widgets
import recipe_widgets as rw

# %%
import logging
import warnings

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from recipe_widgets.engine.formatting import fmt  # the kit's 3 significant digits

torch.set_num_threads(1)  # tiny nets: one thread is faster on a busy CPU and reproducible
# Lightning's banners ("GPU available: False ...") and its hint to use more loader workers
# are not what this notebook is about.
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", ".*does not have many workers.*")
warnings.filterwarnings("ignore", ".*treespec.*")  # a deprecation inside Lightning, not ours

BATCH, STEPS = 8, 12
g = torch.Generator().manual_seed(1)
x = torch.randn(BATCH * STEPS, 4, generator=g)
y = x.sum(dim=1, keepdim=True)  # a target a linear layer could learn exactly
data = TensorDataset(x, y)


def make_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))


def ids_and_steps(report) -> list:
    """What a watch found, as (finding id, step): the part that must agree everywhere."""
    return [(f.check, f.evidence.get("step")) for f in report.findings]

# %% [markdown]
# ## The reference: your own loop
#
# First the hand-written loop under `rw.watch`, as in the earlier notebooks. Its findings are
# what the frameworks below must report too, finding for finding and step for step.

# %%
def train_by_hand(lr: float):
    model = make_net()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with rw.watch(model, opt, name="by hand", display=False) as w:
        for xb, yb in DataLoader(data, batch_size=BATCH):
            loss = nn.functional.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.log(loss=loss)
    return w


by_hand = train_by_hand(lr=50.0)
by_hand.report

# %% [markdown]
# Read the findings in step order: the gradient norm explodes at step 2 (`grad_exploding`), the
# gradients overflow at step 3 (`grad_not_finite`), and the loss is `inf` at step 4
# (`loss_not_finite`). The first finding is the useful one: the step where it started.

# %% [markdown]
# ## 1. Lightning: `RecipeCallback`
#
# Lightning owns the loop, so there is no `w.log(loss=...)` to write. The callback reads the
# same things from Lightning's hooks: the loss `training_step` returned, the gradients before
# each optimizer step, the LR from Lightning's optimizers and schedulers. In a notebook it shows
# the live panel (`display=False` here, to print the report instead); from a script, give it
# `logdir=`.
#
# The Trainer settings below only keep the notebook quiet (no progress bar, model summary,
# logger or checkpoint files); none of them is needed by the callback.

# %%
from recipe_widgets.integrations.lightning import RecipeCallback as LightningCallback


class Regression(pl.LightningModule):
    def __init__(self, lr: float) -> None:
        super().__init__()
        self.net = make_net()
        self.lr = lr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        xb, yb = batch
        loss = nn.functional.mse_loss(self(xb), yb)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def fit_with_lightning(lr: float):
    callback = LightningCallback(display=False)
    trainer = pl.Trainer(
        max_epochs=1, accelerator="cpu", callbacks=[callback], enable_progress_bar=False,
        enable_model_summary=False, logger=False, enable_checkpointing=False,
    )
    trainer.fit(Regression(lr), DataLoader(data, batch_size=BATCH))
    return callback.watch


lightning_watch = fit_with_lightning(lr=50.0)
lightning_watch.report

# %%
print("same findings as the loop by hand:", ids_and_steps(lightning_watch.report) == ids_and_steps(by_hand.report))

# %% [markdown]
# ## 2. Hugging Face `Trainer`: its `RecipeCallback`
#
# The `Trainer` also owns the loop, and it hides the very step that matters: its logs average
# the loss over `logging_steps` and replace a `nan` loss by the running mean. The callback takes
# each step's loss from the model's own output (`ModelOutput.loss`) instead.
#
# The model: a 2-layer GPT-2 built from its config (no download), on a toy language: each
# token is the previous one plus one. Same bug: plain SGD at a learning rate of 50.

# %%
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

from recipe_widgets.integrations.transformers import RecipeCallback as TrainerCallback

transformers.logging.set_verbosity_error()
start = torch.arange(64) % 48
token_rows = [{"input_ids": (s + torch.arange(16)) % 64, "labels": (s + torch.arange(16)) % 64}
              for s in start]


def train_with_hf(lr: float, output_dir: str):
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=16, vocab_size=64,
                                       n_positions=16))
    args = TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=8, num_train_epochs=1,
        learning_rate=lr, optim="sgd", lr_scheduler_type="constant", max_grad_norm=0.0,
        train_sampling_strategy="sequential", logging_strategy="no", save_strategy="no",
        report_to=[], use_cpu=True, disable_tqdm=True,
    )
    callback = TrainerCallback(display=False)
    trainer = Trainer(model=model, args=args, train_dataset=token_rows, callbacks=[callback])
    trainer.remove_callback(transformers.PrinterCallback)  # it prints the run's timings
    trainer.train()
    return callback.watch


import tempfile

with tempfile.TemporaryDirectory() as scratch:
    hf_watch = train_with_hf(lr=50.0, output_dir=scratch)
hf_watch.report

# %% [markdown]
# Another model, so other steps, but the same story with the same finding ids: the gradient norm
# explodes first (step 3), the loss is `nan` from step 6 on. (Trainer
# clips gradients at norm 1 by default, `max_grad_norm=1.0`; we turned that off above to plant
# the bug plainly. Clipping bounds each step, but does not make a far-too-high learning rate
# right.)

# %% [markdown]
# ## 3. A script, followed from here: `logdir=` and `rw.view`
#
# Long runs live in scripts (`python train.py`, under `nohup`, on a remote box). Give the watch
# a `logdir=` and it appends the run to files as it goes, a few times a second; in a script it
# displays nothing. `rw.view(logdir)` in any notebook shows the live panel, following the files
# while the script writes them; `rw.load_run(logdir)` reads the run as data.
#
# Here the script is the same loop by hand, run in a separate Python process.

# %%
import subprocess
import sys
from pathlib import Path

SCRIPT = '''
import sys
import torch
from torch import nn
import recipe_widgets as rw

logdir, lr = sys.argv[1], float(sys.argv[2])
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.SGD(model.parameters(), lr=lr)
x = torch.randn(96, 4, generator=torch.Generator().manual_seed(1))
y = x.sum(dim=1, keepdim=True)
with rw.watch(model, opt, name="script", logdir=logdir) as w:
    for xb, yb in zip(x.split(8), y.split(8)):
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        w.log(loss=loss)
'''

import shutil

runs = Path("09_runs")  # next to this notebook; removed at the end
shutil.rmtree(runs, ignore_errors=True)
runs.mkdir()
(runs / "train.py").write_text(SCRIPT)
done = subprocess.run([sys.executable, str(runs / "train.py"), str(runs / "lr50"), "50"],
                      check=True)
print("the script exited with code", done.returncode)

# %%
view = rw.view(runs / "lr50")
view

# %% [markdown]
# The panel's findings pane holds the script's findings. The same run, read as data:

# %%
script_run = rw.load_run(runs / "lr50")
print("same findings as the loop by hand:", ids_and_steps(script_run.report) == ids_and_steps(by_hand.report))
script_run.report

# %%
view.stop()
print("loss at steps 1-5:", [fmt(v) for v in script_run.history["loss"].head(5)])

# %% [markdown]
# ## Before training: `rw.check` on the `LightningModule`
#
# All three runs above found the bug after it happened. `rw.check` finds it before: given the
# `LightningModule` and its data (a `DataLoader`, or a `LightningDataModule`), it takes the
# optimizer from `configure_optimizers()` and the loss from `training_step`, and trains small
# copies, never your module. `self.log` in `training_step` is fine: outside a Trainer it is
# silenced on the copies.

# %%
report = rw.check(Regression(lr=50.0), DataLoader(data, batch_size=BATCH, shuffle=True),
                  checks=["loss_at_init", "parameter_coverage", "decreasing_loss"])
for f in report.findings:
    print(f"{f.status.upper():5} {f.check}")
print("fix:", report["decreasing_loss"].fix)

# %% [markdown]
# `decreasing_loss` fails: 120 steps at the module's own learning rate make the loss grow
# instead of fall. (Show `report` for the whole text. We print only the verdicts here: how far
# a diverging run's loss climbs is chaos, and differs in its first digit from one CPU's float
# kernels to another's. The verdict does not.)
#
# ## The fix, everywhere
#
# Set the learning rate you meant, 0.05. The check passes, and the same Lightning run and
# script run find nothing.

# %%
rw.check(Regression(lr=0.05), DataLoader(data, batch_size=BATCH, shuffle=True),
         checks=["loss_at_init", "parameter_coverage", "decreasing_loss"])

# %%
fit_with_lightning(lr=0.05).report

# %%
done = subprocess.run([sys.executable, str(runs / "train.py"), str(runs / "lr0.05"), "0.05"],
                      check=True)
rw.load_run(runs / "lr0.05").report

# %% [markdown]
# ## Which to use
#
# - **Your own loop**: `rw.watch(model, opt)` and `w.log(loss=...)`, as before.
# - **Lightning**: `Trainer(callbacks=[RecipeCallback()])` from
#   `recipe_widgets.integrations.lightning` (`pip install 'recipe-widgets[lightning]'`).
# - **Hugging Face `Trainer`**: `Trainer(..., callbacks=[RecipeCallback()])` from
#   `recipe_widgets.integrations.transformers` (`[transformers]`).
# - **A script, another machine, several processes**: `logdir=` on any of them (the callbacks
#   take it too); `rw.view(logdir)` to follow it, `rw.view("runs/")` to compare a folder of
#   runs, `rw.load_run` for the data. Under `torch.distributed` every rank writes its own file
#   and the view merges them, each finding naming its rank.
#
# Whichever it is, the findings are the watch's, with the same ids: what you learned to read in
# the earlier notebooks reads the same here.

# %%
shutil.rmtree(runs)
