# %% [markdown]
# # Widget gallery
#
# Every recipe_widgets widget once, on small data, including data strings that try to inject
# HTML or script: they must show as plain text. The browser tests open this notebook in
# JupyterLab and Notebook 7 and check that each widget has drawn.

# %%
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

import recipe_widgets as rw

rw.seed_everything(0)
HOSTILE = '<img src=x onerror="window.__rw_pwned=1"><script>window.__rw_pwned=2</script>'

# %% [markdown]
# ## A report
#
# Findings render as a checklist; their text is escaped, whatever the data put in it.

# %%
rw.Report(
    (
        rw.Finding("loss_at_init", "pass", "Loss at init 2.31, expected 2.30 = -log(1/10)."),
        rw.Finding("hostile_text", "warn", f"A label read {HOSTILE}", "Nothing to fix: shown as text."),
    ),
    title="Gallery report",
)

# %% [markdown]
# ## The explorer
#
# Search, filter, sort, a histogram per axis (drag over numeric bars, click category bars) and
# the items behind every bar.

# %%
digits = load_digits()
frame = pd.DataFrame(
    {
        "label": digits.target,
        "brightness": digits.images.mean(axis=(1, 2)),
        "note": [HOSTILE if i == 3 else "" for i in range(len(digits.target))],
    }
)
thumbs = (digits.images * (255 / 16)).astype(np.uint8)
explorer = rw.explore(frame, "label", images=thumbs, page_size=12)
explorer

# %% [markdown]
# ## The human baseline
#
# Label items with the answer hidden; accuracy and confusion appear at the end.

# %%
baseline = explorer.human_baseline(n=5)
baseline

# %% [markdown]
# ## The tensor decoder
#
# A batch as the net sees it: images with their class names (here hostile ones), token ids
# through a vocabulary, tabular rows with out-of-range values highlighted.

# %%
import torch

x = torch.tensor(digits.images[:12] / 16, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(digits.target[:12])
classes = [HOSTILE if c == 3 else f"digit {c}" for c in range(10)]
rw.decode(x, labels=y, classes=classes)

# %% [markdown]
# The net sees normalized pixels; `rw.before_the_net` with the same `mean`/`std` undoes the
# normalization and shows the original digits. A batch fed as raw 0-255 pixels is flagged.

# %%
mean, std = float(x.mean()), float(x.std())
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
with rw.before_the_net(net, mean=mean, std=std, labels=y) as seen:
    net((x - mean) / std)
seen

# %%
rw.decode((x * 255).round(), labels=y).findings

# %%
vocab = ["<pad>", "the", "net", "sees", HOSTILE, "this"]
rw.decode(torch.tensor([[1, 2, 3, 5, 0, 0], [4, 2, 3, 1, 5, 0]]), vocab=vocab, pad_id=0)

# %%
rows = torch.tensor([[0.1, 1.0, 5.0], [0.2, 1.1, 5.1], [0.1, 0.9, 4.9], [0.3, 1.0, 500.0]])
rw.decode(rows, feature_names=["age", HOSTILE, "income"])

# %% [markdown]
# ## The live plot
#
# `rw.watch` draws what the loop logs while it runs; the browser test checks that the chart
# drew and that it grew while the loop was still running (the loop sleeps a little per step,
# standing in for real work).

# %%
import time

from torch import nn

torch.manual_seed(0)
net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
X = torch.tensor(digits.images / 16, dtype=torch.float32)
Y = torch.tensor(digits.target)
with rw.watch(net, opt, name=HOSTILE) as w:
    w.track((X[:8], Y[:8]))  # prediction dynamics and the overfit view, drawn when the loop ends
    for step in range(100):
        idx = torch.arange(step * 16, step * 16 + 16) % len(X)
        loss = nn.functional.cross_entropy(net(X[idx]), Y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        w.log(loss=loss)
        time.sleep(0.05)
w.report
