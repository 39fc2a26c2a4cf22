"""rw.lr_find: the LR range test on a copy, fastai's valley rule, the user's world untouched."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import recipe_widgets as rw
from recipe_widgets.engine.lr_find import valley


def _setup() -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    x = torch.randn(256, 10)
    y = (x[:, :3].sum(1) > 0).long()
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))
    return model, (x, y)


def test_valley_is_a_third_and_a_half_into_the_longest_descent() -> None:
    # flat, then a long descent over indices 2..11, then a blow-up: fastai's rule picks
    # start + int(len/3) + int(len/6) of that descent
    losses = [5.0, 5.0, 4.9, 4.5, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.2, 1.0, 3.0, 9.0]
    i = valley(losses)
    assert i is not None and 2 <= i <= 8 and losses[i] < losses[2]
    assert valley([1.0, 2.0, 3.0]) is None  # the loss never fell: no suggestion
    assert valley([1.0]) is None


def test_lr_find_suggests_a_rate_below_the_blow_up_and_leaves_the_model_alone() -> None:
    model, data = _setup()
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    result = rw.lr_find(model, data, nn.CrossEntropyLoss(), steps=80, batch_size=32)
    assert torch.equal(torch.rand(3), expected_next)  # the user's RNG stream is unchanged
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training is False
    assert result.suggestion is not None and 1e-5 < result.suggestion < 1.0
    lrs = result.lrs
    assert all(b > a for a, b in zip(lrs, lrs[1:])) and math.isclose(lrs[0], 1e-7)
    ratio = lrs[1] / lrs[0]
    assert all(math.isclose(b / a, ratio, rel_tol=1e-9) for a, b in zip(lrs, lrs[1:]))
    # the suggestion sits where the loss falls: lower than where the sweep started
    at = lrs.index(result.suggestion)
    assert result.losses[at] < result.losses[0]
    assert "valley" in result.rule and result.stopped.startswith("the smoothed loss passed 4x")
    text = str(result)
    assert text.startswith("LR range test: ") and "suggested lr" in text
    html = result._repr_mimebundle_()["text/html"]
    assert 'class="rw-suggestion"' in html and "1e-7" in html
    assert result == rw.lr_find(model, data, nn.CrossEntropyLoss(), steps=80, batch_size=32)


def test_lr_find_takes_a_dataloader_and_says_what_it_needs() -> None:
    model, (x, y) = _setup()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    result = rw.lr_find(model, loader, nn.CrossEntropyLoss(), steps=30, end_lr=1.0)
    assert len(result.lrs) >= 20
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        rw.lr_find(model, (x, y), nn.CrossEntropyLoss(), start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="one to one"):
        rw.lr_find(model, (x, y[:10]), nn.CrossEntropyLoss())
