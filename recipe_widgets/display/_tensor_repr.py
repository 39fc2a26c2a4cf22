"""The rich notebook repr of a tensor: one summary line, and a small picture when it is image-like.

The line is the numbers a person checks first (shape, dtype, device, range, mean, std, NaN/Inf
and zeros), all exact (``engine.decode``). The picture is drawn from at most
``PICTURE_ITEMS`` items sliced off the tensor, so a huge CUDA tensor never travels whole.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from recipe_widgets.display._images import png_data_uri
from recipe_widgets.engine.formatting import fmt

if TYPE_CHECKING:
    import torch

    from recipe_widgets.engine.decode import TensorStats

PICTURE_ITEMS = 8
#: Longest side of a picture in the tensor repr; larger tensors are strided down to it.
PICTURE_SIDE = 128
#: Tensors up to this many elements also show torch's own repr (the values) under the summary.
VALUES_UP_TO = 200


def memory(nbytes: int) -> str:
    """``3.1 MB``: decimal units, 3 significant digits (``engine.formatting``)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= size:
            return f"{fmt(nbytes / size)} {unit}"
    return f"{nbytes} B"


def stats_text(s: TensorStats) -> str:
    """``tensor[64, 1, 8, 8] float32 cpu 16.4 kB  min 0  max 16  mean 4.88  std 6.02  zeros 3102``."""
    shape = "[" + ", ".join(str(d) for d in s.shape) + "]"
    parts = [f"tensor{shape} {s.dtype} {s.device}"]
    if s.nbytes:
        parts[0] += f" {memory(s.nbytes)}"
    if s.layout != "strided":
        parts[0] += f" {s.layout}"
    if s.requires_grad:
        parts[0] += " grad"
    if s.note:
        parts.append(s.note)
    if s.count:
        of = f"{s.of} " if s.of else ""
        parts.append(
            f"{of}min {fmt(s.min)}  max {fmt(s.max)}  mean {fmt(s.mean)}  std {fmt(s.std)}"
        )
        parts.append(f"zeros {s.zeros}")
    if s.nan:
        parts.append(f"NaN {s.nan}")
    if s.inf:
        parts.append(
            f"+Inf {s.posinf}  -Inf {s.neginf}"
            if s.posinf and s.neginf
            else f"{'+' if s.posinf else '-'}Inf {s.inf}"
        )
    return "  ".join(parts)


def _image_like(t: torch.Tensor) -> torch.Tensor | None:
    """A few items of ``t`` as a small image batch (a strided view), or None.

    (H, W) squarish matrices, (C, H, W), (H, W, C), (N, H, W), (N, C, H, W), (N, H, W, C).
    Sides above ``PICTURE_SIDE`` are strided down, so only a thumbnail's worth of a huge
    (or CUDA) tensor is ever copied.
    """
    import torch

    shape = tuple(t.shape)
    if t.is_complex() or t.device.type == "meta" or t.layout != torch.strided:
        return None
    if t.dim() == 2 and min(shape) >= 8 and max(shape) <= 4 * min(shape):
        batch, hw = t.unsqueeze(0), (1, 2)  # a squarish matrix reads as a picture; a table does not
    elif t.dim() == 3 and min(shape[1:]) >= 4 and shape[0] in (1, 3, 4):
        batch, hw = t.unsqueeze(0), (2, 3)
    elif t.dim() == 3 and min(shape[:2]) >= 4 and shape[2] in (3, 4):
        batch, hw = t.unsqueeze(0), (1, 2)
    elif t.dim() == 3 and min(shape[1:]) >= 8:
        batch, hw = t[:PICTURE_ITEMS], (1, 2)
    elif t.dim() == 4 and min(shape[2:]) >= 4 and shape[1] in (1, 3, 4):
        batch, hw = t[:PICTURE_ITEMS], (2, 3)
    elif t.dim() == 4 and min(shape[1:3]) >= 4 and shape[3] in (1, 3, 4):
        batch, hw = t[:PICTURE_ITEMS], (1, 2)
    else:
        return None
    step = -(-max(batch.shape[hw[0]], batch.shape[hw[1]]) // PICTURE_SIDE)  # ceil division
    if step > 1:
        index = [slice(None)] * batch.dim()
        index[hw[0]] = index[hw[1]] = slice(None, None, step)
        batch = batch[tuple(index)]
    return batch


def tensor_html(t: torch.Tensor, stats: TensorStats | None = None) -> str:
    """The summary line, a strip of up to ``PICTURE_ITEMS`` images, and small tensors' values."""
    from recipe_widgets.engine.decode import tensor_stats

    s = stats if stats is not None else tensor_stats(t)
    head = f'<code style="white-space:pre">{escape(stats_text(s))}</code>'
    picture = ""
    few = _image_like(t) if s.count else None
    if few is not None and few.numel() and few.shape[0]:
        from recipe_widgets.engine.decode import pictures

        images = pictures(few)
        if images is not None:
            imgs = "".join(_thumb(im) for im in images)
            picture = (
                f'<div style="display:flex;gap:3px;flex-wrap:wrap;margin-top:3px">{imgs}</div>'
            )
    values = ""
    if s.numel <= VALUES_UP_TO and s.device != "meta":
        values = f'<pre style="margin:2px 0">{escape(repr(t))}</pre>'
    return f'<div class="rw-tensor">{head}{picture}{values}</div>'


def _thumb(image: Any) -> str:
    h, w = image.shape[:2]
    scale = max(1, 48 // max(h, w))
    return (
        f'<img src="{png_data_uri(image)}" width="{w * scale}" height="{h * scale}" '
        'style="image-rendering:pixelated;border:1px solid #ddd" alt="">'
    )
