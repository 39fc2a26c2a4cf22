"""rw.decode: the batch as the net sees it, read back correctly, with the recipe's findings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from recipe_widgets.engine.decode import DecodedBatch, decode

DIGIT_MEAN, DIGIT_STD = 0.3, 0.4
CLASSES = [str(i) for i in range(10)]


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    d = load_digits()
    # 64 items with no exact duplicate among them (checked by the duplicates test below)
    return torch.tensor(d.images[:64], dtype=torch.float32), torch.tensor(d.target[:64])


def _statuses(b: DecodedBatch) -> dict[str, str]:
    worst: dict[str, str] = {}
    rank = {"fail": 0, "warn": 1, "info": 2, "pass": 3, "skip": 4}
    for f in b.findings:
        if f.check not in worst or rank[f.status] < rank[worst[f.check]]:
            worst[f.check] = f.status
    return worst


def test_normalized_digits_decode_back_to_the_originals(digits) -> None:
    raw, y = digits
    x = ((raw / 16 - DIGIT_MEAN) / DIGIT_STD).unsqueeze(1)  # (N, 1, 8, 8) as a net sees it
    b = decode(x, mean=DIGIT_MEAN, std=DIGIT_STD, labels=y, classes=CLASSES)
    assert b.kind == "images" and b.images is not None
    assert b.images.shape == (64, 8, 8, 1) and b.images.dtype == np.uint8
    expected = np.rint(raw.numpy() / 16 * 255).astype(np.uint8)[..., None]
    assert np.abs(b.images.astype(int) - expected.astype(int)).max() <= 1
    assert b.labels[:3] == ("0", "1", "2")
    assert "[0, 1] mapped to 0-255" in b.how and "pass kind=" in b.how
    assert b.findings.ok and not b.findings.warnings
    assert repr(b) == "DecodedBatch(64 grayscale images 8x8, channels first; 0 warnings)"


def test_raw_digits_are_flagged_not_normalized(digits) -> None:
    raw, y = digits
    b = decode(raw, labels=y)  # (N, 8, 8), values 0..16
    assert "grayscale images 8x8, (N, H, W)" in b.how
    f = b.findings["decode_input_range"]
    assert f.status == "warn" and "not normalized" in f.message
    assert "min-max scaled over the whole batch" in b.how  # 0-16 would look black as 0-255
    pixels = (raw * 255 / 16).numpy()
    assert np.abs(b.images[..., 0].astype(float) - pixels).max() <= 1.0


def test_0_255_batch_flagged_and_kept(digits) -> None:
    raw, _ = digits
    x = (raw * 255 / 16).round().unsqueeze(1)
    b = decode(x)
    assert b.findings["decode_input_range"].status == "warn"
    assert "0-255 pixels" in b.findings["decode_input_range"].message
    assert "already 0-255" in b.how
    assert np.array_equal(b.images[..., 0], x[:, 0].numpy().astype(np.uint8))


def test_rgb_channels_first_and_last_agree() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 10, 12, generator=g)
    first = decode(x)
    last = decode(x.permute(0, 2, 3, 1))
    assert first.images.shape == (6, 10, 12, 3)
    assert np.array_equal(first.images, last.images)
    assert "channels first" in first.how and "channels last" in last.how
    assert first.findings["decode_channel_order"].status == "pass"
    assert last.findings["decode_channel_order"].status == "warn"
    assert "permute(0, 3, 1, 2)" in last.findings["decode_channel_order"].fix


def test_bgr_declared_is_flipped_for_display() -> None:
    x = torch.zeros(2, 3, 4, 4)
    x[:, 0] = 1.0  # channel 0 is blue in BGR
    b = decode(x, channel_order="BGR")
    assert b.images[0, 0, 0].tolist() == [0, 0, 255]


def test_normalization_in_reversed_channel_order_is_suspicious() -> None:
    g = torch.Generator().manual_seed(1)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    raw = torch.rand(16, 3, 8, 8, generator=g) * 0.02
    raw += torch.tensor(mean[::-1]).view(1, 3, 1, 1)  # a BGR batch, normalized as RGB
    x = (raw - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    b = decode(x, mean=mean, std=std)
    assert b.findings["decode_channel_order"].status == "warn"
    ok = (raw.flip(1) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert decode(ok, mean=mean, std=std).findings["decode_channel_order"].status == "pass"


def test_min_max_is_over_the_batch_not_per_image() -> None:
    x = torch.stack([torch.full((4, 4), -2.0), torch.full((4, 4), 2.0), torch.zeros(4, 4)])
    x[2, 0, 0] = 5.0
    b = decode(x.unsqueeze(1))
    assert b.images[0].max() == 0 and b.images[2, 0, 0, 0] == 255
    assert b.images[1, 1, 1, 0] == round((2 + 2) / 7 * 255)


def test_nan_inf_constant_duplicates_and_dtype(digits) -> None:
    raw, y = digits
    x = (raw / 16).clone().unsqueeze(1).double()
    x[3, 0, 2, 2] = math.nan
    x[4, 0, 0, 0] = math.inf
    x[5] = 0.0
    x[7] = x[6]
    b = decode(x, labels=y)
    s = _statuses(b)
    assert s["decode_nonfinite"] == "fail" and b.findings["decode_nonfinite"].evidence["nan"] == 1
    assert s["decode_constant_items"] == "warn"
    assert b.findings["decode_constant_items"].evidence["all_zero"] == [5]
    assert s["decode_duplicates"] == "warn" and b.findings["decode_duplicates"].evidence[
        "groups"
    ] == [[6, 7]]
    assert s["decode_dtype"] == "warn" and "float64" in b.findings["decode_dtype"].message
    assert b.images[3, 2, 2, 0] == 0  # NaN pixels drawn black, not a crash


def test_uint8_dtype_flagged() -> None:
    x = torch.randint(
        0, 256, (4, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    b = decode(x)
    assert b.findings["decode_dtype"].status == "warn"
    assert np.array_equal(b.images, x.permute(0, 2, 3, 1).numpy())


def test_labels_out_of_range_and_identical(digits) -> None:
    raw, y = digits
    x = (raw / 16).unsqueeze(1)
    bad = y.clone()
    bad[0] = 10
    b = decode(x, labels=bad, classes=CLASSES)
    assert b.findings["decode_labels"].status == "fail"
    assert b.findings["decode_labels"].evidence["items"] == [0]
    same = decode(x, labels=torch.full((64,), 3))
    assert [f.status for f in same.findings if f.check == "decode_labels"] == ["warn"]
    short = decode(x, labels=y[:10])
    assert short.findings["decode_labels"].status == "fail"


def test_onehot_multilabel_soft_and_regression_labels() -> None:
    x = torch.rand(3, 1, 8, 8)
    onehot = torch.eye(3)
    assert decode(x, labels=onehot, classes=["a", "b", "c"]).labels == ("a", "b", "c")
    multi = torch.tensor([[1, 0, 1], [0, 0, 0], [0, 1, 0]])
    assert decode(x, labels=multi, classes=["a", "b", "c"]).labels == ("a,c", "(none)", "b")
    soft = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    assert decode(x, labels=soft).labels == ("0 (0.70)", "1 (0.80)", "2 (0.40)")
    assert decode(x, labels=torch.tensor([0.5, 1.25, -3.0])).labels == ("0.5", "1.25", "-3")
    assert decode(x, labels=["cat", "dog", "<b>"]).labels == ("cat", "dog", "<b>")


def test_tokens_with_vocab_padding_and_range() -> None:
    vocab = ["<pad>", "the", "cat", "sat"]
    ids = torch.tensor([[1, 2, 3, 0, 0], [1, 3, 0, 0, 0]])
    b = decode(ids, vocab=vocab)
    assert b.kind == "tokens" and b.texts == ("the cat sat <pad>×2", "the sat <pad>×3")
    assert b.findings.ok
    bad = decode(torch.tensor([[1, 7]]), vocab=vocab)
    assert bad.findings["decode_token_range"].status == "fail"


def test_tokens_with_dict_and_callable() -> None:
    assert decode(torch.tensor([[0, 1]]), vocab={"hi": 0, "there": 1}).texts == ("hi there",)
    assert decode(torch.tensor([[0, 1]]), vocab={0: "a", 1: "b"}).texts == ("a b",)
    b = decode(torch.tensor([[5, 6, 0]]), vocab=lambda ids: "|".join(map(str, ids)), pad_id=0)
    assert b.texts == ("5|6 <pad>×1",)
    assert decode(torch.tensor([[5, 6]])).texts == ("5 6",)  # no vocab: ids as numbers


def test_tabular_frame_and_outliers() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g)
    x[7, 1] = 50.0
    b = decode(x, feature_names=["a", "b", "c"], labels=torch.arange(40) % 2)
    assert list(b.frame.columns) == ["a", "b", "c", "label"]
    assert b.frame.loc[7, "b"] == 50.0
    assert b.outliers[7, 1] and b.outliers.sum() == 1
    scaled = x.clone()
    scaled[:, 0] *= 1e4
    assert decode(scaled).findings["decode_input_range"].status == "warn"


def test_sequences_and_filters() -> None:
    seq = decode(torch.randn(5, 30, 2))
    assert seq.kind == "sequences" and seq.sequences.shape == (5, 30, 2)
    conv = torch.nn.Conv2d(3, 8, 5)
    f = decode(conv.weight, kind="filters")
    assert f.images.shape == (8, 5, 5, 3) and f.labels[:2] == ("0", "1")
    assert all(int(im.max()) == 255 and int(im.min()) == 0 for im in f.images)
    dead = conv.weight.detach().clone()
    dead[2] = 0.0
    assert decode(dead, kind="filters").findings["decode_constant_items"].evidence["all_zero"] == [
        2
    ]
    many = decode(torch.nn.Conv2d(2, 4, 3).weight, kind="filters")
    assert many.images.shape == (8, 3, 3, 1) and many.labels[1] == "0/1"


def test_edge_cases_decode_or_refuse_clearly() -> None:
    with pytest.raises(ValueError, match="scalar"):
        decode(torch.tensor(1.0))
    with pytest.raises(ValueError, match="meta"):
        decode(torch.empty(2, 3, 8, 8, device="meta"))
    with pytest.raises(ValueError, match="complex"):
        decode(torch.randn(2, 3, dtype=torch.complex64))
    with pytest.raises(ValueError, match="channels"):
        decode(torch.randn(2, 16, 8, 8))
    with pytest.raises(ValueError, match="kind must be"):
        decode(torch.randn(2, 3), kind="pictures")
    with pytest.raises(TypeError):
        decode("not a tensor")
    empty = decode(torch.empty(0, 3, 8, 8))
    assert empty.findings["decode_empty"].status == "warn" and "empty" in repr(empty)
    half = decode(torch.rand(2, 3, 8, 8).half())
    assert half.images.shape == (2, 8, 8, 3)
    assert decode(torch.rand(2, 3, 8, 8).bfloat16()).images.dtype == np.uint8
    boolean = decode(torch.rand(2, 1, 8, 8) > 0.5)
    assert set(np.unique(boolean.images)) <= {0, 255}
    sparse = decode(torch.eye(8).unsqueeze(0).repeat(2, 1, 1).to_sparse())
    assert sparse.images.shape == (2, 8, 8, 1)
    grad = torch.rand(2, 3, 8, 8, requires_grad=True)
    assert decode(grad * 1).images.shape == (2, 8, 8, 3) and grad.grad is None
    assert decode(np.random.default_rng(0).random((2, 8, 8))).kind == "images"
    cl = torch.rand(2, 3, 8, 8).to(memory_format=torch.channels_last)
    assert decode(cl).findings["decode_channel_order"].status == "pass"


def test_result_is_frozen_and_deterministic(digits) -> None:
    raw, y = digits
    a = decode(raw[:8], labels=y[:8])
    b = decode(raw[:8], labels=y[:8])
    with pytest.raises(AttributeError):
        a.kind = "tokens"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        a.images[0, 0, 0, 0] = 1
    assert a._repr_mimebundle_() == b._repr_mimebundle_()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batch_decodes() -> None:
    x = torch.rand(4, 3, 8, 8, device="cuda")
    b = decode(x, labels=torch.tensor([0, 1, 2, 3], device="cuda"))
    assert b.stats.device.startswith("cuda") and b.images.shape == (4, 8, 8, 3)
    assert b.labels == ("0", "1", "2", "3")


def test_result_does_not_share_memory_with_the_input() -> None:
    x = torch.randn(4, 3, dtype=torch.float64)
    b = decode(x)
    x.zero_()
    assert b.frame.abs().to_numpy().sum() > 0
    s = torch.randn(2, 10, 2, dtype=torch.float64)
    seq = decode(s)
    s.zero_()
    assert np.abs(seq.sequences).sum() > 0
