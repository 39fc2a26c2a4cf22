"""The integrations' shared helpers: the missing-extra message and unwrapping optimizers."""

from __future__ import annotations

import pytest
import torch

from recipe_widgets.integrations._watching import numbers, require, unwrap


def test_a_missing_framework_names_the_extra_to_install() -> None:
    with pytest.raises(ImportError, match=r"pip install 'recipe-widgets\[lightning\]'"):
        require("no_such_framework_xyz", "lightning")


class Wrapper(torch.optim.Optimizer):
    """What accelerate's AcceleratedOptimizer looks like: an Optimizer around an Optimizer."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer


def test_unwrap_finds_the_optimizer_whose_hooks_run() -> None:
    inner = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    assert unwrap(Wrapper(Wrapper(inner))) is inner
    assert unwrap(inner) is inner


def test_numbers_keeps_scalars_only() -> None:
    metrics = {"a": torch.tensor(1.5), "b": 2, "c": "text", "d": torch.ones(3), "e": True}
    assert numbers(metrics) == {"a": 1.5, "b": 2.0}
