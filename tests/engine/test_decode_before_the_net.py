"""rw.before_the_net: the exact inputs of forward, captured by a hook that always goes away."""

from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from recipe_widgets.engine.decode import before_the_net


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(64, 10)

    def forward(
        self, x: torch.Tensor, scale: float = 1.0, *, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        out = self.lin(x.flatten(1)) * scale
        return out if bias is None else out + bias


def test_captures_copies_of_the_tensors_of_the_first_call() -> None:
    model = TwoInputs()
    x1, x2 = torch.randn(4, 1, 8, 8), torch.randn(4, 1, 8, 8)
    bias = torch.zeros(10)
    with before_the_net(model) as seen:
        model(x1, 2.0, bias=bias)
        model(x2)
    assert seen.inputs[0] is not x1 and torch.equal(seen.inputs[0], x1)
    assert seen.inputs[1] == 2.0
    assert len(seen.calls) == 1 and torch.equal(seen.calls[0].kwargs["bias"], bias)
    assert not model._forward_pre_hooks


def test_every_kth_call_and_cap() -> None:
    model = TwoInputs()
    xs = [torch.randn(2, 64) for _ in range(7)]
    with before_the_net(model, every=3, max_calls=2) as seen:
        for x in xs:
            model(x)
    assert [c.index for c in seen.calls] == [0, 3]
    assert torch.equal(seen.calls[1].args[0], xs[3])


class NormalisesInPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.sub_(x.mean())  # in place: the caller's tensor changes
        return self.lin(x)


def test_capture_is_what_entered_not_what_the_buffer_became() -> None:
    model = NormalisesInPlace()
    buffer = torch.randn(8, 64) + 5.0
    entered = buffer.clone()
    with before_the_net(model) as seen:
        model(buffer)
        buffer.fill_(0.0)  # a loader refilling its buffer
    assert torch.equal(seen.inputs[0], entered)
    assert seen.decoded is not None and not seen.calls[0].truncated


def test_capture_is_bounded_and_says_so() -> None:
    model = TwoInputs()
    x = torch.randn(100, 64)
    with before_the_net(model, max_bytes=10 * 64 * 4) as seen:
        model(x)
    assert seen.inputs[0].shape == (10, 64) and torch.equal(seen.inputs[0], x[:10])
    assert seen.calls[0].truncated == ("first 10 of 100 examples of a (100, 64) tensor",)
    assert "truncated: first 10 of 100" in repr(seen)
    for bad in (-1, 0, 1.5, True):
        with pytest.raises(ValueError, match="max_calls"):
            before_the_net(model, max_calls=bad)
    with pytest.raises(ValueError, match="max_bytes"):
        before_the_net(model, max_bytes=0)


def test_hook_removed_on_error_and_outputs_unchanged() -> None:
    model = TwoInputs()
    x = torch.randn(3, 64)
    expected = model(x)
    with pytest.raises(RuntimeError, match="boom"):
        with before_the_net(model) as seen:
            assert torch.equal(model(x), expected)
            raise RuntimeError("boom")
    assert not model._forward_pre_hooks and len(seen.calls) == 1


def test_decodes_normalized_digits_with_labels() -> None:
    d = load_digits()
    raw = torch.tensor(d.images[:32], dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(d.target[:32])
    x = (raw / 16 - 0.3) / 0.4
    model = TwoInputs()
    with before_the_net(
        model, mean=0.3, std=0.4, labels=y, classes=[str(i) for i in range(10)]
    ) as seen:
        model(x)
    b = seen.decoded
    assert b.images.shape == (32, 8, 8, 1) and b.labels[:4] == ("0", "1", "2", "3")
    assert seen.findings.ok and not seen.findings.warnings
    assert repr(seen).startswith(
        "BeforeTheNet(TwoInputs, 1 call captured; DecodedBatch(32 grayscale"
    )
    bundle = seen._repr_mimebundle_()
    assert (
        set(bundle) == {"text/plain", "text/html"}
        and "data:image/png;base64," in bundle["text/html"]
    )
    with before_the_net(model) as raw_seen:
        model(raw * 255 / 16)
    assert raw_seen.findings["decode_input_range"].status == "warn"


def test_nothing_captured_says_so() -> None:
    model = TwoInputs()
    with before_the_net(model) as seen:
        pass
    assert repr(seen) == "BeforeTheNet(TwoInputs, no call captured)"
    assert "no call captured" in seen._repr_mimebundle_()["text/plain"]
    with pytest.raises(LookupError, match="inside the with-block"):
        seen.inputs  # noqa: B018


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="nn.Module"):
        before_the_net(lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="every"):
        before_the_net(TwoInputs(), every=0)
