"""Image batches and conv filters decoded to uint8 pictures, the way a person should see them.

Normalization is undone with the declared ``mean``/``std`` first; then one mapping for the
whole batch (never per image: relative brightness is data) and the view says which one.
Filters are the exception: weights have no pixel scale, so each is scaled on its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from recipe_widgets.engine.formatting import fmt

_IMAGE_CHANNELS = (1, 3, 4)


def channel_vector(v: Any, c: int, name: str) -> np.ndarray | None:
    if v is None:
        return None
    arr = np.asarray(
        v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=np.float64
    ).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, c)
    if arr.size != c:
        raise ValueError(
            f"{name} has {arr.size} values for {c} channels; give one per channel or one for all"
        )
    return arr


# -- images -------------------------------------------------------------------------------------
def to_uint8(vals: torch.Tensor, integer: bool, all_finite: bool) -> tuple[np.ndarray, str]:
    """The pixel mapping, over the whole batch (never per image: relative brightness is data).

    A small tolerance keeps an undone normalization that lands at -1e-7 or 1.0000001 in the
    [0, 1] reading instead of falling back to min-max scaling.
    """
    if all_finite:  # known from the batch stats: skip the mask
        finite, clean = None, vals
    else:
        finite = torch.isfinite(vals)
        clean = torch.where(finite, vals, torch.zeros((), dtype=vals.dtype))
    if finite is None or bool(finite.all()):
        lo_t, hi_t = torch.aminmax(vals)
        lo, hi = float(lo_t), float(hi_t)
    elif bool(finite.any()):  # NaN/Inf pixels are shown black
        lo_t, hi_t = torch.aminmax(vals[finite])
        lo, hi = float(lo_t), float(hi_t)
    else:
        lo = hi = 0.0
    tol = 1e-3
    if lo >= -tol and hi <= 255 + tol and hi > 32:
        mapped, mapping = clean, "values already 0-255, shown as they are"
    elif lo >= -tol and hi <= 1 + tol and not integer:
        mapped, mapping = clean * 255, "values in [0, 1] mapped to 0-255"
    elif hi > lo:
        mapped = (clean - lo) * (255 / (hi - lo))
        mapping = f"min-max scaled over the whole batch ({fmt(lo, 4)}..{fmt(hi, 4)} to 0-255)"
    else:
        return np.zeros(
            tuple(vals.shape), dtype=np.uint8
        ), f"constant batch ({fmt(lo, 4)}), shown black"
    return mapped.round().clamp(0, 255).to(torch.uint8).numpy(), mapping


def decode_images(
    t: torch.Tensor, all_finite: bool, mean: Any, std: Any, channel_order: str
) -> dict[str, Any]:
    shape = tuple(t.shape)
    if t.dim() == 3:
        nhwc = t.unsqueeze(-1)  # (N, H, W, 1)
        layout, channels_first_ok = "(N, H, W)", True
    elif shape[1] in _IMAGE_CHANNELS:
        nhwc = t.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C)
        layout, channels_first_ok = "channels first", True
    elif shape[3] in _IMAGE_CHANNELS:
        nhwc = t
        layout, channels_first_ok = "channels last", False
    else:
        raise ValueError(
            f"a (N, C, H, W) batch {shape} with {shape[1]} channels is not an image batch (1, 3 or "
            "4 channels); show a few channels with x[:, :3], or first-layer weights with kind='filters'"
        )
    n, h, w, c = (int(s) for s in nhwc.shape)
    vals = nhwc.cpu().to(torch.float32)  # pixels need no more precision than float32
    m, s = channel_vector(mean, c, "mean"), channel_vector(std, c, "std")
    if s is not None:
        vals = vals * torch.from_numpy(s).float()
    if m is not None:
        vals = vals + torch.from_numpy(m).float()
    if channel_order.upper() == "BGR" and c >= 3:
        vals = vals[..., [2, 1, 0, *range(3, c)]]
    integer = not t.is_floating_point()
    images, mapping = to_uint8(vals, integer, all_finite)
    colour = {1: "grayscale", 3: "RGB", 4: "RGBA"}[c]
    if channel_order.upper() == "BGR" and c >= 3:
        colour = "BGR"
    summary = f"{n} {colour} image{'s' if n != 1 else ''} {h}x{w}, {layout}"
    return {
        "images": images,
        "summary": summary,
        "mapping": mapping
        + (
            "; normalization undone with the given mean/std"
            if m is not None or s is not None
            else ""
        ),
        "channels_first_ok": channels_first_ok,
        "chw": t if channels_first_ok and t.dim() == 4 else None,
    }


def decode_filters(t: torch.Tensor) -> dict[str, Any]:
    if t.dim() != 4:
        raise ValueError(f"filters are conv weights (O, I, kH, kW); got shape {tuple(t.shape)}")
    o, i, kh, kw = (int(s) for s in t.shape)
    w = t.double().cpu()
    if i in (1, 3):
        items = w.permute(0, 2, 3, 1)  # (O, kH, kW, I)
        names = tuple(str(k) for k in range(o))
    else:
        items = w.reshape(o * i, kh, kw, 1)  # each input channel of each filter on its own
        names = tuple(f"{a}/{b}" for a in range(o) for b in range(i))
    arr = items.numpy()
    lo = arr.min(axis=(1, 2, 3), keepdims=True)
    hi = arr.max(axis=(1, 2, 3), keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    images = np.clip(np.rint((arr - lo) / span * 255), 0, 255).astype(np.uint8)
    return {
        "images": images,
        "labels": names,
        "summary": f"{o} filters {kh}x{kw} with {i} input channel{'s' if i != 1 else ''}",
        "mapping": "each filter min-max scaled on its own (weights have no pixel scale)",
    }
