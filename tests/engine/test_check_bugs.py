"""Every known training bug that a static check can see, each in a small broken setup."""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from recipe_widgets.engine.check import CHECKS, UnusableInput, check

FAST = {"overfit_steps": 150, "baseline_steps": 80}


def test_softmax_before_cross_entropy(setups) -> None:
    s = setups.tabular("wine", width=16)
    s["model"] = nn.Sequential(*s["model"], nn.Softmax(dim=-1))
    r = check(**s, checks=["loss_at_init", "overfit_one_batch"], quiet=True, thresholds=FAST)
    assert r["loss_at_init"].status == "fail"
    assert "softmax" in r["loss_at_init"].message
    assert r["overfit_one_batch"].status == "fail"
    assert "softmax/sigmoid" in r["overfit_one_batch"].message
    ladder = r["overfit_one_batch"].evidence["ladder"]
    assert ladder[-1]["floor"] > 0.3  # probabilities as logits cannot get CE near 0
    assert len(r["overfit_one_batch"].evidence["labels"]) == 10
    assert r["overfit_one_batch"].fix.startswith("Return raw logits for cross_entropy")
    assert "output's shape" not in r["overfit_one_batch"].fix  # only the fixes for what was seen


def test_sigmoid_before_bce_with_logits() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g)
    y = (x[:, 0] > 0).float().unsqueeze(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    r = check(
        model,
        (x, y),
        nn.BCEWithLogitsLoss(),
        checks=["overfit_one_batch"],
        quiet=True,
        thresholds=FAST,
    )
    assert r["overfit_one_batch"].status == "fail"
    assert "logits" in r["overfit_one_batch"].message


class MixesBatch(nn.Module):
    """Reads (B, T, F) but reshapes to the GRU's (T, B, F) with view instead of permute."""

    def __init__(self, view_bug: bool) -> None:
        super().__init__()
        self.view_bug = view_bug
        self.rnn = nn.GRU(3, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, F)
        b, t, f = x.shape
        x = x.view(t, b, f) if self.view_bug else x.permute(1, 0, 2)  # (T, B, F)
        h, _ = self.rnn(x)  # (T, B, H)
        return self.head(h[-1])  # (B, 2)


@pytest.mark.parametrize("view_bug", [True, False])
def test_view_instead_of_permute_mixes_the_batch(view_bug: bool) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 5, 3, generator=g), torch.randint(0, 2, (64,), generator=g)
    torch.manual_seed(0)
    r = check(
        MixesBatch(view_bug),
        (x, y),
        nn.CrossEntropyLoss(),
        checks=["batch_independence"],
        quiet=True,
    )
    f = r["batch_independence"]
    assert f.status == ("fail" if view_bug else "pass"), f.message
    if view_bug:
        assert len(f.evidence["mixed_examples"]) > 32
        assert "permute" in f.fix


def test_mixing_in_a_cnn_is_found_by_the_gradient_probe(setups) -> None:
    class Mixer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.head = nn.Linear(4 * 64, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.conv(x)  # (B, 4, 8, 8)
            h = (
                h.view(4, -1, 64).transpose(0, 1).reshape(x.shape[0], -1)
            )  # wrong axes: mixes examples
            return self.head(h)

    x, y = setups.digits_data(n=64)
    r = check(Mixer(), (x, y), nn.CrossEntropyLoss(), checks=["batch_independence"], quiet=True)
    assert r["batch_independence"].status == "fail"
    assert r["batch_independence"].evidence["method"] == "gradient"


class TinyTransformer(nn.Module):
    def __init__(self, masked: bool, vocab: int = 8, width: int = 16) -> None:
        super().__init__()
        self.masked = masked
        self.emb = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(1, 16, width) * 0.1)
        self.block = nn.TransformerEncoderLayer(width, 2, 32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        h = self.emb(ids) + self.pos[:, :t]  # (B, T, W)
        mask = nn.Transformer.generate_square_subsequent_mask(t) if self.masked else None
        return self.head(self.block(h, src_mask=mask, is_causal=self.masked))  # (B, T, V)


@pytest.mark.parametrize("masked", [False, True])
def test_missing_causal_mask(setups, masked: bool) -> None:
    s = setups.sequence(n=64)
    torch.manual_seed(0)
    s["model"] = TinyTransformer(masked)
    r = check(**s, causal=True, checks=["causality", "batch_independence"], quiet=True)
    assert r["causality"].status == ("pass" if masked else "fail"), r["causality"].message
    assert r["batch_independence"].status == "pass"
    if not masked:
        assert "future" in r["causality"].message


def test_labels_shuffled_apart_from_inputs(setups) -> None:
    s = setups.tabular("breast_cancer", width=16)
    x, y = s["data"]
    y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]
    r = check(
        s["model"],
        (x, y),
        s["loss_fn"],
        checks=["input_independent_baseline"],
        quiet=True,
        thresholds=FAST,
    )
    f = r["input_independent_baseline"]
    assert f.status == "fail", f.message
    assert f.evidence["ratio"] > 0.9
    assert "paired" in f.fix


def test_unnormalized_pixels(setups) -> None:
    x, y = setups.digits_data(n=128)
    raw = (x - x.min()) / (x.max() - x.min()) * 255  # 0..255 like raw image bytes
    torch.manual_seed(0)
    r = check(
        setups.SmallCNN(4), (raw, y), nn.CrossEntropyLoss(), checks=["input_sanity"], quiet=True
    )
    assert r["input_sanity"].status == "warn"
    assert "normalized" in r["input_sanity"].message and "255" in r["input_sanity"].message


def test_nan_in_data(setups) -> None:
    s = setups.tabular("wine", width=8)
    x, y = s["data"]
    x = x.clone()
    x[3, 2] = float("nan")
    x[7, 0] = float("inf")
    r = check(s["model"], (x, y), s["loss_fn"], checks=["input_sanity"], quiet=True)
    assert r["input_sanity"].status == "fail"
    assert "2 NaN/Inf" in r["input_sanity"].message


def test_labels_out_of_range(setups) -> None:
    s = setups.tabular("wine", width=8)
    x, y = s["data"]
    # cross_entropy itself raises on CPU (a device-side assert on GPU): the error names the cause
    r = check(s["model"], (x, y + 1), s["loss_fn"], quiet=True)
    assert r["input_sanity"].status == "fail"
    assert re.search(r"labels range 1\.\.3 but the output has 3 classes", r["input_sanity"].message)
    assert "y - 1" in r["input_sanity"].fix
    assert {f.status for f in r if f.check not in ("input_sanity",)} == {"skip"}
    # a loss that does not index by label would run: input sanity names the range
    r = check(
        s["model"],
        (x, y + 1),
        lambda out, t: (out.sum(-1) - t).pow(2).mean(),
        checks=["input_sanity"],
        quiet=True,
        task="classification",
    )
    assert r["input_sanity"].status == "fail"
    assert "labels range 1..3" in r["input_sanity"].message


def test_bias_far_from_prior(setups) -> None:
    s = setups.tabular("wine", width=16)
    with torch.no_grad():
        s["model"][2].bias.copy_(torch.tensor([8.0, 0.0, 0.0]))
    r = check(**s, checks=["init_well", "loss_at_init"], quiet=True)
    assert r["init_well"].status == "fail"
    assert "init_final_bias" in r["init_well"].fix
    assert r["loss_at_init"].status == "fail"
    assert r["loss_at_init"].evidence["loss"] > 2 * math.log(3)


def test_regression_mean_far_from_targets_is_a_hockey_stick(setups) -> None:
    s = setups.regression(width=16)
    x, y = s["data"]
    r = check(
        s["model"],
        (x, y * 77 + 152),
        s["loss_fn"],
        checks=["init_well", "loss_at_init"],
        quiet=True,
    )
    assert r["init_well"].status in ("warn", "fail")
    assert r["init_well"].evidence["distance_in_std"] > 1


def test_badly_scaled_init_and_dead_relus(setups) -> None:
    s = setups.tabular("wine", width=32)
    with torch.no_grad():
        s["model"][0].weight.mul_(300)
    r = check(**s, checks=["health_at_init", "loss_at_init"], quiet=True)
    assert r["health_at_init"].status == "fail"
    assert "badly scaled" in r["health_at_init"].message
    assert r["loss_at_init"].status == "fail"
    s = setups.tabular("wine", width=32)
    with torch.no_grad():
        s["model"][0].bias.fill_(-50.0)
    r = check(**s, checks=["health_at_init"], quiet=True)
    assert r["health_at_init"].status == "fail"
    assert "100% of the units of 1 are dead" in r["health_at_init"].message


def test_params_missing_from_optimizer(setups) -> None:
    s = setups.tabular("wine", width=8)
    opt = torch.optim.Adam(s["model"][2].parameters(), lr=1e-3)  # forgot the first layer
    r = check(**s, optimizer=opt, checks=["parameter_coverage"], quiet=True)
    f = r["parameter_coverage"]
    assert f.status == "fail"
    assert f.evidence["missing_from_optimizer"] == ["0.weight", "0.bias"]


def test_head_frozen_by_accident_and_backbone_frozen_on_purpose(setups) -> None:
    s = setups.tabular("wine", width=8)
    for p in s["model"][2].parameters():
        p.requires_grad_(False)
    r = check(**s, checks=["parameter_coverage"], quiet=True)
    assert r["parameter_coverage"].status == "warn"
    assert "frozen" in r["parameter_coverage"].message
    s = setups.tabular("wine", width=8)
    for p in s["model"][0].parameters():
        p.requires_grad_(False)
    r = check(**s, checks=["parameter_coverage"], quiet=True)
    assert r["parameter_coverage"].status == "info"
    assert r["parameter_coverage"].evidence["frozen"] == ["0.weight", "0.bias"]


def test_parameter_without_gradient(setups) -> None:
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(13, 3)
            self.spare = nn.Linear(13, 3)  # never called

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    s = setups.tabular("wine")
    r = check(Unused(), s["data"], s["loss_fn"], checks=["parameter_coverage"], quiet=True)
    assert r["parameter_coverage"].status == "fail"
    assert r["parameter_coverage"].evidence["no_gradient"] == ["spare.weight", "spare.bias"]


@pytest.mark.filterwarnings("ignore:Using a target size")  # torch's own warning about this bug
def test_broadcasting_in_the_loss(setups) -> None:
    s = setups.regression(width=16)
    x, y = s["data"]
    r = check(
        s["model"],
        (x, y.squeeze(1)),
        s["loss_fn"],
        quiet=True,
        checks=["input_sanity", "overfit_one_batch"],
        thresholds=FAST,
    )
    assert r["input_sanity"].status == "fail"
    assert "broadcast" in r["input_sanity"].message
    assert r["overfit_one_batch"].status == "fail"
    assert "broadcasting" in r["overfit_one_batch"].message


def test_nll_on_raw_logits(setups) -> None:
    s = setups.tabular("wine", width=8)
    r = check(s["model"], s["data"], nn.NLLLoss(), checks=["loss_at_init"], quiet=True)
    assert r["loss_at_init"].status == "fail"
    assert "log_softmax" in r["loss_at_init"].fix


def test_lr_schedule_decaying_early_and_a_good_one(setups) -> None:
    s = setups.tabular("wine", width=8)
    opt = torch.optim.SGD(s["model"].parameters(), lr=0.1)
    early = check(
        **s,
        optimizer=opt,
        checks=["lr_schedule"],
        quiet=True,
        steps=1000,
        scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.1),
    )
    f = early["lr_schedule"]
    assert f.status == "fail" and f.evidence["collapse_step"] == 90
    assert "epochs" in f.message
    assert opt.param_groups[0]["lr"] == 0.1 and "initial_lr" not in opt.param_groups[0]

    def warmup_cosine(o: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        return torch.optim.lr_scheduler.LambdaLR(
            o, lambda i: min(i / 100, 0.5 * (1 + math.cos(math.pi * min(i, 1000) / 1000)))
        )

    good = check(
        **s, optimizer=opt, checks=["lr_schedule"], quiet=True, steps=1000, scheduler=warmup_cosine
    )
    assert good["lr_schedule"].status == "pass", good["lr_schedule"].message
    assert good["lr_schedule"].evidence["start"] == 0.0


def test_dropout_active_in_eval(setups) -> None:
    class AlwaysDrops(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(13, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(F.dropout(x, 0.3, training=True))  # ignores self.training

    s = setups.tabular("wine")
    r = check(AlwaysDrops(), s["data"], s["loss_fn"], checks=["eval_mode"], quiet=True)
    assert r["eval_mode"].status == "fail"
    assert r["eval_mode"].evidence["max_difference"] > 0


def test_unseeded_randomness_is_not_reproducible(setups) -> None:
    class Noisy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(13, 3)
            self.calls = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += 1  # state outside torch's RNG: differs between the two runs
            g = torch.Generator().manual_seed(self.calls * 7919)
            return self.lin(x + 0.1 * torch.randn(x.shape, generator=g) * self.training)

    s = setups.tabular("wine")
    model = Noisy()
    model.calls = 0
    r = check(model, s["data"], s["loss_fn"], checks=["reproducibility"], quiet=True)
    assert r["reproducibility"].status == "pass"  # each run starts from a copy: calls restart
    shared = {"calls": 0}

    class Global(Noisy):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shared["calls"] += 1
            g = torch.Generator().manual_seed(shared["calls"])
            return self.lin(x + 0.1 * torch.randn(x.shape, generator=g))

    r = check(Global(), s["data"], s["loss_fn"], checks=["reproducibility"], quiet=True)
    assert r["reproducibility"].status == "fail"
    assert "seed" in r["reproducibility"].fix.lower()


def test_selection_and_unusable_input(setups) -> None:
    s = setups.tabular("wine", width=8)
    r = check(**s, checks=["input_sanity", "lr_schedule"], quiet=True)
    assert [f.check for f in r] == ["setup", "input_sanity", "lr_schedule"]
    assert r["lr_schedule"].status == "skip" and "steps=" in r["lr_schedule"].message
    r = check(**s, skip=[c for c in CHECKS if c != "causality"], quiet=True)
    assert r["causality"].status == "skip" and "causal=True" in r["causality"].message
    with pytest.raises(ValueError, match="unknown check id"):
        check(**s, checks=["overfit"])
    with pytest.raises(ValueError, match="unknown threshold"):
        check(**s, thresholds={"ovrefit_steps": 3})
    with pytest.raises(UnusableInput, match="Dataset or a DataLoader"):
        check(s["model"], s["data"][0], s["loss_fn"])
    with pytest.raises(UnusableInput, match="scalar"):
        check(s["model"], s["data"], nn.CrossEntropyLoss(reduction="none"))
    with pytest.raises(TypeError, match="nn.Module"):
        check(lambda x: x, s["data"], s["loss_fn"])


def test_a_loss_with_a_floor_is_told_how_to_set_its_target() -> None:
    """task="other" (a VAE-like loss with a constant term): 1% of the loss at init is unreachable,
    and the finding says which threshold states the real floor."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    torch.manual_seed(0)
    model = nn.Linear(4, 4)

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, target) + 1.0  # a floor of 1.0, like a KL term that cannot vanish

    fast = lambda params: torch.optim.Adam(params, lr=0.05)  # noqa: E731
    r = check(
        model,
        (x, x),
        loss_fn,
        task="other",
        expected_init_loss=2.0,
        quiet=True,
        optimizer=fast,
        checks=["overfit_one_batch"],
        thresholds=FAST,
    )
    f = r["overfit_one_batch"]
    assert f.status == "fail"
    assert "floor above 0" in f.message and "overfit_rel_target" in f.fix
    assert f.evidence["ladder"][-1]["floor"] == pytest.approx(1.0, abs=0.05)
    r = check(
        model,
        (x, x),
        loss_fn,
        task="other",
        expected_init_loss=2.0,
        quiet=True,
        optimizer=fast,
        checks=["overfit_one_batch"],
        thresholds={**FAST, "overfit_rel_target": 0.6},
    )
    assert r["overfit_one_batch"].status == "pass", str(r)


def test_vanishing_gradients_at_init_fade_towards_the_input() -> None:
    """Twelve sigmoid layers with small weights: the first layers get a vanishing fraction of
    the last layers' gradient, which is what health_at_init names (a single small gradient
    elsewhere, like a transformer's query weights at init, is not)."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(12):
        lin = nn.Linear(16, 16)
        nn.init.normal_(lin.weight, std=0.05)
        layers += [lin, nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 3))
    x, y = torch.randn(128, 16), torch.randint(0, 3, (128,))
    r = check(model, (x, y), nn.CrossEntropyLoss(), checks=["health_at_init"], quiet=True)
    assert r["health_at_init"].status == "warn", r["health_at_init"].message
    assert "vanishing gradients" in r["health_at_init"].message
    assert r["health_at_init"].message.startswith("the gradient of 0.weight")


class AlwaysDropout(nn.Module):
    """F.dropout with training=True hard-coded: random in eval mode too."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(nn.functional.dropout(x, 0.5, training=True))


class AlwaysDropoutMixing(AlwaysDropout):
    """Random in eval mode, and every output reads the batch mean: a real leak."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out + out.mean(0, keepdim=True)


class AlwaysDropoutTokens(nn.Module):
    """Token ids (no gradient reaches them) and dropout left on in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 6)
        self.lin = nn.Linear(6, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # ids: (B,)
        return self.lin(nn.functional.dropout(self.emb(ids), 0.5, training=True))


def test_randomness_in_eval_is_not_blamed_on_mixing() -> None:
    """The gradient test differentiates the one forward it took, so dropout left on does not
    disturb it: a net that keeps examples apart passes, one that mixes them fails. The tests
    that compare two forward passes (causality, the perturbation test) skip instead."""
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    r = check(
        AlwaysDropout(),
        (x, y),
        nn.CrossEntropyLoss(),
        checks=["eval_mode", "batch_independence", "causality"],
        causal=True,
        quiet=True,
    )
    assert r["eval_mode"].status == "fail"
    f = r["batch_independence"]
    assert f.status == "pass" and f.evidence["method"] == "gradient", f.message
    assert r["causality"].status == "skip"
    assert "randomness" in r["causality"].message
    r = check(
        AlwaysDropoutMixing(),
        (x, y),
        nn.CrossEntropyLoss(),
        checks=["batch_independence"],
        quiet=True,
    )
    assert r["batch_independence"].status == "fail", r["batch_independence"].message


def test_randomness_in_eval_skips_the_perturbation_test() -> None:
    ids, y = torch.randint(0, 10, (64,)), torch.randint(0, 3, (64,))
    r = check(
        AlwaysDropoutTokens(),
        (ids, y),
        nn.CrossEntropyLoss(),
        checks=["batch_independence"],
        quiet=True,
    )
    f = r["batch_independence"]
    assert f.status == "skip", f.message
    assert "randomness" in f.message


@pytest.mark.parametrize("b", [2, 3, 5, 64, 65, 300])
def test_batch_independence_masks_separate_every_ordered_pair(b: int) -> None:
    """For any two examples i != k some projection holds i and leaves k out: a leak from any
    one input into any one other output is seen (here for every pair, exhaustively)."""
    from recipe_widgets.engine.check._structure import _masks

    keep = _masks(b, torch.device("cpu"))
    apart = (keep[:, :, None] & ~keep[:, None, :]).any(0)  # [i, k]: some row has i and not k
    assert bool(apart.fill_diagonal_(True).all())
    # as few projections as an antichain of b subsets allows (8 for 64, not 2*log2 = 12)
    assert (
        math.comb(len(keep) - 1, (len(keep) - 1) // 2) < b <= math.comb(len(keep), len(keep) // 2)
    )
    assert len(keep) <= 2 * math.ceil(math.log2(b))


@pytest.mark.parametrize("pair", [(0, 1), (1, 0), (62, 63), (17, 40)])
def test_one_example_leaking_into_one_other_is_named(pair: tuple[int, int]) -> None:
    src, dst = pair

    class OneLeak(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(6, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.lin(x)
            leak = torch.zeros_like(out)
            leak[dst] = 1e-2 * x[src, :3]  # example dst's output reads example src's input
            return out + leak

    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 6, generator=g), torch.randint(0, 3, (64,), generator=g)
    r = check(OneLeak(), (x, y), nn.CrossEntropyLoss(), checks=["batch_independence"], quiet=True)
    f = r["batch_independence"]
    assert f.status == "fail" and f.evidence["method"] == "gradient", f.message
    assert f.evidence["mixed_examples"] == [src]
