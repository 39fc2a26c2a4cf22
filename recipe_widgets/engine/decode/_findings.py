"""Sanity findings on a batch exactly as the net will see it (the engine side of ``rw.decode``).

Each check answers one of the recipe's silent failures that show in the raw batch: NaN/Inf,
constant items, pixels that were never normalized, a channel order that fits the declared
normalization backwards, a dtype the model will not expect, labels out of range or all alike,
and the same item twice in one batch. A clean batch gets ``pass`` findings only: a false alarm
costs a user's trust more than a missed bug.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from recipe_widgets.engine.decode._tensor_stats import TensorStats
from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding


def nonfinite(stats: TensorStats) -> Finding:
    if stats.finite:
        return Finding("decode_nonfinite", "pass", "no NaN or Inf in the batch")
    return Finding(
        "decode_nonfinite",
        "fail",
        f"the batch holds {stats.nan} NaN and {stats.inf} infinite values out of {stats.numel}; "
        "one of them makes the loss NaN and training silently stops learning",
        fix="find the items with torch.isnan(x).flatten(1).any(1).nonzero(); check the loading "
        "and any division or log in the preprocessing",
        evidence={"nan": stats.nan, "posinf": stats.posinf, "neginf": stats.neginf},
    )


def constant_items(item_stats: Sequence[tuple[float, float, float, float]], what: str) -> Finding:
    """From each item's (min, max, mean, std): items whose finite values are all the same."""
    n = len(item_stats)
    if n == 0:
        return Finding("decode_constant_items", "skip", "no items")
    const = [i for i, (lo, hi, _, _) in enumerate(item_stats) if lo == hi]
    zero = [i for i in const if item_stats[i][0] == 0.0]
    if not const:
        return Finding("decode_constant_items", "pass", f"no constant {what}")
    return Finding(
        "decode_constant_items",
        "warn",
        f"{len(const)} of {n} {what} are constant ({len(zero)} all zero): "
        f"items {const[:10]}{' ...' if len(const) > 10 else ''}; a blank item teaches nothing "
        "and often means a failed load or a crop outside the image",
        fix="look at these items in the source data; drop or fix them",
        evidence={"items": const[:100], "all_zero": zero[:100]},
    )


def image_range(stats: TensorStats, declared: bool, batch_mean: float | None) -> Finding:
    """Pixels should reach the net normalized: about mean 0 / std 1, or at least in [0, 1]."""
    if stats.min is None or stats.max is None:
        return Finding("decode_input_range", "skip", "no finite values to judge the range")
    rng = f"values {fmt(stats.min)}..{fmt(stats.max)}, mean {fmt(stats.mean)}, std {fmt(stats.std)}"
    if stats.min >= 0 and stats.max > 1.5:
        scale = "0-255 pixels" if stats.max > 16.5 else f"raw 0-{fmt(stats.max)} values"
        return Finding(
            "decode_input_range",
            "warn",
            f"inputs look not normalized ({scale}: {rng}); large unnormalized inputs saturate "
            "activations and make the default learning rate and initialization wrong",
            fix="divide by the maximum (x / 255.) and standardize: (x - mean) / std per channel, "
            "with mean and std computed on the training set",
            evidence={"min": stats.min, "max": stats.max, "mean": stats.mean, "std": stats.std},
        )
    if declared and stats.mean is not None and stats.std is not None:
        if abs(stats.mean) > 1.0 or not (0.2 <= stats.std <= 5.0):
            return Finding(
                "decode_input_range",
                "warn",
                f"after the declared normalization the batch should be about mean 0 / std 1, "
                f"but it has {rng}",
                fix="check that the mean/std given here are the ones your transform applies, "
                "and that the transform runs",
                evidence={"mean": stats.mean, "std": stats.std},
            )
    if stats.min >= 0 and stats.max <= 1.0 and not declared:
        return Finding(
            "decode_input_range",
            "info",
            f"inputs are in [0, 1] ({rng}), not standardized to mean 0 / std 1; usually fine, "
            "standardizing per channel often trains a little faster",
            evidence={"min": stats.min, "max": stats.max},
        )
    return Finding("decode_input_range", "pass", f"inputs look normalized ({rng})")


def channel_order(
    x: torch.Tensor,
    channels_first_ok: bool,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
) -> Finding:
    """Two signs: channels last fed to a (N, C, H, W) net; a declared mean/std that fits reversed."""
    if not channels_first_ok:
        return Finding(
            "decode_channel_order",
            "warn",
            f"the batch is channels last {tuple(x.shape)}; torch conv layers expect (N, C, H, W) "
            "and will treat rows as channels without an error",
            fix="x.permute(0, 3, 1, 2) (not .view / .reshape, which scrambles pixels)",
            evidence={"shape": list(x.shape)},
        )
    if mean is not None and std is not None and len(mean) == 3 and x.dim() == 4 and x.shape[1] == 3:
        m = torch.tensor(mean, dtype=torch.float64).view(1, 3, 1, 1)
        s = torch.tensor(std, dtype=torch.float64).view(1, 3, 1, 1)
        raw = x.double() * s + m
        here = x.double().mean(dim=(0, 2, 3)).abs()
        flipped = ((raw - m.flip(1)) / s.flip(1)).mean(dim=(0, 2, 3)).abs()
        # Only when reversing explains the offsets almost entirely: a batch's own colour cast
        # moves channel means by a few tenths too, and a false alarm costs trust.
        worst, fixed = float(here.max()), float(flipped.max())
        if worst > 0.3 and fixed < worst / 3 and tuple(mean) != tuple(mean)[::-1]:
            return Finding(
                "decode_channel_order",
                "warn",
                "the per-channel means fit the declared mean/std far better in reversed channel "
                "order: the images may be BGR (OpenCV) while the normalization is RGB, or the other way",
                fix="convert with x[:, [2, 1, 0]] (or cv2.cvtColor) before normalizing",
                evidence={"channel_means": here.tolist(), "if_reversed": flipped.tolist()},
            )
    return Finding("decode_channel_order", "pass", "channel order consistent")


def dtype(x: torch.Tensor, kind: str) -> Finding:
    name = str(x.dtype).removeprefix("torch.")
    if kind in ("images", "tabular", "sequences"):
        if not x.is_floating_point():
            return Finding(
                "decode_dtype",
                "warn",
                f"the batch is {name}; layers expect floating point (a {name} input raises in "
                "a Linear/Conv, or trains on unnormalized integers after a late cast)",
                fix="x = x.float() / 255. (images) or x.float() then standardize",
                evidence={"dtype": name},
            )
        if x.dtype == torch.float64:
            return Finding(
                "decode_dtype",
                "warn",
                "the batch is float64; torch modules are float32, so this either raises "
                "('expected scalar type Float') or silently doubles memory and time",
                fix="x = x.float() (numpy arrays default to float64: torch.from_numpy(a).float())",
                evidence={"dtype": name},
            )
    if kind == "tokens" and x.is_floating_point():
        return Finding(
            "decode_dtype",
            "warn",
            f"token ids are {name}; an embedding needs integer (long) ids",
            fix="x = x.long()",
            evidence={"dtype": name},
        )
    return Finding("decode_dtype", "pass", f"dtype {name}")


def duplicates(flat: torch.Tensor, what: str, status: str = "warn") -> Finding:
    """Exact duplicate items in the batch, found with one ``unique`` over the rows."""
    n = flat.shape[0]
    if n < 2:
        return Finding("decode_duplicates", "skip", "fewer than two items")
    _, inverse, counts = torch.unique(flat, dim=0, return_inverse=True, return_counts=True)
    dup_groups = (counts > 1).nonzero().flatten()
    if dup_groups.numel() == 0:
        return Finding("decode_duplicates", "pass", f"no duplicate {what} in the batch")
    inv = inverse.cpu().numpy()
    groups = [np.flatnonzero(inv == int(g)).tolist() for g in dup_groups.cpu()]
    groups.sort()
    extra = int((counts[dup_groups] - 1).sum())
    return Finding(
        "decode_duplicates",
        status,  # type: ignore[arg-type]
        f"{extra} of {n} {what} repeat another item of the batch, e.g. items {groups[0][:5]}; "
        "repeated items over-weight some examples (a sampler or augmentation bug?)",
        fix="check the sampler / dataset indexing; rw.audit(data) finds duplicates across the whole set",
        evidence={"groups": groups[:20]},
    )


def labels(
    values: np.ndarray | None, label_kind: str, n_items: int, n_classes: int | None
) -> list[Finding]:
    """Labels out of range, a label count that does not match, or one label for the whole batch."""
    out: list[Finding] = []
    if values is None:
        return out
    if len(values) != n_items:
        out.append(
            Finding(
                "decode_labels",
                "fail",
                f"{len(values)} labels for {n_items} items; inputs and labels are out of step",
                fix="batch inputs and labels together (one Dataset returning (x, y))",
                evidence={"labels": len(values), "items": n_items},
            )
        )
        return out
    if label_kind in ("class", "onehot"):
        ints = values.astype(np.int64)
        ignored = ints == -100  # CrossEntropyLoss's default ignore_index
        bad = np.flatnonzero(
            ((ints < 0) & ~ignored) | ((ints >= n_classes) if n_classes else False)
        )
        if bad.size:
            out.append(
                Finding(
                    "decode_labels",
                    "fail",
                    f"{bad.size} labels out of range (e.g. {ints[bad[:5]].tolist()} at items "
                    f"{bad[:5].tolist()}); classes are 0..{(n_classes or 0) - 1}",
                    fix="remap labels to 0..C-1; an out-of-range id crashes on GPU with a device-side assert",
                    evidence={"items": bad[:100].tolist(), "n_classes": n_classes},
                )
            )
        live = ints[~ignored]
        if n_items >= 8 and live.size and (live == live[0]).all():
            out.append(
                Finding(
                    "decode_labels",
                    "warn",
                    f"all {n_items} labels in the batch are {int(live[0])}; the net learns a "
                    "constant answer (unshuffled or sorted data?)",
                    fix="shuffle the training data (DataLoader(shuffle=True))",
                    evidence={"label": int(live[0])},
                )
            )
    if not out:
        out.append(Finding("decode_labels", "pass", f"{len(values)} labels, in range"))
    return out
