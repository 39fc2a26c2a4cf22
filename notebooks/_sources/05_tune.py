# %% [markdown]
# # 5. Tune
#
# With a model that fits and generalizes, the recipe turns to its hyper-parameters, and gives
# one firm piece of advice: search at random, not on a grid. The reason (Bergstra & Bengio,
# 2012) is that usually only a few hyper-parameters matter much, and you rarely know which in
# advance. A grid of 3 x 3 tries 9 settings but only 3 values of each parameter; if only one of
# them matters, six of the nine runs repeat what three already told you. Nine random draws try
# nine different values of every parameter.
#
# A small search over the learning rate and the weight decay of a tiny model shows it.

# %%
%load_ext recipe_widgets
import altair as alt
import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from torch import nn

import recipe_widgets as rw

rw.seed_everything(0)
torch.set_num_threads(1)  # models this small run faster on one thread than on several

# %% [markdown]
# ## One trial
#
# A trial trains a small net (64 -> 32 -> 10) for 50 full-batch AdamW steps on 1,400 digit
# images and reports its accuracy on the other 397. Same seed every time, so a trial is a
# deterministic function of its two hyper-parameters, except where the learning rate is so high
# that the loss jumps above where it started and never recovers: such a run is chaotic (its
# accuracy changes with the last bit of a float, so from one CPU to another), and all it tells
# us is "diverged".

# %%
digits = load_digits()
X = torch.tensor(digits.images / 16, dtype=torch.float32).reshape(-1, 64)  # (N, 64)
y = torch.tensor(digits.target)
X_fit, y_fit, X_val, y_val = X[:1400], y[:1400], X[1400:], y[1400:]
loss_fn = nn.CrossEntropyLoss()


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def trial(lr, weight_decay, steps=50):
    """The trained model, its validation accuracy, and whether training diverged."""
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(X_fit), y_fit)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    # diverged: the loss jumped above where it started and never came back down to half of it
    diverged = max(losses[1:]) > losses[0] and losses[-1] > 0.5 * losses[0]
    with torch.no_grad():
        return model, float((model(X_val).argmax(dim=1) == y_val).float().mean()), diverged


# %% [markdown]
# ## Grid and random search, same budget
#
# Both search the learning rate over 1e-4 to 1 and the weight decay over 1e-5 to 1e-2, on a
# log scale, with 9 trials each. The grid takes 3 evenly spaced values per axis; the random
# search draws each value log-uniformly (from a seeded generator).

# %%
BUDGET = 9
grid = [(lr, wd) for lr in np.logspace(-4, 0, 3) for wd in np.logspace(-5, -2, 3)]
rng = np.random.default_rng(0)
random_draws = list(zip(10 ** rng.uniform(-4, 0, BUDGET), 10 ** rng.uniform(-5, -2, BUDGET)))

rows = []
for search, settings in [("grid", grid), ("random", random_draws)]:
    for lr, wd in settings:
        _, acc, diverged = trial(lr, wd)
        rows.append({"search": search, "lr": lr, "weight decay": wd, "val acc": acc, "diverged": diverged})
trials = pd.DataFrame(rows)
shown = trials.round({"lr": 5, "weight decay": 6, "val acc": 3}).astype({"val acc": object})
shown.loc[shown["diverged"], "val acc"] = "diverged"
shown.drop(columns="diverged")

# %% [markdown]
# ## Which parameter matters?
#
# On the grid, each learning rate was tried with three weight decays (the three runs at lr 1
# diverged, so they are left out). Across weight decays the accuracy barely moves; across
# learning rates it goes from chance to 90%:

# %%
on_grid = trials[(trials["search"] == "grid") & ~trials["diverged"]]  # diverged runs say nothing
spread = lambda s: s.max() - s.min()
print(f"spread of val acc across weight decays, at a fixed lr: at most {on_grid.groupby('lr')['val acc'].agg(spread).max():.3f}")
print(f"spread across learning rates, at a fixed weight decay: at least {on_grid.groupby('weight decay')['val acc'].agg(spread).min():.3f}")
print("distinct learning rates tried:", {s: t["lr"].nunique() for s, t in trials.groupby("search")})

# %% [markdown]
# So this is the case the argument is about: one important parameter, one that hardly matters.
# Plotting each trial's accuracy against its learning rate shows what each search learned
# about the one that matters. The grid's nine trials pile up on three spots, three on each,
# since the weight decay changes almost nothing; the random search's nine trace the curve:
# where it rises, where the good band is, and where the rate gets too high and training falls
# apart.

# %%
chart = alt.Chart(trials).mark_point(filled=True, size=70).encode(
    x=alt.X("lr:Q", scale=alt.Scale(type="log"), title="learning rate (log scale)"),
    y=alt.Y("val acc:Q", title="validation accuracy"),
    color=alt.Color("weight decay:Q", scale=alt.Scale(type="log", scheme="viridis")),
    tooltip=["search:N", alt.Tooltip("lr:Q", format=".2e"), alt.Tooltip("weight decay:Q", format=".1e"),
             alt.Tooltip("val acc:Q", format=".3f")],
).properties(width=240, height=200).facet(column=alt.Column("search:N", title=None))
rw.charts.show(chart.properties(title="validation accuracy by learning rate, 9 trials each"))

# %% [markdown]
# ## The best of each, with error bars
#
# Each search's best setting, trained again and evaluated with `rw.evaluate` for a standard
# error:

# %%
best = trials.loc[trials.groupby("search")["val acc"].idxmax()].set_index("search")
for search, row in best.iterrows():
    model, _, _ = trial(row["lr"], row["weight decay"])
    print(f"{search:6} lr {row['lr']:.3g}, weight decay {row['weight decay']:.2g}: {rw.evaluate(model, (X_val, y_val), loss_fn)}")

# %% [markdown]
# The random search's winner is ahead by about a point, less than one standard error: with
# one search each, the two are within noise. The grid was lucky: one of its three learning
# rates landed in the good band. With a band narrower than its spacing it would have missed,
# and it says nothing about where the band ends. The random search found the band *and* its
# edges for the same nine runs, and a tenth run would add a tenth value instead of repeating
# one.
#
# ## Check the winner before committing to it
#
# A search picks whatever scored best, including a setting that only works by accident. Give
# the chosen optimizer to `rw.check` as a factory and it runs the skeleton's training checks
# with it (a few seconds, on copies of the model).

# %%
lr, wd = best.loc["random", ["lr", "weight decay"]]
rw.check(make_model(), (X_fit, y_fit), loss_fn, val=(X_val, y_val),
         optimizer=lambda params: torch.optim.AdamW(params, lr=lr, weight_decay=wd),
         checks=["overfit_one_batch", "decreasing_loss"])

# %% [markdown]
# ## What next
#
# The last stage of the recipe squeezes out what is left: ensembles, longer training, and
# leaving a good run going. That is `06_squeeze`.
