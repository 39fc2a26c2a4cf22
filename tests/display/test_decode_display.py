"""DecodedBatch and tensor renderings: golden text/HTML, escaping, PNG content, determinism."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits

from recipe_widgets.display._decode import decoded_html, decoded_text
from recipe_widgets.display._tensor_repr import stats_text, tensor_html
from recipe_widgets.engine.decode import decode, tensor_stats

HOSTILE = '<img src=x onerror="alert(1)">'
_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


def _stable(html: str) -> str:
    # PNG bytes depend on the zlib build; the pixels are checked separately, below.
    return _URI.sub("data:image/png;base64,...", html)


def _digits_batch():
    d = load_digits()
    x = torch.tensor(d.images[:6], dtype=torch.float32).unsqueeze(1)
    return decode(
        (x / 16 - 0.3) / 0.4,
        mean=0.3,
        std=0.4,
        labels=torch.tensor(d.target[:6]),
        classes=[f"digit {i}" for i in range(10)],
    )


def test_images_golden(golden) -> None:
    b = _digits_batch()
    golden.check("decode/digits.txt", decoded_text(b))
    golden.check("decode/digits.html", _stable(decoded_html(b)))


def test_tokens_tabular_sequences_golden(golden) -> None:
    tokens = decode(
        torch.tensor([[1, 2, 3, 0], [3, 1, 0, 0]]),
        vocab=["<pad>", "the", "cat", HOSTILE],
        labels=torch.tensor([1, 0]),
        classes=["neg", "pos"],
    )
    golden.check("decode/tokens.txt", decoded_text(tokens))
    golden.check("decode/tokens.html", decoded_html(tokens))
    rows = torch.tensor(
        [[1.0, 2.0], [1.5, 2.5], [1.2, 90.0], [1.1, 2.2], [1.3, 2.1], [1.4, 2.4], [1.0, 2.3]]
    )
    tab = decode(rows, feature_names=["age", HOSTILE])
    golden.check("decode/tabular.txt", decoded_text(tab))
    golden.check("decode/tabular.html", decoded_html(tab))
    t = torch.linspace(0, 1, 5)
    seq = decode(torch.stack([torch.stack([t, 1 - t], 1), torch.stack([t * t, t], 1)]))
    golden.check("decode/sequences.html", decoded_html(seq))


def test_png_pixels_are_the_decoded_images() -> None:
    b = _digits_batch()
    uris = _URI.findall(decoded_html(b))
    assert len(uris) == 6
    for uri, image in zip(uris, b.images):
        png = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert png.size == (8, 8) and np.array_equal(np.asarray(png), image[..., 0])


def test_hover_title_has_item_stats_and_labels_are_escaped() -> None:
    x = torch.rand(2, 1, 8, 8)
    b = decode(x, labels=torch.tensor([0, 1]), classes=[HOSTILE, "b"])
    html = decoded_html(b)
    assert HOSTILE not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    lo, hi, mean, std = b.item_stats[1]
    assert (
        f'title="item 1\nlabel b\nmin {lo:.3g}  max {hi:.3g}  mean {mean:.3g}  std {std:.3g}"'
        in html
    )
    assert 'tabindex="0"' in html and ":hover" in html  # CSS zoom, no script
    assert "<script" not in html


def test_max_items_counts_the_rest() -> None:
    b = decode(torch.rand(30, 1, 8, 8))
    assert decoded_html(b, max_items=10).count("<figure") == 10
    assert "showing 10 of 30 items" in decoded_html(b, max_items=10)
    assert "... 20 more" in decoded_text(b, max_items=10)


def test_renderings_deterministic() -> None:
    a, b = _digits_batch(), _digits_batch()
    assert decoded_html(a) == decoded_html(b) and decoded_text(a) == decoded_text(b)


def test_tensor_summary_line() -> None:
    x = torch.tensor([[0.0, 1.0], [float("nan"), float("inf")]])
    assert (
        stats_text(tensor_stats(x))
        == "tensor[2, 2] float32 cpu 16 B  min 0  max 1  mean 0.5  std 0.707  zeros 1  NaN 1  +Inf 1"
    )
    assert (
        stats_text(tensor_stats(torch.empty(2, device="meta")))
        == "tensor[2] float32 meta 8 B  meta tensor: no data"
    )


def test_tensor_summary_shows_memory_size() -> None:
    from recipe_widgets.display._tensor_repr import memory

    assert stats_text(tensor_stats(torch.zeros(1000, 784))).startswith(
        "tensor[1000, 784] float32 cpu 3.14 MB  min 0"
    )
    assert stats_text(tensor_stats(torch.zeros(3, dtype=torch.float16))).startswith(
        "tensor[3] float16 cpu 6 B  "
    )
    assert [memory(n) for n in (999, 16_384, 3_100_000, 2**31)] == [
        "999 B",
        "16.4 kB",
        "3.1 MB",
        "2.15 GB",
    ]
    sparse = torch.zeros(4, 4).to_sparse()
    assert " B " not in stats_text(tensor_stats(sparse)).split("  ")[0]  # no numel * size claim
    assert "grad" in stats_text(tensor_stats(torch.ones(2, requires_grad=True)))


def test_tensor_html_picture_only_for_image_like() -> None:
    img = tensor_html(torch.rand(20, 3, 16, 16))
    assert img.count("<img") == 8  # at most PICTURE_ITEMS items drawn
    assert "<img" not in tensor_html(torch.rand(20, 5))
    small = tensor_html(torch.arange(4))
    assert "<pre" in small and "tensor([0, 1, 2, 3])" in small
    assert "<pre" not in tensor_html(torch.rand(1000))
    assert "<img" not in tensor_html(torch.empty(2, 3, 8, 8, device="meta"))


def test_tensor_html_huge_image_is_strided_down() -> None:
    html = tensor_html(torch.rand(3, 1000, 600))
    assert 'width="75" height="125"' in html  # 1000x600 strided by 8 -> 125x75, shown 1:1
    assert "rw-tensor" in tensor_html(torch.rand(2000, 1500))  # a big matrix: thumbnail only
