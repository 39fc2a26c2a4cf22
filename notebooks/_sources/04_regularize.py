# %% [markdown]
# # 4. Regularize
#
# Once a model fits the training set, the recipe gives up some of that fit to win validation
# accuracy. In rough order of how much they tend to buy: more real data (nothing beats it),
# data augmentation (fake more data), then the model-side tools: weight decay, dropout and
# stopping early on the validation loss. Try each against the same baseline, and before
# calling a gain real, compare it with the noise of the validation set: a difference smaller
# than about two standard errors may be luck.

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
# ## A model that overfits
#
# To make regularization matter, the baseline trains on only 100 digit images (about ten per
# class) and validates on 397 others. The model: one hidden layer of 128 units, trained for
# 600 steps with AdamW (learning rate 1e-3, higher than the 3e-4 default so that every run
# fits in a few seconds). `rw.watch` records the training loss every step and the validation
# loss every 20 steps.

# %%
digits = load_digits()
images = torch.tensor(digits.images / 16, dtype=torch.float32)  # (N, 8, 8) in [0, 1]
labels = torch.tensor(digits.target)
fit_all, y_fit_all = images[:1400], labels[:1400]
small, y_small = fit_all[:100], y_fit_all[:100]
val, y_val = images[1400:], labels[1400:]
loss_fn = nn.CrossEntropyLoss()


def mlp(dropout=0.0):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, 10))


def train(model, x, y, name, steps=600, weight_decay=0.0, augment=None):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(0)  # batches (and augmentations) repeat exactly
    with rw.watch(model, opt, name=name, display=False) as w:
        while w.steps < steps:
            for idx in torch.randperm(len(x), generator=g).split(32):
                xb = x[idx] if augment is None else augment(x[idx], g)
                loss = loss_fn(model(xb), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                w.log(loss=loss)
                if w.steps % 20 == 0:
                    model.eval()
                    with torch.no_grad():
                        w.log(val_loss=loss_fn(model(val), y_val))
                    model.train()
                if w.steps == steps:
                    break
    return w


results = {}


def record(name, model, x, y):
    results[name] = (model, rw.evaluate(model, (x, y), loss_fn), rw.evaluate(model, (val, y_val), loss_fn))
    fit, v = results[name][1:]
    print(f"{name:16} train loss {fit['loss'][0]:.3f}   val {v}")


base = mlp()
base_watch = train(base, small, y_small, "100 images")
record("100 images", base, small, y_small)

# %% [markdown]
# A training loss near zero (0.027) and a validation loss 25 times higher: a textbook overfit.
# `rw.evaluate` gives each figure with its standard error over the 397 validation images.
#
# ## More data
#
# The same model and the same 600 steps, on all 1,400 training images:

# %%
more = mlp()
train(more, fit_all, y_fit_all, "1400 images")
record("1400 images", more, fit_all, y_fit_all)

# %% [markdown]
# ## Augmentation
#
# When more data cannot be had, make variants of what you have. Here: half of the time an image
# is shown as is, otherwise moved by one pixel up, down, left or right (zeros fill in). The
# generator is the loop's, so the "random" shifts repeat from run to run.

# %%
def shift_one_pixel(x, g):
    """Each (8, 8) image of the batch x: kept (p=1/2) or shifted one pixel in one of 4 ways."""
    p = nn.functional.pad(x, (1, 1, 1, 1))  # (B, 10, 10)
    views = torch.stack([x, p[:, :8, 1:9], p[:, 2:, 1:9], p[:, 1:9, :8], p[:, 1:9, 2:]])  # (5, B, 8, 8)
    pick = torch.randint(1, 5, (len(x),), generator=g)
    pick[torch.rand(len(x), generator=g) < 0.5] = 0
    return views[pick, torch.arange(len(x))]


print(rw.decode(shift_one_pixel(small[:8], torch.Generator().manual_seed(1)), kind="images", labels=y_small[:8]))
aug = mlp()
train(aug, small, y_small, "100 + shifts", augment=shift_one_pixel)
record("100 + shifts", aug, small, y_small)

# %% [markdown]
# ## Weight decay and dropout
#
# Two ways to make the model itself simpler: shrink every weight a little at each step
# (`weight_decay` in AdamW, decoupled from the gradient), or zero half of the hidden units at
# random in training (`nn.Dropout(0.5)`, off in evaluation).

# %%
decayed = mlp()
train(decayed, small, y_small, "weight decay 0.5", weight_decay=0.5)
record("weight decay 0.5", decayed, small, y_small)
dropped = mlp(dropout=0.5)
train(dropped, small, y_small, "dropout 0.5")
record("dropout 0.5", dropped, small, y_small)

# %% [markdown]
# Dropout is one of the layers that behave differently in training and evaluation; `rw.check`
# confirms that evaluation mode really turns it off (two eval passes agree) and that the loss
# still falls with it:

# %%
rw.check(mlp(dropout=0.5), (small, y_small), loss_fn, checks=["eval_mode", "decreasing_loss"])

# %% [markdown]
# ## Early stopping
#
# The baseline's watch logged the validation loss every 20 steps. Its lowest point says when
# training should have stopped; after it the training loss keeps falling while the validation
# loss creeps back up (only a little in so short a run).

# %%
h = base_watch.history
val_curve = h.dropna(subset=["val_loss"])
best_step = int(val_curve.loc[val_curve["val_loss"].idxmin(), "step"])
print(f"lowest val loss {val_curve['val_loss'].min():.3f} at step {best_step}; at the end: {val_curve['val_loss'].iloc[-1]:.3f}")

curves = rw.compare(base_watch)
lines = alt.Chart(curves, title="100 images: training and validation loss").mark_line().encode(
    x=alt.X("step:Q", title="optimizer step"), y=alt.Y("value:Q", title="loss"), color=alt.Color("metric:N", title=None))
stop = alt.Chart(pd.DataFrame({"step": [best_step]})).mark_rule(strokeDash=[4, 4], color="gray").encode(x="step:Q")
rw.charts.show((lines + stop).properties(width=520, height=220))

# %% [markdown]
# Training is deterministic here, so stopping at that step is the same as training again for
# exactly that many steps (in a real loop you would keep a copy of the best weights instead):

# %%
early = mlp()
train(early, small, y_small, "early stop", steps=best_step)
record("early stop", early, small, y_small)

# %% [markdown]
# ## Which differences are real?
#
# Each variant against the 100-image baseline: the change in validation accuracy, and that
# change divided by its standard error (the two runs' errors combined; this ignores that they
# share the validation set, so it is on the cautious side). Beyond about 2, the gain is
# unlikely to be luck.

# %%
base_acc, base_se = results["100 images"][2]["accuracy"]
rows = []
for name, (_, fit, v) in results.items():
    acc, se = v["accuracy"]
    z = (acc - base_acc) / (se**2 + base_se**2) ** 0.5
    rows.append({"variant": name, "val acc": acc, "± se": se, "val loss": v["loss"][0],
                 "gain": acc - base_acc, "gain / se": z, "real?": "yes" if abs(z) > 2 else "no"})
pd.DataFrame(rows).set_index("variant").round(3)

# %% [markdown]
# More data wins by a wide margin (+11 points, four standard errors), and it is the only gain
# well beyond the noise. The other tools move validation accuracy by at most a point or two
# here, which 397 validation images cannot tell from chance; the shifts do lower the
# validation loss (0.705 to 0.648). Whether they add up when combined is a separate
# experiment, not a guess.

# %% [markdown]
# ## Look at what the first layer learned
#
# Each hidden unit of the first layer has 64 weights, one per pixel: reshaped to 8x8, it is a
# picture of what the unit looks for. After a few hundred steps these pictures are still mostly
# their random init, so we look at what training *added*: the weights minus their initial
# values (every variant starts from the same seed). `rw.decode(..., kind="filters")` shows them
# (each scaled on its own) and flags dead, all-constant ones.

# %%
w_init = mlp()[1].weight.detach()  # the same init every variant started from, (128, 64)
learned = lambda m: (m[1].weight.detach() - w_init).reshape(-1, 1, 8, 8)  # (128, 64) -> (128, 1, 8, 8)
rw.decode(learned(base)[:16], kind="filters")

# %% [markdown]
# Units 3 and 12 stand out only because each picture is scaled on its own: their numbers say
# they barely moved (by at most 0.01, against about 0.2 for the others). Units that stop
# changing early are usually ReLUs that went silent: negative on every input, so no gradient
# reaches them again. Counting, for each variant, the units that fire on no training image, and
# how far its weights moved:

# %%
def silent_units(model, x):
    with torch.no_grad():
        fires = (model[2](model[1](model[0](x))) > 0).any(dim=0)  # (128,): fires on some image
    return (~fires).nonzero().flatten().tolist()


print("silent among the 16 units shown:", [u for u in silent_units(base, small) if u < 16])


def first_layer_stats(name):
    model, x = results[name][0], {"1400 images": fit_all}.get(name, small)
    w = model[1].weight.detach()
    return {"variant": name, "silent units": len(silent_units(model, x)), "weight norm": float(w.norm()),
            "moved / init norm": float((w - w_init).norm() / w_init.norm())}


pd.DataFrame([first_layer_stats(n) for n in results]).set_index("variant").round(3)

# %% [markdown]
# Seventeen of the 128 units went silent with 100 plain images, six with more data or with
# shifted copies: varied inputs keep more units alive. Weight decay shows its effect as the
# smallest weight norm, not as more accuracy here.

# %% [markdown]
# ## What next
#
# With a model that generalizes as well as these tools allow, the remaining knobs are its
# hyper-parameters. `05_tune` searches them, and shows why a random search beats a grid.
