"""``rw.decode``: a batch tensor shown exactly as the net sees it, decoded back for a person.

"The unambiguously correct place to visualize your data is immediately before
``y_hat = model(x)``": augmentation, normalization and reshaping bugs all show there and
nowhere else. ``decode`` turns the raw tensor back into pictures, words, rows or curves, says
how it read the tensor (so a wrong guess is visible and correctable with ``kind=``), and runs
the batch's sanity findings.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from recipe_widgets.engine import rendering
from recipe_widgets.engine.arrays import robust_z
from recipe_widgets.engine.decode import _findings as checks
from recipe_widgets.engine.decode._images import channel_vector, decode_filters, decode_images
from recipe_widgets.engine.decode._tensor_stats import TensorStats, tensor_stats
from recipe_widgets.engine.decode._text import decode_labels, token_texts
from recipe_widgets.engine.formatting import fmt
from recipe_widgets.engine.results import Finding, Report
from recipe_widgets.engine.validate import finite_values, not_text

KINDS = ("images", "tokens", "tabular", "sequences", "filters")


@dataclass(frozen=True, eq=False)
class DecodedBatch:
    """A decoded batch: the data for a person (``images``/``texts``/``frame``/``sequences``),
    how it was read (``kind``, ``how``, ``mapping``) and the batch's ``findings``.

    ``images`` is uint8 ``(N, H, W, C)`` with C 1 (grayscale), 3 (RGB) or 4 (RGBA).
    ``item_stats`` holds each item's (min, max, mean, std) over its finite raw values, as fed.
    """

    kind: str
    how: str
    shape: tuple[int, ...]
    dtype: str
    stats: TensorStats
    findings: Report
    summary: str
    labels: tuple[str, ...] = ()
    images: np.ndarray | None = None
    texts: tuple[str, ...] | None = None
    frame: pd.DataFrame | None = None
    sequences: np.ndarray | None = None
    outliers: np.ndarray | None = None
    item_stats: tuple[tuple[float, float, float, float], ...] = field(default=(), repr=False)
    mapping: str = ""

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 0

    def _verdict(self) -> str:
        n_fail, n_warn = len(self.findings.failed), len(self.findings.warnings)
        warn = f"{n_warn} warning{'s' if n_warn != 1 else ''}"
        return f"{n_fail} failed, {warn}" if n_fail else warn

    def __repr__(self) -> str:
        return f"DecodedBatch({self.summary}; {self._verdict()})"

    def __str__(self) -> str:
        return rendering.render(self) or repr(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return rendering.mimebundle(self)


# -- input handling -----------------------------------------------------------------------------
def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray) or isinstance(x, (list, tuple)):
        t = torch.as_tensor(np.asarray(x))
    else:
        raise TypeError(f"decode expects a tensor or array batch, got {type(x).__name__}")
    if t.device.type == "meta":
        raise ValueError(
            f"a meta tensor {tuple(t.shape)} holds no data to decode; run the pipeline on a real "
            "device (cpu/cuda) to see the batch"
        )
    if t.is_complex():
        raise ValueError(
            "complex tensors have no natural picture; decode x.real, x.imag or x.abs() instead"
        )
    if t.dim() == 0:
        raise ValueError(
            f"a 0-dim tensor ({t.item()!r}) is a scalar, not a batch; decode the batch it came from"
        )
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.is_quantized:
        t = t.dequantize()
    return t


def _infer_kind(t: torch.Tensor, vocab: Any, feature_names: Any) -> tuple[str, str]:
    """(kind, why) from the shape and dtype alone; ``why`` is shown so a wrong guess is visible."""
    shape = tuple(t.shape)
    integer = not t.is_floating_point() and t.dtype != torch.bool
    if t.dim() == 1:
        return "tabular", "one value per item"
    if t.dim() == 2:
        if vocab is not None:
            return "tokens", "integer ids with a vocabulary"
        if integer and feature_names is None:
            return "tokens", "integer ids"
        return "tabular", "2-d floating point"
    if t.dim() == 3:
        _, h, w = shape
        if feature_names is None and (
            t.dtype == torch.uint8 or (min(h, w) >= 8 and max(h, w) <= 4 * min(h, w))
        ):
            return "images", "3-d with similar H and W, read as images"
        return "sequences", "3-d, not image-like, read as (N, T, F)"
    if t.dim() == 4:
        return "images", ""  # the layout (channels first / last) is in the summary
    raise ValueError(
        f"a {t.dim()}-d tensor {shape} is not a batch decode understands; pass (N, C, H, W) / "
        "(N, H, W, C) images, (N, T) tokens, (N, F) rows or (N, T, F) sequences (for video, "
        "decode one clip: x[0])"
    )


def _per_item_stats(
    flat: torch.Tensor, finite: bool
) -> tuple[tuple[float, float, float, float], ...]:
    """Each item's (min, max, mean, std) over its finite values: the hover text of the grid."""
    if flat.shape[1] == 0:
        return tuple((math.nan,) * 4 for _ in range(flat.shape[0]))
    if finite:  # the common case: three vectorised reductions, no masking
        f = flat if flat.dtype in (torch.float32, torch.float64) else flat.to(torch.float64)
        lo, hi = torch.aminmax(f, dim=1)
        var, mean = torch.var_mean(f, dim=1, correction=0)
        cols = (lo, hi, mean, var.sqrt())
        return tuple(zip(*(c.double().cpu().tolist() for c in cols)))
    arr = flat.double().cpu().numpy()
    arr = np.where(np.isfinite(arr), arr, np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = zip(np.nanmin(arr, 1), np.nanmax(arr, 1), np.nanmean(arr, 1), np.nanstd(arr, 1))
        return tuple(tuple(float(v) for v in r) for r in rows)  # type: ignore[misc]


# -- one runner per kind: what to draw, a summary, and the kind's own findings -------------------
@dataclass(frozen=True)
class _Batch:
    """What every runner reads: the batch as a dense tensor, its stats and the user's options."""

    t: torch.Tensor
    stats: TensorStats
    flat: torch.Tensor  # (N, everything else)
    item_stats: tuple[tuple[float, float, float, float], ...]
    label_texts: tuple[str, ...]
    options: dict[str, Any]

    @property
    def n(self) -> int:
        return int(self.t.shape[0])


Run = tuple[dict[str, Any], str, list[Finding]]  # (what to draw, summary, findings)


def _run_filters(b: _Batch) -> Run:
    out = decode_filters(b.t)
    return out, out["summary"], [checks.constant_items(b.item_stats, "filters")]  # dead filters


def _run_images(b: _Batch) -> Run:
    t, mean, std = b.t, b.options["mean"], b.options["std"]
    out = decode_images(t, b.stats.finite, mean, std, b.options["channel_order"])
    m_list = (
        channel_vector(mean, 3, "mean")
        if mean is not None and t.dim() == 4 and out["chw"] is not None and t.shape[1] == 3
        else None
    )
    s_list = channel_vector(std, 3, "std") if std is not None and m_list is not None else None
    found = [
        checks.constant_items(b.item_stats, "images"),
        checks.image_range(b.stats, mean is not None or std is not None, b.stats.mean),
        checks.channel_order(
            t,
            out["channels_first_ok"],
            None if m_list is None else m_list.tolist(),
            None if s_list is None else s_list.tolist(),
        ),
        checks.dtype(t, "images"),
        checks.duplicates(b.flat, "images"),
    ]
    return out, out["summary"], found


def _token_range(ids: np.ndarray, size: int) -> Finding:
    bad = np.argwhere((ids < 0) | (ids >= size))
    if not len(bad):
        return Finding("decode_token_range", "pass", f"all ids in the vocabulary (size {size})")
    return Finding(
        "decode_token_range",
        "fail",
        f"{len(bad)} token ids outside the vocabulary 0..{size - 1} (e.g. item "
        f"{int(bad[0][0])}, id {int(ids[tuple(bad[0])])}); an embedding lookup raises "
        "'index out of range' (or a device-side assert on GPU)",
        fix="check the tokenizer and vocabulary size match the embedding",
        evidence={"count": len(bad), "vocab_size": size},
    )


def _run_tokens(b: _Batch) -> Run:
    t, n = b.t, b.n
    if t.dim() != 2:
        raise ValueError(f"tokens are (N, T) integer ids; got shape {tuple(t.shape)}")
    ids = (
        t.cpu().long().numpy()
        if not t.is_floating_point()
        else np.rint(np.nan_to_num(t.double().cpu().numpy(), nan=-1.0)).astype(np.int64)
    )
    texts, size, pad = token_texts(ids, b.options["vocab"], b.options["pad_id"])
    summary = f"{n} token sequence{'s' if n != 1 else ''} of length {int(t.shape[1])}"
    found = [checks.dtype(t, "tokens")]
    if size:
        found.append(_token_range(ids, size))
    found.append(checks.duplicates(b.flat, "sequences", status="info"))
    mapping = "padding" + (
        f" id {pad} shown as <pad>×k" if pad is not None else ": none declared (pass pad_id=)"
    )
    return {"texts": texts, "mapping": mapping}, summary, found


def _run_tabular(b: _Batch) -> Run:
    t, n, feature_names = b.t, b.n, b.options["feature_names"]
    rows = b.flat if t.dim() != 1 else t.reshape(n, 1)
    if rows.dim() != 2:
        raise ValueError(f"tabular rows are (N, F); got shape {tuple(t.shape)}")
    vals = rows.double().cpu().numpy().copy()  # never a view of the user's tensor
    f = vals.shape[1]
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(f)]
    if len(names) != f:
        raise ValueError(f"{len(names)} feature_names for {f} features")
    frame = pd.DataFrame(vals, columns=[str(c) for c in names])
    if b.label_texts:
        frame["label"] = list(b.label_texts) if len(b.label_texts) == n else None
    out = {
        "frame": frame,
        "outliers": _outliers(vals),
        "mapping": "cells far outside the batch's typical range are highlighted (robust z > 6)",
    }
    summary = f"{n} row{'s' if n != 1 else ''} of {f} feature{'s' if f != 1 else ''}"
    found = [
        _scale_finding(vals, names),
        checks.dtype(t, "tabular"),
        checks.duplicates(rows, "rows"),
    ]
    return out, summary, found


def _run_sequences(b: _Batch) -> Run:
    t, n = b.t, b.n
    if t.dim() != 3:
        raise ValueError(f"sequences are (N, T, F); got shape {tuple(t.shape)}")
    out = {
        "sequences": t.double().cpu().numpy().copy(),
        "mapping": "each feature drawn as a line over time",
    }
    summary = f"{n} sequence{'s' if n != 1 else ''} of {int(t.shape[1])} steps x {int(t.shape[2])} features"
    found = [
        checks.constant_items(b.item_stats, "sequences"),
        checks.dtype(t, "sequences"),
        checks.duplicates(b.flat, "sequences"),
    ]
    return out, summary, found


_RUNNERS: dict[str, Callable[[_Batch], Run]] = {
    "images": _run_images,
    "filters": _run_filters,
    "tokens": _run_tokens,
    "tabular": _run_tabular,
    "sequences": _run_sequences,
}


def _empty(kind: str, t: torch.Tensor) -> Run:
    finding = Finding(
        "decode_empty",
        "warn",
        f"the batch is empty {tuple(t.shape)}",
        fix="check the DataLoader / dataset length and any filtering",
    )
    return {}, f"empty {kind} batch {tuple(t.shape)}", [finding]


def _how(summary: str, kind: str, why: str | None, mapping: str) -> str:
    """How the batch was read, said to the person (``why`` is None when ``kind`` was given)."""
    if why is None:
        how = f"{summary} (kind={kind!r})"
    else:
        how = (
            f"{summary} ({why}); pass kind=... to change"
            if why
            else f"{summary}; pass kind=... to change"
        )
    return how + (f"; {mapping}" if mapping else "")


# -- the public function --------------------------------------------------------------------------
def decode(
    x: Any,
    *,
    kind: str | None = None,
    mean: Sequence[float] | float | None = None,
    std: Sequence[float] | float | None = None,
    labels: Any = None,
    classes: Sequence[str] | None = None,
    vocab: Any = None,
    feature_names: Sequence[str] | None = None,
    channel_order: str = "RGB",
    pad_id: int | None = None,
) -> DecodedBatch:
    """Decode batch ``x`` as the net sees it; ``labels`` the label tensor, ``classes`` their names.

    ``kind`` (one of ``images``, ``tokens``, ``tabular``, ``sequences``, ``filters``) is inferred
    from the shape when not given, and the result's ``how`` says how, so a wrong guess shows.
    ``mean``/``std`` undo a per-channel normalization before display (findings are on the raw
    batch). ``vocab`` is a list, a dict or a ``decode`` callable; ``pad_id`` the padding id.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if not isinstance(channel_order, str) or channel_order.upper() not in ("RGB", "BGR"):
        raise ValueError(f"channel_order must be 'RGB' or 'BGR'; got {channel_order!r}")
    not_text("x", x)
    finite_values("mean", mean)
    finite_values("std", std, positive=True)
    t = _as_tensor(x)
    stats = tensor_stats(t)  # on the tensor's own device, before anything is copied
    why = None
    if kind is None:
        kind, why = _infer_kind(t, vocab, feature_names)
    n = int(t.shape[0])
    flat = t.reshape(n, -1) if t.numel() else t.reshape(n, 0)
    label_texts, label_kind, label_ids = decode_labels(labels, classes)
    options = {"mean": mean, "std": std, "channel_order": channel_order}
    options.update(vocab=vocab, pad_id=pad_id, feature_names=feature_names)
    batch = _Batch(
        t, stats, flat, _per_item_stats(flat, stats.finite) if n else (), label_texts, options
    )
    out, summary, kind_found = _RUNNERS[kind](batch) if n else _empty(kind, t)
    found = [checks.nonfinite(stats), *kind_found]
    if kind != "filters":
        ids = (
            label_ids
            if label_ids is not None
            else (np.asarray(label_texts) if label_texts else None)
        )
        n_classes = len(classes) if classes is not None else None
        found.extend(checks.labels(ids, label_kind, n, n_classes))
    for key in ("images", "sequences", "outliers"):
        if out.get(key) is not None:
            out[key].setflags(write=False)  # the result is frozen, its arrays too
    return DecodedBatch(
        kind=kind,
        how=_how(summary, kind, why, out.get("mapping", "")),
        shape=tuple(int(s) for s in t.shape),
        dtype=str(t.dtype).removeprefix("torch."),
        stats=stats,
        findings=Report(tuple(found), title="Batch findings"),
        summary=summary,
        labels=out.get("labels", label_texts),
        images=out.get("images"),
        texts=out.get("texts"),
        frame=out.get("frame"),
        sequences=out.get("sequences"),
        outliers=out.get("outliers"),
        item_stats=batch.item_stats,
        mapping=out.get("mapping", ""),
    )


def pictures(x: Any) -> np.ndarray | None:
    """Only the pictures ``decode(x, kind="images")`` would draw: uint8 ``(N, H, W, C)``, the same
    pixel mapping, none of the findings (what a thumbnail needs); ``None`` when ``x`` is no
    image batch."""
    try:
        t = _as_tensor(x)
        if t.dim() not in (3, 4) or not t.numel():
            return None
        finite = bool(torch.isfinite(t).all()) if t.is_floating_point() else True
        return decode_images(t, finite, None, None, "RGB").get("images")
    except (ValueError, TypeError):
        return None


def _outliers(vals: np.ndarray) -> np.ndarray:
    """(N, F) mask of cells with a robust z-score above 6 (median / MAD, not fooled by the outlier)."""
    z, _ = robust_z(vals, fallback="std")  # a feature with no spread has no outliers
    return np.asarray(np.nan_to_num(np.abs(z), nan=0.0) > 6)


def _scale_finding(vals: np.ndarray, names: list[str]) -> Finding:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(vals, axis=0)
    live = [(float(s), str(nm)) for s, nm in zip(sd, names) if math.isfinite(s) and s > 0]
    if vals.shape[0] < 2 or len(live) < 2:
        return Finding(
            "decode_input_range", "skip", "too few rows or varying features to compare scales"
        )
    hi, lo = max(live), min(live)
    if hi[0] / lo[0] > 100:
        return Finding(
            "decode_input_range",
            "warn",
            f"features are on very different scales: std of {hi[1]!r} is {fmt(hi[0], 4)}, of {lo[1]!r} "
            f"{fmt(lo[0], 4)} ({hi[0] / lo[0]:.0f}x); the large ones dominate the first layer and the gradients",
            fix="standardize each feature with the training set's mean and std (sklearn StandardScaler)",
            evidence={
                "largest": hi[1],
                "largest_std": hi[0],
                "smallest": lo[1],
                "smallest_std": lo[0],
            },
        )
    return Finding("decode_input_range", "pass", "features on comparable scales")
