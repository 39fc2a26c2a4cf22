"""Pictures inside HTML: a uint8 array as an inline PNG (no files; works on nbviewer and GitHub)."""

from __future__ import annotations

import base64
import io

import numpy as np


def png_data_uri(image: np.ndarray, scale: int = 1) -> str:
    """A uint8 (H, W) or (H, W, C) array as a ``data:image/png`` URI, enlarged ``scale`` times
    with nearest-neighbour pixels. Deterministic: Pillow writes no time stamp into the PNG."""
    from PIL import Image

    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    img = Image.fromarray(arr.astype(np.uint8))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
