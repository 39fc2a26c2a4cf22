# %% [markdown]
# # recipe_widgets: a tour
#
# Neural-net training fails silently: a softmax before the loss, labels shuffled apart from
# their images, a forgotten `zero_grad()`, and the net still trains, only worse. *A Recipe for
# Training Neural Networks* (Karpathy, 2019) answers with a process: look at the data, build a
# skeleton you trust, overfit, regularize, tune, squeeze. **recipe_widgets** turns each step of
# that process into something that runs and gives a verdict.
#
# This tour uses scikit-learn's bundled handwritten digits (1,797 images of 8x8 pixels), so it
# runs anywhere with no download.

# %% [markdown]
# ## Load the extension
#
# `%load_ext recipe_widgets` adds the `%recipe` magic (and, later, rich displays); `%unload_ext
# recipe_widgets` takes all of it away again. Plain `import recipe_widgets` changes nothing.

# %%
%load_ext recipe_widgets
import recipe_widgets as rw

# %% [markdown]
# `%recipe` shows the whole recipe as a checklist, with the recipe_widgets tool for each step.
# `%recipe skeleton` shows one stage.

# %%
%recipe

# %% [markdown]
# ## Fix the random seed
#
# The first step of the skeleton: every random source (python, numpy, torch) seeded at once,
# so two runs of this notebook give the same numbers.

# %%
rw.seed_everything(0)

# %% [markdown]
# ## A first look at the data
#
# Before any model code: how many items, what shape, what range of values, how many per class.

# %%
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

digits = load_digits()
images, labels = digits.images, digits.target
print(f"{images.shape[0]} images of {images.shape[1]}x{images.shape[2]} pixels, dtype {images.dtype}")
print(f"pixel values from {images.min():g} to {images.max():g}: 17 grey levels, not 0-255 and not normalized")
pd.Series(labels).value_counts().sort_index().rename_axis("digit").rename("items").to_frame().T

# %% [markdown]
# ## Become one with the data
#
# The recipe's first step is to look, for hours if need be. To show what looking finds, here is
# a copy of digits with defects planted in it, the kind real datasets have: exact and near
# copies, training items copied into the test split, flipped labels and corrupted images.
# `rw.audit` scans for all of them and says where they are (`evidence["indices"]`).

# %%
from recipe_widgets.engine.audit import planted_digits

splits, truth = planted_digits(seed=0)
audit = rw.audit(splits=splits)
audit

# %% [markdown]
# Every warning names its items, and the planted truth lets us check the audit found them:

# %%
flagged = {f.check: {tuple(i) for i in f.evidence.get("indices", ())} for f in audit.findings}
for defect in ("exact_duplicates", "near_duplicates", "split_leakage", "corrupted_items", "label_noise"):
    planted = {tuple(i) for i in truth[defect]}
    print(f"{defect:18} planted {len(planted):3}  found {len(planted & flagged[defect]):3}")

# %% [markdown]
# `rw.explore` puts the items, their statistics and the audit's flags in one table to search,
# filter (`flags != "" and label == 3`), sort and histogram. In a live notebook it is an
# interactive widget; in a saved one, a static snapshot of the first page.

# %%
X_train, y_train = splits["train"]
rw.explore(X_train, y_train, report=audit, split="train", page_size=12)

# %% [markdown]
# ## Visualize just before the net
#
# The only source of truth is the tensor that enters `model(x)`. `rw.before_the_net` captures
# exactly that (a forward pre-hook, removed on exit) and decodes it back into images with
# their labels, plus findings about scale, NaNs and channel order.

# %%
import torch
from torch import nn

X = torch.tensor(images / 16, dtype=torch.float32).unsqueeze(1)  # (N, 1, 8, 8) in [0, 1]
y = torch.tensor(labels)
X_fit, y_fit, X_val, y_val = X[:1400], y[:1400], X[1400:], y[1400:]


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


model = make_model()
with rw.before_the_net(model, labels=y_fit[:16]) as seen:
    model(X_fit[:16])
seen

# %% [markdown]
# ## A skeleton you can trust
#
# `rw.check` runs the recipe's skeleton checks on *copies* of the model (yours is untouched):
# loss at init, init well, input-independent baseline, overfit one batch, decreasing loss,
# batch independence, reproducibility, parameter coverage. Each verdict says what was seen and
# what to do about it.

# %%
loss_fn = nn.CrossEntropyLoss()
report = rw.check(model, (X_fit, y_fit), loss_fn, val=(X_val, y_val))
report

# %% [markdown]
# Now a classic silent bug: a softmax at the end of the model, before `CrossEntropyLoss`, which
# applies its own log-softmax. The net still trains, only worse. The check names it:

# %%
buggy = nn.Sequential(make_model(), nn.Softmax(dim=1))
rw.check(buggy, (X_fit, y_fit), loss_fn, val=(X_val, y_val))

# %% [markdown]
# In a test suite, `report.raise_if_failed()` turns failures into a pytest failure;
# `python -m recipe_widgets check module:factory` does the same from a terminal.

# %% [markdown]
# ## Watch your own training loop
#
# Much goes wrong in the loop itself, where `rw.check` never looks. `rw.watch` attaches hooks
# to your model and optimizer (nothing is patched) and plots what you log as it runs.

# %%
def train(model: nn.Module, epochs: int, zero_grad: bool = True, name: str = "run") -> rw.Watch:
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X_fit, y_fit), batch_size=64, shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    with rw.watch(model, opt, name=name) as w:
        for _ in range(epochs):
            for xb, yb in loader:
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                if zero_grad:
                    opt.zero_grad()
                w.log(loss=loss)
            model.eval()
            with torch.no_grad():
                w.log(val_loss=loss_fn(model(X_val), y_val))
            model.train()
    return w


good = train(make_model(), epochs=8, name="correct loop")
good.report

# %% [markdown]
# The same loop with `opt.zero_grad()` forgotten: gradients pile up from step to step. The
# loss still goes down for a while, so nothing looks wrong; the watch says what is:

# %%
bad = train(make_model(), epochs=2, zero_grad=False, name="no zero_grad")
bad.report

# %% [markdown]
# ## Where next
#
# Each stage of the recipe has its own notebook; `%recipe` lists them with their tools.
