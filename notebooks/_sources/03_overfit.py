# %% [markdown]
# # 3. Overfit
#
# With a skeleton you trust, the recipe's next goal is a model that can fit the *training* set:
# drive the training loss down, and worry about validation later. Do it in small steps. Start
# from a model too simple to be wrong, train it with a setting that rarely fails (Adam at a
# learning rate of 3e-4), then add one thing at a time and keep each change only when the
# training loss says it helped. Two changes at once leave you guessing which one did what.
#
# This stage also has a classic trap: a learning-rate schedule copied from somewhere else that
# silently drives the rate to about zero long before training ends.

# %%
%load_ext recipe_widgets
import altair as alt
import pandas as pd
import torch
from sklearn.datasets import load_digits
from torch import nn

import recipe_widgets as rw

rw.seed_everything(0)
torch.set_num_threads(1)  # models this small run faster on one thread than on several

# %% [markdown]
# ## Data and a training loop
#
# Digits as 64 pixel values in [0, 1]: the first 1,400 images to fit, the other 397 to validate.
# The loop is plain PyTorch; `rw.watch` listens to it and records the training loss at every
# step and the validation loss once per epoch.

# %%
digits = load_digits()
X = torch.tensor(digits.images / 16, dtype=torch.float32).reshape(-1, 64)  # (N, 64)
y = torch.tensor(digits.target)
X_fit, y_fit, X_val, y_val = X[:1400], y[:1400], X[1400:], y[1400:]
loss_fn = nn.CrossEntropyLoss()
EPOCHS = 20


def train(model, name, epochs=EPOCHS, scheduler=None, display=False):
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)  # the safe default
    sched = scheduler(opt) if scheduler is not None else None
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X_fit, y_fit), batch_size=64, shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    with rw.watch(model, opt, name=name, display=display) as w:
        for _ in range(epochs):
            for xb, yb in loader:
                loss = loss_fn(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()  # once per batch
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                w.log(val_loss=loss_fn(model(X_val), y_val))
            model.train()
    return w


print(f"{len(X_fit)} to fit, {len(X_val)} to validate, {len(X_fit) // 64 + 1} steps per epoch")

# %% [markdown]
# ## The simplest model first
#
# A linear classifier: 64 pixels to 10 logits, nothing to get wrong. Before training it for
# real, ask `rw.check` whether it can memorize a handful of examples within a fixed budget of
# steps (`overfit_one_batch`) and whether its loss falls (`decreasing_loss`).

# %%
def linear():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 10))


def mlp(width):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10))


rw.check(linear(), (X_fit, y_fit), loss_fn, checks=["loss_at_init", "overfit_one_batch", "decreasing_loss"])

# %% [markdown]
# The loss falls, but at this learning rate a linear model does not memorize even ten examples
# in the check's budget. That is the overfit stage's question in miniature: this model is not
# yet able to fit. We keep the learning rate fixed and add capacity instead: first a hidden
# layer, then a wider one.

# %%
rw.check(mlp(256), (X_fit, y_fit), loss_fn, checks=["overfit_one_batch"])

# %% [markdown]
# ## One change at a time
#
# Three runs, identical except for the model: linear, one hidden layer of 64 units, the same
# layer 256 wide. Same seed, same batches, same optimizer, so any difference comes from the
# one thing that changed.

# %%
runs = {}
for name, make in [("linear", linear), ("hidden 64", lambda: mlp(64)), ("hidden 256", lambda: mlp(256))]:
    model = make()
    runs[name] = (model, train(model, name))

rows = []
for name, (model, w) in runs.items():
    fit = rw.evaluate(model, (X_fit, y_fit), loss_fn)
    val = rw.evaluate(model, (X_val, y_val), loss_fn)
    rows.append({"run": name, "train loss": fit["loss"][0], "train acc": fit["accuracy"][0],
                 "val loss": val["loss"][0], "val acc": val["accuracy"][0], "findings": len(w.report)})
pd.DataFrame(rows).set_index("run").round(3)

# %% [markdown]
# Each step lowered the training loss a lot (1.66, then 0.80, then 0.27), and none of the
# watches found anything wrong. `rw.compare` puts the runs' histories in one long table
# (`run, step, metric, value`) to query or chart as you like; `rw.charts.compare` overlays one
# metric of several runs, and `rw.charts.show` draws any Altair chart offline, keeping a PNG in
# the saved notebook.

# %%
watches = [w for _, w in runs.values()]
long = rw.compare(*watches)
print(long.groupby(["run", "metric"], sort=False)["value"].last().unstack().round(3))
rw.charts.show(rw.charts.compare(*watches, metric="loss") & rw.charts.compare(*watches, metric="val_loss"))

# %% [markdown]
# The training loss still falls at the end of every run: the widest model is not done
# overfitting, and the next move would be more steps or a higher rate, one at a time.
# Validation loss follows training loss down here; when it turns up while training loss
# keeps falling, it is time for the next notebook.

# %% [markdown]
# ## The learning-rate decay trap
#
# A schedule written in *epochs*, "halve the rate every 5 epochs" (`StepLR(step_size=5,
# gamma=0.5)`), but stepped once per *batch* as in our loop. With 22 batches an epoch it halves
# every 5 steps, and after a few dozen steps the rate is effectively zero: the run goes on, the
# loss barely moves, and nothing raises an error.
#
# `rw.check` catches it before any training. Give it the scheduler as a *factory*
# (optimizer -> scheduler, so the check never steps yours) and the number of steps you plan:
# it dry-runs the schedule on a dummy optimizer.

# %%
from torch.optim.lr_scheduler import CosineAnnealingLR, StepLR

STEPS = EPOCHS * 22
bad_schedule = lambda opt: StepLR(opt, step_size=5, gamma=0.5)  # meant as "every 5 epochs"
report = rw.check(mlp(256), (X_fit, y_fit), loss_fn, scheduler=bad_schedule, steps=STEPS, checks=["lr_schedule"])
report

# %% [markdown]
# The finding's evidence holds the dry-run learning rates (thinned to at most 200 points), and
# `rw.charts.learning_rate` draws them, so we can see the cliff:

# %%
ev = report["lr_schedule"].evidence
print(f"peak {ev['peak']:.2g}, below 1% of it from step {ev['collapse_step']} of {ev['steps']}, ends at {ev['end']:.2g}")
rw.charts.show(rw.charts.learning_rate(report).properties(title="StepLR(5, 0.5) stepped per batch: dry run"))

# %% [markdown]
# The fix is to write the schedule in optimizer steps. A cosine decay over the whole run ends
# at zero too, but only at the end, and the check lets it pass:

# %%
good_schedule = lambda opt: CosineAnnealingLR(opt, T_max=STEPS)
rw.check(mlp(256), (X_fit, y_fit), loss_fn, scheduler=good_schedule, steps=STEPS, checks=["lr_schedule"])

# %% [markdown]
# If the schedule was never checked, `rw.watch` catches the collapse in your own loop, while
# it runs (pass `display=True`, the default, for the live plot; we keep this notebook quick):

# %%
model = mlp(256)
trap = train(model, "StepLR per batch", scheduler=bad_schedule)
trap.report

# %% [markdown]
# The cost, in numbers: the same model and the same steps as the "hidden 256" run above.

# %%
for name, m in [("constant lr 3e-4", runs["hidden 256"][0]), ("StepLR per batch", model)]:
    print(f"{name:17} val {rw.evaluate(m, (X_val, y_val), loss_fn)}")

# %% [markdown]
# ## What next
#
# The widest model fits the training set better and better, and its validation loss is now
# the number to watch. `04_regularize` trades some of that training fit for validation
# accuracy: more data, augmentation, weight decay, dropout and early stopping.
