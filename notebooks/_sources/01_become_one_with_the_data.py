# %% [markdown]
# # 1. Become one with the data
#
# The recipe's first step involves no model at all. Spend time with the examples: scan
# thousands of them, look for copies, broken items, odd labels, how the classes are spread,
# and how hard the task is for *you*. What you find decides the architecture, the
# preprocessing and which numbers to trust later. A net will happily learn from broken data and
# never say so.
#
# To make the point with known answers, this notebook uses a copy of scikit-learn's handwritten
# digits with defects planted in it: exact and near copies, training items copied into the test
# split, flipped labels and corrupted images. We find them, look at them, and clean them.

# %%
%load_ext recipe_widgets
import numpy as np
import pandas as pd
import torch

import recipe_widgets as rw
from recipe_widgets.engine.audit import planted_digits

rw.seed_everything(0)

# %% [markdown]
# ## The data
#
# `planted_digits` returns `{"train": (X, y), "test": (X, y)}` with images of 8x8 grey levels
# 0..16, and `truth`: the `[split, index]` of every planted defect, which a real dataset would
# never hand you. We keep it aside and use it only to grade the audit.

# %%
splits, truth = planted_digits(seed=0)
X_train, y_train = splits["train"]
X_test, y_test = splits["test"]
print(f"train {X_train.shape}, test {X_test.shape}, labels {sorted(set(y_train.tolist()))}")
print({defect: len(items) for defect, items in truth.items() if defect != "originals"})

# %% [markdown]
# ## Audit every split at once
#
# `rw.audit(splits=...)` looks for duplicates inside a split, copies across splits (leakage),
# items that cannot be read (NaN, Inf, blank), class imbalance, outliers, and labels that
# disagree with the item's nearest neighbours. Each warning carries the items it is about in
# `evidence["indices"]`, as `[split, index]` pairs.

# %%
audit = rw.audit(splits=splits)
audit

# %% [markdown]
# ## Did it find the planted defects?
#
# Grade each finding against the planted truth: how many planted items it flagged (recall) and
# how many of its flags were planted (precision). A duplicate or leak flags *both* members of a
# pair, the original and its copy, so for those we count the copies it found.

# %%
found = {f.check: {tuple(i) for i in f.evidence.get("indices", ())} for f in audit.findings}
rows = []
for defect in ("exact_duplicates", "near_duplicates", "split_leakage", "corrupted_items", "label_noise"):
    planted = {tuple(i) for i in truth[defect]}
    hits = planted & found[defect]
    rows.append({"defect": defect, "planted": len(planted), "found": len(hits), "flagged": len(found[defect])})
grade = pd.DataFrame(rows).set_index("defect")
grade

# %% [markdown]
# Every planted defect is found. The duplicate and leakage findings flag twice the planted
# number because they list both copies; the label-noise check flags a few more items than were
# planted. Those extra ones are worth a look, not a deletion on trust: some digits really are
# ambiguous.

# %%
label_noise = next(f for f in audit.findings if f.check == "label_noise")
planted_flips = {tuple(i) for i in truth["label_noise"]}
extra = [tuple(i) for i in label_noise.evidence["indices"] if tuple(i) not in planted_flips]
print(f"label_noise: {grade.loc['label_noise', 'found']} of 20 planted flips found, {len(extra)} extra flags: {extra}")

# %% [markdown]
# ## Look: the explorer
#
# `rw.explore` makes one row per item (label, brightness statistics, and the audit's `flags`),
# and lets you search, filter, sort and histogram them. `split="train"` says which split's flags
# to show, since this audit ran over two. In a live notebook the controls are clickable; here we
# set the same traits from code.

# %%
explorer = rw.explore(X_train, y_train, report=audit, split="train", page_size=12)
explorer

# %% [markdown]
# The filter box takes a small expression language (comparisons, `and`/`or`/`not`, `in`,
# `contains`), parsed by its own grammar and never passed to `eval`. Setting `explorer.expr` is
# what typing into the box does; `explorer.selection` holds the matching positions.

# %%
explorer.expr = 'flags != ""'
print(explorer)
print(explorer.selected_frame()["flags"].value_counts().sort_index().to_string())

# %%
explorer.expr = 'flags contains "corrupted" or nonfinite > 0'
explorer.sort_by = "std"
print(explorer)
print("positions:", explorer.selection.tolist())
explorer.selected_frame()

# %% [markdown]
# ## The items behind the findings
#
# A finding is a pointer; the items are the evidence. `rw.decode` shows a batch the way a net
# would receive it (here scaled to [0, 1], with a channel axis) and adds its own checks. The
# corrupted items fail them: a single NaN pixel would turn every loss it touches into NaN.

# %%
corrupt = explorer.selection[:4]
rw.decode(torch.tensor(X_train[corrupt] / 16, dtype=torch.float32).unsqueeze(1), labels=torch.tensor(y_train[corrupt]))

# %% [markdown]
# Label noise next: the audit also says which label the neighbours suggest. For grading only,
# we also look up scikit-learn's original label of each image (a flipped label leaves the image
# unchanged, so the image finds its original).

# %%
from sklearn.datasets import load_digits

digits = load_digits()
original = {img.tobytes(): int(t) for img, t in zip(digits.images, digits.target)}
pairs = zip(label_noise.evidence["indices"], label_noise.evidence["suggested"])
suspects, suggested = zip(*[(i, int(s)) for (split, i), s in pairs if split == "train"][:6])
suspects, suggested = list(suspects), list(suggested)
print("item     ", suspects)
print("given    ", y_train[suspects].tolist())
print("suggested", suggested)
print("original ", [original.get(X_train[i].tobytes()) for i in suspects])
rw.decode(torch.tensor(X_train[suspects] / 16, dtype=torch.float32).unsqueeze(1), labels=torch.tensor(y_train[suspects]))

# %% [markdown]
# Five of these six are planted flips, and for each the neighbours' suggestion is the original
# label. Item 101 is not: it is a real 8 whose nearest neighbours are mostly 1s, a false alarm.
# That is why a label-noise flag is a reason to look, and to relabel by hand, not to delete
# blindly.

# %% [markdown]
# And a near-duplicate pair: the copy is a little brighter, with pixel noise, so a hash does not
# match it; the audit compares standardised images instead.

# %%
near = next(f for f in audit.findings if f.check == "near_duplicates")
(_, a), (_, b) = near.evidence["groups"][0]
print(f"items {a} and {b}: labels {y_train[a]} and {y_train[b]}, "
      f"largest pixel difference {np.abs(X_train[a] - X_train[b]).max():.2f} of 16")

# %% [markdown]
# ## Class balance
#
# Here the classes are balanced (the audit passes and gives weights near 1). When they are not,
# a net can score well by favouring the big classes, and accuracy hides it. The audit then
# warns and hands you `class_weights` for the loss. To see it, keep only 20 zeros:

# %%
zeros = np.flatnonzero(y_train == 0)
keep = np.setdiff1d(np.arange(len(y_train)), zeros[20:])
imbalanced = rw.audit((X_train[keep], y_train[keep]))
imbalance = next(f for f in imbalanced.findings if f.check == "class_imbalance")
print(imbalance.status, "-", imbalance.message)
weights = imbalance.evidence["class_weights"]
print({k: round(v, 2) for k, v in weights.items()})
loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor([weights[str(c)] for c in range(10)]))

# %% [markdown]
# ## The human baseline
#
# How well would a person do? Label a few items yourself with the answers hidden; the result
# bounds what to expect of a net, and the items you get wrong are often the ambiguous or
# mislabelled ones. `explorer.human_baseline(n)` returns a small widget: an image, one button
# per label, a score at the end.

# %%
person = explorer.human_baseline(n=20)
person

# %% [markdown]
# In a live notebook you would click. Here we play a careful person who reads each digit
# correctly: we answer with scikit-learn's original label for the same image. Where the given
# label was flipped, the "mistake" is the label's, not the person's.

# %%
for item in person.items:
    person.answer(original.get(X_train[item].tobytes(), y_train[item]))
print(person.result.summary())
print("disagreements (item, given label, person):", person.result.mistakes())

# %% [markdown]
# Read the "± 0.0%" with care: it is the binomial standard error at 100%, which is zero by
# formula. With 20 items, a perfect score is still consistent with a true accuracy as low as about 85%
# (the "rule of three": 3/n). Label more items before comparing a net against it.

# %% [markdown]
# ## Clean, then audit again
#
# Drop what the audit flagged: corrupted items and suspected label errors, and every copy after
# the first in each duplicate group (for leakage, the copies in the test split). In real data,
# relabel rather than drop where you can. Then audit again: the warnings must be gone.

# %%
drop = {"train": set(), "test": set()}
for f in audit.findings:
    if f.check in ("corrupted_items", "label_noise"):
        for split, i in f.evidence["indices"]:
            drop[split].add(i)
    elif f.check in ("exact_duplicates", "near_duplicates", "split_leakage"):
        for group in f.evidence["groups"]:
            for split, i in group[1:]:  # keep the first member of each group
                drop[split].add(i)
clean = {}
for split, (X, y) in splits.items():
    keep = np.setdiff1d(np.arange(len(y)), sorted(drop[split]))
    clean[split] = (X[keep], y[keep])
print({split: f"{len(splits[split][1])} -> {len(clean[split][1])} items" for split in splits})
planted_all = {tuple(i) for defect, items in truth.items() if defect != "originals" for i in items}
dropped = {(s, i) for s, items in drop.items() for i in items}
print(f"planted defects removed: {len(planted_all & dropped)} of {len(planted_all)}")

# %%
clean_audit = rw.audit(splits=clean)
clean_audit

# %%
print(f"warnings before: {len(audit.warnings)}, after: {len(clean_audit.warnings)}")

# %% [markdown]
# The only finding left is informational: the isolation forest always names its most unusual
# items, which is a list to read, not a defect.
#
# ## Data that does not fit in memory
#
# Real training sets are often a table of millions of rows in Parquet files: image metadata, a
# tokenized corpus, a click log. `rw.explore` and `rw.audit` take a Parquet file (or a glob or
# folder of them, a CSV, a DuckDB relation, Arrow or Polars data) and query it in place with
# DuckDB, an embedded database that runs in the kernel and spills to disk: nothing is loaded
# whole into pandas. (A pandas frame of half a million rows or more is scanned by DuckDB in
# place too.)
#
# We write a table of 2,000,000 rows with DuckDB, in a few seconds, with defects planted at
# known rows: NaN cells in `x`, outliers in `y`, rows copied within a split, and rows copied
# into the other split (leakage). Every value comes from a hash of the row number, so the file is
# the same on every machine.

# %%
import os
import shutil
import tempfile

import duckdb

duckdb.execute("SET enable_progress_bar = false")  # no bar drawn into the saved output
folder = tempfile.mkdtemp(prefix="rw-big-")
path = os.path.join(folder, "items.parquet")
n = 2_000_000
u = "(hash(j, {k}) % 1000000) / 1000000.0"  # a uniform number per source row j and k
duckdb.sql(f"""
COPY (
  WITH base AS (  -- row i copies row j = i - 1 where a copy is planted
    SELECT i, CASE WHEN i % 200003 = 5 OR i % 299993 = 9 THEN i - 1 ELSE i END AS j
    FROM range({n}) t(i)
  ), made AS (
    SELECT i,
      CASE WHEN i % 100003 = 7 THEN 'nan'::DOUBLE
           ELSE 2 * ({u.format(k=1)} + {u.format(k=2)} + {u.format(k=3)} - 1.5) END AS x,
      CASE WHEN i % 400009 = 11 THEN 1e6 ELSE 100 * {u.format(k=4)} END AS y,
      (['alpha', 'beta', 'gamma', 'delta'])[1 + CAST(hash(j, 5) % 4 AS INTEGER)] AS kind,
      'item ' || CAST(j AS VARCHAR) AS caption,
      CAST(hash(j, 6) % 10 AS INTEGER) AS label,
      CASE WHEN {u.format(k=7)} < 0.9 THEN 'train' ELSE 'test' END AS split
    FROM base
  )
  SELECT x, y, kind, caption, label,  -- a leaked copy lands in the other split
    CASE WHEN i % 299993 != 9 THEN split WHEN split = 'train' THEN 'test' ELSE 'train' END AS split
  FROM made ORDER BY i
) TO '{path}' (FORMAT parquet)
""")
rows = np.arange(n)
planted = {
    "NaN cells in x": rows[rows % 100003 == 7],
    "outliers in y": rows[rows % 400009 == 11],
    "copies within a split": rows[(rows % 200003 == 5) & (rows > 0)],
    "copies in the other split": rows[(rows % 299993 == 9) & (rows > 0)],
}
print(duckdb.sql(f"SELECT count(*) AS rows, count(DISTINCT split) AS splits FROM '{path}'").fetchall())
print({defect: len(items) for defect, items in planted.items()})

# %% [markdown]
# The explorer opens on the path. Each change you make becomes a query for the page you see
# (the filter grammar compiled to DuckDB expressions with bound parameters, never SQL text built
# from what you type); the count of the matches and the histogram's matching bars follow from a
# thread, and a newer change interrupts a count nobody waits for any more.

# %%
big = rw.explore(path, labels="label", page_size=8)
big

# %% [markdown]
# In a live notebook the count arrives by itself; a script (like this one, setting the traits
# from code) calls `wait()` for it.

# %%
big.expr = "y > 1000"
big.wait()
print(big)
big.selected_frame()

# %% [markdown]
# `rw.audit(path, labels=..., splits=...)` runs every table check as queries: missing and
# non-finite cells per column, exact duplicate rows (by hashing whole rows), outliers per column
# (robust z from approximate quantiles), class balance per split, rows shared across splits, and
# near duplicates on a stated random sample. Grade it against the planted rows: a copy is found
# when its group holds the copy and the row it copies.

# %%
big_report = rw.audit(path, labels="label", splits="split")
for f in big_report.warnings:
    print(f"{f.check}: {f.message}")
by = {f.check: f for f in big_report.findings}
pairs = {
    check: {tuple(g) for g in by[check].evidence["groups"]}
    for check in ("exact_duplicates", "split_leakage")
}
found = {
    "NaN cells in x": by["missing_values"].evidence["columns"]["x"]["nan"],
    "outliers in y": len(set(planted["outliers in y"]) & set(by["outliers"].evidence["indices"])),
    "copies within a split": sum((i - 1, i) in pairs["exact_duplicates"] for i in planted["copies within a split"]),
    "copies in the other split": sum((i - 1, i) in pairs["split_leakage"] for i in planted["copies in the other split"]),
}
pd.DataFrame({"planted": {k: len(v) for k, v in planted.items()}, "found": found})

# %% [markdown]
# Every finding keeps its row ids, so the explorer shows the rows behind it: here the leaked
# pairs, each row beside its copy in the other split.

# %%
big.expr = ""
big.show(by["split_leakage"])
big.wait()
big.selected_frame()

# %%
big.wait()  # nothing still reading the file
shutil.rmtree(folder)

# %% [markdown]
# ## What next
#
# With data you trust, build the training and evaluation skeleton and beat some dumb baselines:
# `02_skeleton_and_baselines.ipynb`.
