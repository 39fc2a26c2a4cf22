# %% [markdown]
# # 08 · Bug hunt
#
# The recipe's warning: a broken training setup rarely crashes. It trains, a bit worse, and
# nothing tells you. This notebook plants seven classic bugs in a small digits classifier, one
# at a time. For each: the **symptom** you would see, the **tool** that names it, its
# **verdict** (the checked report), and the **fix**.
#
# `rw.check(..., checks=[...])` runs only the checks that matter for a bug, so each verdict takes
# a second or two. The stable check ids are in `recipe_widgets.engine.check.CHECKS`.

# %%
%load_ext recipe_widgets
import recipe_widgets as rw

# %%
import torch
from sklearn.datasets import load_digits
from torch import nn

from recipe_widgets.engine.check import CHECKS

torch.set_num_threads(1)  # tiny nets: one thread is faster on a busy CPU and reproducible
rw.seed_everything(0)
print("check ids:", ", ".join(CHECKS))

digits = load_digits()
X = torch.tensor(digits.images / 16, dtype=torch.float32)  # (N, 8, 8) in [0, 1]
y = torch.tensor(digits.target)
order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
X, y = X[order], y[order]
X_fit, y_fit, X_val, y_val = X[:1400], y[:1400], X[1400:], y[1400:]
loss_fn = nn.CrossEntropyLoss()


def make_mlp(dropout: float = 0.0) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(64, 10))

# %% [markdown]
# ## 1. A softmax before the cross-entropy
#
# **Symptom:** training works, but the loss creeps down slowly and stalls well above 0.
# `CrossEntropyLoss` applies its own log-softmax, so a softmax in the model squashes the logits
# twice. **Tool:** `rw.check`, whose loss-at-init check recognizes probabilities where logits
# belong.

# %%
buggy = nn.Sequential(make_mlp(), nn.Softmax(dim=1))
rw.check(buggy, (X_fit, y_fit), loss_fn, checks=["loss_at_init"])

# %% [markdown]
# **Fix:** return raw logits; apply the softmax only when you need probabilities, outside the
# loss.

# %%
rw.check(make_mlp(), (X_fit, y_fit), loss_fn, checks=["loss_at_init"])

# %% [markdown]
# ## 2. A `view` where a `permute` was meant
#
# A model that treats each image as a sequence of 8 rows and wants them time-major `(T, B, C)`,
# as an RNN would. `x.view(8, B, 8)` has the right shape but not the right content: it cuts
# the memory of one batch into new rows, so one "example" is made of rows of several images.
# **Symptom:** accuracy a bit lower than it should be, and predictions that change when other
# examples of the batch change. **Tool:** `rw.check`'s batch-independence check, which uses
# backprop to chart which inputs each output depends on.

# %%
class RowNet(nn.Module):
    def __init__(self, bug: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.bug = bug
        self.row = nn.Linear(8, 16)
        self.head = nn.Linear(8 * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 8 rows, 8 pixels)
        b = x.shape[0]
        t = x.view(8, b, 8) if self.bug else x.permute(1, 0, 2)  # (T, B, 8) time-major
        h = torch.relu(self.row(t))  # (T, B, 16)
        return self.head(h.permute(1, 0, 2).reshape(b, -1))  # (B, T*16) -> (B, 10)


rw.check(RowNet(bug=True), (X_fit, y_fit), loss_fn, checks=["batch_independence"])

# %% [markdown]
# **Fix:** `permute` (or `transpose`) reorders axes; `view` / `reshape` only re-reads the same
# memory. Keep a shape comment on every reshape.

# %%
rw.check(RowNet(bug=False), (X_fit, y_fit), loss_fn, checks=["batch_independence"])

# %% [markdown]
# ## 3. A forgotten `zero_grad()`
#
# **Symptom:** the loss falls for a while, then jumps around; a larger batch "helps". PyTorch
# *adds* each backward into `.grad`, so without `zero_grad()` every step uses the sum of all
# past gradients. This bug lives in your loop, where `rw.check` never looks. **Tool:**
# `rw.watch`, which hooks the optimizer's step and sees the old gradient grow.

# %%
def train_steps(model: nn.Module, steps: int, zero_grad: bool = True) -> rw.Watch:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    with rw.watch(model, opt, display=False, name="zero_grad" if zero_grad else "no zero_grad") as w:
        for _ in range(steps):
            idx = torch.randint(0, len(y_fit), (64,), generator=gen)
            loss = loss_fn(model(X_fit[idx]), y_fit[idx])
            loss.backward()
            opt.step()
            if zero_grad:
                opt.zero_grad()
            w.log(loss=loss)
    return w


train_steps(make_mlp(), 20, zero_grad=False).report

# %% [markdown]
# **Fix:** one `opt.zero_grad()` per optimizer step (before `backward()`, or right after
# `step()`). With gradient accumulation, zero after each step; the watch does not flag that.

# %%
train_steps(make_mlp(), 20).report

# %% [markdown]
# ## 4. Evaluating in train mode
#
# **Symptom:** validation accuracy is noisy from one evaluation to the next and a bit low:
# dropout is still dropping units during evaluation (batch norm would use batch statistics).
# `torch.no_grad()` turns off gradients, not dropout. Here is the symptom in numbers, with a
# dropout-0.5 net after a short training:

# %%
model = make_mlp(dropout=0.5)
w = train_steps(model, 300)
with torch.no_grad():
    in_train_mode = [(model(X_val).argmax(1) == y_val).float().mean().item() for _ in range(3)]
print("val accuracy, three passes in train mode:", ", ".join(f"{a:.4f}" for a in in_train_mode))
print("rw.evaluate (eval mode):", rw.evaluate(model, (X_val, y_val), loss_fn))

# %% [markdown]
# **Tool:** `rw.watch` sees a forward pass under `no_grad` while the model is in train mode:

# %%
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
with rw.watch(model, opt, display=False, name="eval in train mode") as w:
    for step in range(10):
        loss = loss_fn(model(X_fit[:64]), y_fit[:64])
        opt.zero_grad()
        loss.backward()
        opt.step()
        w.log(loss=loss)
    with torch.no_grad():  # the bug: no model.eval() before this
        w.log(val_loss=loss_fn(model(X_val), y_val))
w.report

# %% [markdown]
# **Fix:** `model.eval()` before evaluating and `model.train()` after, or `rw.evaluate`, which
# does both and restores the modes it found.
#
# ## 5. Labels shuffled apart from the inputs
#
# A data pipeline that shuffles the images and the labels with two different permutations.
# **Symptom:** the training loss still falls (the net memorizes noise), but validation stays at
# chance. **Tool:** `rw.check`'s input-independent baseline: a net trained on the real inputs
# must beat one trained on blank inputs on held-out examples. With the pairing broken, the
# inputs carry nothing that generalizes.

# %%
shuffled = y_fit[torch.randperm(len(y_fit), generator=torch.Generator().manual_seed(1))]
rw.check(make_mlp(), (X_fit, shuffled), loss_fn, checks=["input_independent_baseline"])

# %% [markdown]
# **Fix:** shuffle indices once and index inputs and labels with the same permutation (or let
# the `DataLoader` shuffle a dataset of pairs).

# %%
rw.check(make_mlp(), (X_fit, y_fit), loss_fn, checks=["input_independent_baseline"])

# %% [markdown]
# ## 6. Inputs not normalized
#
# The same digits as 0-255 grey levels, fed straight to the net. **Symptom:** a huge loss at
# init and a training run that needs a far smaller learning rate. **Tool:** look at the batch
# just before the net with `rw.decode`, and `rw.check`'s input sanity check.

# %%
X_255 = X_fit * 255  # (N, 8, 8), values 0..255
rw.decode(X_255[:8].unsqueeze(1), kind="images", labels=y_fit[:8])

# %%
rw.check(make_mlp(), (X_255, y_fit), loss_fn, checks=["input_sanity", "loss_at_init"])

# %% [markdown]
# **Fix:** scale to [0, 1] (divide by 255) and then standardize with the training set's mean and
# std, per channel.
#
# ## 7. Parameters missing from the optimizer
#
# The optimizer was built from the body's parameters only; the final layer was added later.
# **Symptom:** the loss falls (the body adapts to a random, frozen head) but plateaus early.
# **Tool:** `rw.check` given *your* optimizer: its coverage check takes one step on a copy and
# sees which parameters got gradients but never changed.

# %%
model = make_mlp()
opt = torch.optim.Adam(model[:4].parameters(), lr=3e-4)  # the head, model[4], is left out
rw.check(model, (X_fit, y_fit), loss_fn, optimizer=opt, checks=["parameter_coverage"])

# %% [markdown]
# **Fix:** build the optimizer from `model.parameters()` after the model is complete (freeze on
# purpose with `requires_grad_(False)`, which the check reports as info, not as a failure).

# %%
opt = torch.optim.Adam(model.parameters(), lr=3e-4)
rw.check(model, (X_fit, y_fit), loss_fn, optimizer=opt, checks=["parameter_coverage"])

# %% [markdown]
# ## The catalogue
#
# | bug | symptom | tool | check id |
# |---|---|---|---|
# | softmax before cross-entropy | slow loss, stalls above 0 | `rw.check` | `loss_at_init` |
# | `view` instead of `permute` | predictions depend on batch mates | `rw.check` | `batch_independence` |
# | no `zero_grad()` | unstable loss | `rw.watch` | `zero_grad_forgotten` |
# | evaluation in train mode | noisy, low validation numbers | `rw.watch` | `eval_in_train_mode` |
# | labels shuffled apart | validation at chance | `rw.check` | `input_independent_baseline` |
# | inputs 0-255 | huge loss at init | `rw.decode`, `rw.check` | `input_sanity` |
# | parameters missing from the optimizer | early plateau | `rw.check` | `parameter_coverage` |
#
# ## What next
#
# In your own project, run `rw.check` on the setup once before any long run, and keep
# `rw.watch` around your loop: most of these bugs then cost seconds instead of days. `%recipe`
# lists every stage and its tools.
