"""No false alarms: correct setups get no fail and no warn, and the named checks come out pass.

The unit tests run one seed and the smaller widths to stay fast; benchmarks/check_suite.py runs
the full 3 seeds x 2 widths sweep.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from recipe_widgets.engine.check import check

MUST_PASS = (
    "input_sanity",
    "loss_at_init",
    "init_well",
    "health_at_init",
    "parameter_coverage",
    "eval_mode",
    "reproducibility",
    "overfit_one_batch",
    "decreasing_loss",
    "input_independent_baseline",
)


def _assert_clean(report, *extra: str) -> None:
    bad = [f"{f.check}: {f.status}: {f.message}" for f in report if f.status in ("fail", "warn")]
    assert not bad, "\n".join(bad)
    for cid in MUST_PASS + extra:
        assert report[cid].status == "pass", f"{cid}: {report[cid].status}: {report[cid].message}"


@pytest.mark.parametrize(("name", "width", "seed"), [("wine", 16, 0), ("breast_cancer", 64, 1)])
def test_mlp_on_tabular_data(setups, name: str, width: int, seed: int) -> None:
    _assert_clean(
        check(**setups.tabular(name, width, seed), seed=seed, quiet=True), "batch_independence"
    )


def test_cnn_with_batch_norm_and_dropout_on_digits(setups) -> None:
    report = check(**setups.digits(width=8), quiet=True)
    _assert_clean(report, "batch_independence")
    assert report["batch_independence"].evidence["has_batch_norm"] is True
    assert "batch norm" in report["batch_independence"].message


def test_causal_gru_on_sequences(setups) -> None:
    report = check(**setups.sequence(), quiet=True)
    _assert_clean(report, "batch_independence", "causality")
    assert report["setup"].evidence["task"] == "sequence"


def test_regression_on_diabetes(setups) -> None:
    report = check(**setups.regression(), quiet=True)
    _assert_clean(report, "batch_independence")
    assert report["setup"].evidence["loss_kind"] == "mse"


def test_legitimate_patterns_user_optimizer_frozen_backbone_warmup(setups) -> None:
    s = setups.tabular("wine", width=32)
    for p in s["model"][0].parameters():  # a deliberately frozen first layer: info, not warn
        p.requires_grad_(False)
    opt = torch.optim.AdamW(
        [p for p in s["model"].parameters() if p.requires_grad], lr=1e-3, weight_decay=0.01
    )
    report = check(
        **s,
        optimizer=opt,
        quiet=True,
        steps=500,
        scheduler=lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 1e-3, total_steps=500),
    )
    bad = [f"{f.check}: {f.message}" for f in report if f.status in ("fail", "warn")]
    assert not bad, bad
    assert report["parameter_coverage"].status == "info"
    assert report["lr_schedule"].status == "pass"


class PairDataset(Dataset):
    """Items as dicts: the batch_fn adapter turns them into (inputs, targets)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict:
        return {"features": self.x[i], "label": self.y[i]}


class KwargModel(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(30, width), nn.ReLU(), nn.Linear(width, 2))

    def forward(self, features: torch.Tensor) -> dict:
        return {"logits": self.body(features), "aux": features.mean()}


def test_adapters_dataset_dataloader_dict_batches_and_dict_outputs(setups) -> None:
    s = setups.tabular("breast_cancer", width=16)
    x, y = s["data"]
    batch_fn = lambda b: ({"features": b["features"]}, b["label"])  # noqa: E731
    for data in (PairDataset(x, y), DataLoader(PairDataset(x, y), batch_size=50, shuffle=True)):
        torch.manual_seed(0)
        report = check(
            KwargModel(),
            data,
            nn.CrossEntropyLoss(),
            batch_fn=batch_fn,
            quiet=True,
            checks=[
                "input_sanity",
                "loss_at_init",
                "batch_independence",
                "reproducibility",
                "overfit_one_batch",
            ],
        )
        assert [f.status for f in report if f.check != "setup"] == ["pass"] * 5, str(report)
        assert report["setup"].evidence["examples"] == 512  # the pool's default size

    # a tuple dataset with a separate val set and several positional inputs, output a tuple
    class TwoInputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(15, 16), nn.Linear(15, 16)
            self.head = nn.Linear(16, 2)

        def forward(self, u: torch.Tensor, v: torch.Tensor) -> tuple:
            h = torch.relu(self.a(u) + self.b(v))
            return self.head(h), h

    torch.manual_seed(0)
    train = TensorDataset(x[:400, :15], x[:400, 15:], y[:400])
    report = check(
        TwoInputs(),
        train,
        nn.CrossEntropyLoss(),
        val=(tuple([x[400:, :15], x[400:, 15:]]), y[400:]),
        quiet=True,
        checks=["input_independent_baseline", "batch_independence"],
    )
    assert report["input_independent_baseline"].status == "pass"
    assert report["input_independent_baseline"].evidence["held_examples"] == len(y) - 400
    assert report["batch_independence"].status == "pass"


def test_other_task_with_expected_init_loss(setups) -> None:
    s = setups.regression(width=16)
    x, y = s["data"]
    loss = lambda out, t: (out - t).abs().pow(3).mean()  # noqa: E731 - a loss the engine cannot know
    base = check(s["model"], (x, y), loss, checks=["loss_at_init"], quiet=True)
    assert base["loss_at_init"].status == "skip"
    measured = base["loss_at_init"].evidence["loss"]
    ok = check(
        s["model"],
        (x, y),
        loss,
        task="other",
        expected_init_loss=measured * 1.1,
        checks=["loss_at_init"],
        quiet=True,
    )
    assert ok["loss_at_init"].status == "pass"
    off = check(
        s["model"],
        (x, y),
        loss,
        task="other",
        expected_init_loss=measured * 5,
        checks=["loss_at_init"],
        quiet=True,
    )
    assert off["loss_at_init"].status == "fail"
    assert "Too low" in off["loss_at_init"].message


def test_several_optimizers_cover_the_model(setups) -> None:
    s = setups.tabular("wine", width=16)
    body = torch.optim.SGD(s["model"][0].parameters(), lr=0.05, momentum=0.9)
    head = torch.optim.Adam(s["model"][2].parameters(), lr=1e-3)
    report = check(
        **s,
        optimizer=[body, head],
        quiet=True,
        checks=["parameter_coverage", "overfit_one_batch", "decreasing_loss"],
    )
    assert [f.status for f in report if f.check != "setup"] == ["pass"] * 3, str(report)
    report = check(**s, optimizer=[head], quiet=True, checks=["parameter_coverage"])
    assert report["parameter_coverage"].evidence["missing_from_optimizer"] == ["0.weight", "0.bias"]


def test_label_smoothing_class_weights_and_soft_labels_are_not_bugs(setups) -> None:
    s = setups.tabular("wine", width=16)
    x, y = s["data"]
    for loss in (
        nn.CrossEntropyLoss(label_smoothing=0.1),
        nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5])),
    ):
        torch.manual_seed(0)
        s = setups.tabular("wine", width=16)
        r = check(
            s["model"],
            (x, y),
            loss,
            quiet=True,
            checks=["loss_at_init", "init_well", "overfit_one_batch"],
        )
        assert [f.status for f in r if f.check != "setup"] == ["pass"] * 3, str(r)
    soft = nn.functional.one_hot(y, 3).float() * 0.8 + 0.2 / 3  # (N, 3) probabilities
    s = setups.tabular("wine", width=16)
    r = check(
        s["model"],
        (x, soft),
        nn.CrossEntropyLoss(),
        quiet=True,
        checks=["loss_at_init", "overfit_one_batch", "batch_independence"],
    )
    assert r["setup"].evidence["task"] == "classification"
    assert [f.status for f in r if f.check != "setup"] == ["pass"] * 3, str(r)
    assert r["overfit_one_batch"].evidence["ladder"][-1]["target"] > 0.3  # the soft labels' entropy


def test_bce_with_pos_weight_is_not_a_bug() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 6, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.8).float().unsqueeze(1)  # about 20% positives
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    r = check(model, (x, y), nn.BCEWithLogitsLoss(pos_weight=torch.tensor([4.0])), quiet=True)
    bad = [f"{f.check}: {f.message}" for f in r if f.status in ("fail", "warn")]
    assert not bad, bad
    assert r["loss_at_init"].status == "pass" and r["setup"].evidence["task"] == "binary"


def test_quiet_silences_the_progress_bars(setups, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RW_PROGRESS", "1")
    monkeypatch.setitem(__import__("sys").modules, "ipykernel", object())  # as in a notebook
    check(**setups.tabular("wine", width=8), checks=["overfit_one_batch"])
    assert "overfit 10" in capsys.readouterr().err  # a bar per training run
    check(**setups.tabular("wine", width=8), checks=["overfit_one_batch"], quiet=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
