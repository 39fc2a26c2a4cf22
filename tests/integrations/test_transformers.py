"""RecipeCallback in a real transformers.Trainer on CPU: the raw loop's findings, step for step;
and a tiny GPT-2 built from its config (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

tf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from recipe_widgets.engine.watch import load_run  # noqa: E402
from recipe_widgets.integrations.transformers import RecipeCallback  # noqa: E402
from tests.integrations._setups import BATCH, BUGS, Bug, data, ids_and_steps, net, raw_findings  # noqa: E402


class Regression(nn.Module):
    """The shared net with the Trainer's calling convention: keyword inputs, a dict with loss."""

    def __init__(self, bug: Bug) -> None:
        super().__init__()
        self.net = net(bug)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.net(x)
        return {"loss": nn.functional.mse_loss(logits, labels), "logits": logits}


class Dicts(torch.utils.data.Dataset):
    def __init__(self, bug: Bug) -> None:
        self.data = data(bug)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        x, y = self.data[i]
        return {"x": x, "labels": y}


def arguments(tmp_path: Path, lr: float, **kwargs: object) -> object:
    # What makes the Trainer the raw loop of _setups: plain SGD at a constant LR, no clipping,
    # the data in order, one epoch.
    return tf.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=BATCH,
        num_train_epochs=1,
        learning_rate=lr,
        optim="sgd",
        lr_scheduler_type="constant",
        max_grad_norm=0.0,
        train_sampling_strategy="sequential",
        logging_strategy="no",
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        **kwargs,
    )


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_same_findings_as_the_raw_loop(bug: Bug, tmp_path: Path) -> None:
    callback = RecipeCallback(display=False)
    trainer = tf.Trainer(
        model=Regression(bug),
        args=arguments(tmp_path, bug.lr),
        train_dataset=Dicts(bug),
        callbacks=[callback],
    )
    trainer.train()
    expected = raw_findings(bug)
    assert expected
    assert ids_and_steps(callback.watch.report) == expected


def test_tiny_gpt2_trainer_run_to_a_logdir(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = tf.GPT2Config(n_layer=2, n_head=2, n_embd=16, vocab_size=64, n_positions=16)
    model = tf.GPT2LMHeadModel(config)
    ids = torch.randint(0, 64, (32, 8), generator=torch.Generator().manual_seed(0))
    labels = ids.clone()
    labels[:, :2] = -100  # padding in labels, as a collator writes it
    rows = [{"input_ids": i, "labels": lab} for i, lab in zip(ids, labels)]
    callback = RecipeCallback(logdir=tmp_path / "gpt2", display=False)
    trainer = tf.Trainer(
        model=model,
        args=arguments(tmp_path, 10.0, eval_strategy="epoch"),
        train_dataset=rows,
        eval_dataset=rows[:8],
        callbacks=[callback],
    )
    trainer.train()
    run = load_run(tmp_path / "gpt2")
    assert run.history["step"].max() == 4
    assert run.history["eval_loss"].notna().sum() == 1
    # What the run directory holds is what the callback's watch reported, steps included; that
    # an LR far too high is named (from step 4 on, in steady state) is pinned, for the Trainer
    # and Lightning alike, by test_same_findings_as_the_raw_loop.
    assert ids_and_steps(run.report) == ids_and_steps(callback.watch.report)
