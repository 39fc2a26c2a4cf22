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


def test_captures_the_very_tensors_of_the_first_call() -> None:
    model = TwoInputs()
    x1, x2 = torch.randn(4, 1, 8, 8), torch.randn(4, 1, 8, 8)
    bias = torch.zeros(10)
    with before_the_net(model) as seen:
        model(x1, 2.0, bias=bias)
        model(x2)
    assert seen.inputs[0] is x1 and seen.inputs[1] == 2.0
    assert len(seen.calls) == 1 and seen.calls[0].kwargs["bias"] is bias
    assert not model._forward_pre_hooks


def test_every_kth_call_and_cap() -> None:
    model = TwoInputs()
    xs = [torch.randn(2, 64) for _ in range(7)]
    with before_the_net(model, every=3, max_calls=2) as seen:
        for x in xs:
            model(x)
    assert [c.index for c in seen.calls] == [0, 3]
    assert seen.calls[1].args[0] is xs[3]


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
