# %% [markdown]
# # 2. The training skeleton and dumb baselines
#
# Before reaching for a clever model, build the whole loop (data, model, loss, training,
# evaluation) around something small, and make every part of it earn your trust. Each check
# below catches a bug that would otherwise train quietly and just give worse numbers: a bad
# loss at init, labels shuffled apart from their inputs, a reshape that mixes the batch, an
# evaluation without error bars. Later experiments are only as good as this skeleton.

# %%
%load_ext recipe_widgets
import math

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import recipe_widgets as rw

# %% [markdown]
# ## Fix the random seed
#
# One seed for python, numpy and torch, and a seeded generator for every shuffle, so a rerun
# gives the same numbers and a change in a result means a change in the code. (One CPU thread:
# for models this small it is as fast, and sums always add up in the same order.)

# %%
seed = rw.seed_everything(0)
torch.set_num_threads(1)

digits = load_digits()
X = torch.tensor(digits.images / 16, dtype=torch.float32).unsqueeze(1)  # (N, 1, 8, 8) in [0, 1]
y = torch.tensor(digits.target)
order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
X, y = X[order], y[order]
X_fit, y_fit = X[:1197], y[:1197]
X_val, y_val = X[1197:1497], y[1197:1497]
X_test, y_test = X[1497:], y[1497:]
print(f"fit {len(y_fit)}, val {len(y_val)}, test {len(y_test)} images of shape {tuple(X.shape[1:])}")

# %% [markdown]
# ## A small model, and the loss at init
#
# Start with a model too simple to be wrong in interesting ways: a two-layer MLP. A factory
# with its own seed gives the same weights every time it is called.
#
# With 10 balanced classes and small random weights, the untrained net should spread its
# belief evenly, so the cross-entropy at init should be close to -log(1/10) = ln 10. A very
# different number means the outputs, the loss or the labels are not what you think.

# %%
def make_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


loss_fn = nn.CrossEntropyLoss()
model = make_mlp()
with torch.no_grad():
    init_loss = loss_fn(model(X_val), y_val).item()
print(f"loss at init {init_loss:.3f}, expected -log(1/10) = {-math.log(1 / 10):.3f}")

# %% [markdown]
# ## Check the whole skeleton
#
# `rw.check` runs the recipe's skeleton checks on copies (your model and every RNG are left as
# they were): loss at init, initialization, overfitting ten examples, a falling loss, an
# input-independent baseline on the validation split, batch independence, reproducibility,
# and whether every parameter is trained.

# %%
report = rw.check(model, (X_fit, y_fit), loss_fn, val=(X_val, y_val))
report

# %% [markdown]
# ## Initialize well
#
# When the classes are not balanced, a correct untrained net still starts out predicting them
# evenly, and the first steps are spent learning the class frequencies through the final bias
# (the loss curve's "hockey stick"). Setting that bias to the log of the class frequencies
# removes the wasted start. Here is an imbalanced subset: all of 5-9, one in eight of 0-4.

# %%
keep = (y_fit >= 5) | (torch.arange(len(y_fit)) % 8 == 0)
X_imb, y_imb = X_fit[keep], y_fit[keep]
print("items per class:", torch.bincount(y_imb).tolist())

skewed = make_mlp()
before = rw.check(skewed, (X_imb, y_imb), loss_fn, checks=["loss_at_init", "init_well"])
before

# %% [markdown]
# The check weighs the gap by what it costs: moving only the final bias to the class
# frequencies would remove part of the loss at init. Under 40% of it is `info`, a short
# start; more (a 1:10 binary problem starts with more than half its loss in the bias)
# is a `warn`. Either way, `rw.init_final_bias` is an explicit step you take, never something a
# check does for you:

# %%
rw.init_final_bias(skewed, y_imb)
print("final bias:", [round(b, 2) for b in skewed[-1].bias.tolist()])
after = rw.check(skewed, (X_imb, y_imb), loss_fn, checks=["loss_at_init", "init_well"])
after

# %% [markdown]
# ## An input-independent baseline
#
# Train once on real inputs and once with the inputs zeroed: the first must do clearly better
# on held-out data, or the net is not using its input. A classic way to fail this: shuffling
# the labels separately from the images. The training loss can still creep down as the net
# memorizes; only held-out data shows that nothing was learned.

# %%
shuffle = torch.randperm(len(y_fit), generator=torch.Generator().manual_seed(1))
y_shuffled = y_fit[shuffle]  # the bug: labels reordered, images not
shuffled = rw.check(make_mlp(), (X_fit, y_shuffled), loss_fn, val=(X_val, y_val),
                    checks=["input_independent_baseline"])
shuffled

# %%
def baseline(r: rw.Report) -> dict:
    return next(f for f in r.findings if f.check == "input_independent_baseline").evidence


good_ev, bad_ev = baseline(report), baseline(shuffled)
for name, ev in (("paired labels", good_ev), ("shuffled labels", bad_ev)):
    print(f"{name:16} held-out loss {ev['real_held_loss']:.3f}, zeroed inputs {ev['zero_input_held_loss']:.3f}")

# %% [markdown]
# ## Overfit one batch
#
# A net with enough capacity must drive the loss on a handful of examples to about zero. If it
# cannot, nothing it does on the full set means anything. `rw.check` did this above
# (`overfit_one_batch`); by hand it is a few lines (a larger learning rate, to get there fast):

# %%
torch.manual_seed(0)
tiny = make_mlp()
opt = torch.optim.Adam(tiny.parameters(), lr=1e-2)
xb, yb = X_fit[:10], y_fit[:10]
losses = []
for step in range(100):
    loss = loss_fn(tiny(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
print("loss at steps 0, 25, 50, 99:", [round(losses[i], 4) for i in (0, 25, 50, 99)])

# %% [markdown]
# ## Visualize just before the net
#
# Decode the exact tensor that enters `model(x)`, after the loader and every transform: the
# only place where the data is what the net sees. `rw.before_the_net` captures it with a
# forward pre-hook (removed on exit) and shows images with their labels, plus checks on scale,
# NaNs and duplicates.

# %%
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(X_fit, y_fit), batch_size=64, shuffle=True,
    generator=torch.Generator().manual_seed(seed),
)
xb, yb = next(iter(loader))
with rw.before_the_net(model, labels=yb[:12]) as seen:
    model(xb[:12])
seen

# %% [markdown]
# ## Train, and watch the predictions
#
# A short run (8 epochs) in our own loop. `rw.watch` listens through hooks (nothing is patched) and plots
# what we log; `w.track(batch)` records the model's predictions on a fixed batch as training
# goes, the recipe's "prediction dynamics".

# %%
model = make_mlp()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
fixed = (X_val[:8], y_val[:8])
with rw.watch(model, opt, name="mlp") as w:
    w.track(fixed)
    for epoch in range(8):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            w.log(loss=loss)
        model.eval()
        with torch.no_grad():
            w.log(val_loss=loss_fn(model(X_val), y_val))
        model.train()

# %%
w.report

# %%
print(w.history.dropna(subset=["val_loss"]).round(4).to_string(index=False))

# %% [markdown]
# The tracked batch, as the probability the model gives each example's true label, step by
# step. All start near chance (0.1) and most end above 0.9; example 0 lags far behind (about
# 0.4), so it is the first one to decode and look at.

# %%
dynamics_chart = rw.charts.predictions(w)  # an Altair chart: restyle it as you like
dynamics = dynamics_chart.data  # its data: one row per (step, example)
table = dynamics.pivot(index="step", columns="example", values="prediction")
print(table.loc[[0, 10, 20, 50, 100, table.index[-1]]].round(3).to_string())

# %%
rw.charts.show(dynamics_chart)

# %% [markdown]
# ## Evaluate the whole test set, with error bars
#
# `rw.evaluate` runs the full set in eval mode without gradients and gives each figure with its
# standard error; two runs closer than about two standard errors cannot be told apart. Beside
# it, the dumbest baseline: always answer the most common training class.

# %%
result = rw.evaluate(model, (X_test, y_test), loss_fn)
majority = torch.bincount(y_fit).argmax()
print(result)
print(f"majority-class baseline: accuracy {(y_test == majority).float().mean().item():.3f}")

# %% [markdown]
# ## Generalize a special case
#
# Write the loopy, obviously correct version first, then the vectorized one, and prove they
# agree in values *and* gradients. Here: per-example cross-entropy by hand.

# %%
def loopy_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    out = []
    for row, t in zip(logits, target):
        out.append(-(row[t] - torch.log(torch.exp(row).sum())))
    return torch.stack(out)


def vectorized_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(logits.log_softmax(dim=1).gather(1, target[:, None]).squeeze(1))


logits = torch.randn(16, 10, generator=torch.Generator().manual_seed(0))
rw.assert_same(loopy_ce, vectorized_ce, logits, y_val[:16])
print("loopy and vectorized agree (outputs and gradients)")

# %% [markdown]
# A plausible-looking slip, the softmax taken over the batch (`dim=0`) instead of the classes, is
# caught and located:

# %%
def wrong_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(logits.log_softmax(dim=0).gather(1, target[:, None]).squeeze(1))


try:
    rw.assert_same(loopy_ce, wrong_ce, logits, y_val[:16])
except AssertionError as err:
    print("AssertionError:", err)

# %% [markdown]
# ## Chart dependencies with backprop
#
# Example i's output must depend only on example i's input. Take the gradient of one
# example's output with respect to the whole input batch: it must be zero everywhere else. A
# `view` or `reshape` where a `permute` was meant breaks this silently, and the net still
# trains. Here a model moves channels first for some op, then forgets to move them back:

# %%
class Mixer(nn.Module):
    def __init__(self, permute_back: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.fc = nn.Conv2d(1, 8, 3, padding=1), nn.Linear(8 * 64, 10)
        self.permute_back = permute_back

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x).permute(1, 0, 2, 3)  # (C, B, H, W)
        if self.permute_back:
            h = h.permute(1, 0, 2, 3)  # back to (B, C, H, W)
        return self.fc(h.reshape(x.shape[0], -1))  # without permute_back: rows mix examples


for permute_back in (False, True):
    x = X_val[:4].clone().requires_grad_(True)
    Mixer(permute_back)(x)[0].sum().backward()  # d(example 0's output) / d(every input)
    norms = [round(v, 3) for v in x.grad.flatten(1).norm(dim=1).tolist()]
    print(f"permute_back={permute_back!s:5}: gradient norm per input example {norms}")

# %%
rw.check(Mixer(permute_back=False), (X_fit, y_fit), loss_fn, checks=["batch_independence"])

# %%
rw.check(Mixer(permute_back=True), (X_fit, y_fit), loss_fn, checks=["batch_independence"])

# %% [markdown]
# ## What next
#
# The skeleton is trusted and the baselines are on record. Next, `03_overfit.ipynb`: grow the
# model until it overfits the training set, changing one thing at a time.
