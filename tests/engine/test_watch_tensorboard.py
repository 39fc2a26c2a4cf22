"""w.to_tensorboard / Run.to_tensorboard, read back with TensorBoard's own EventAccumulator."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (
    TENSORS,
    EventAccumulator,
)

from recipe_widgets.engine.watch import load_run
from tests.engine.test_watch_logdir import train


def read(logdir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(logdir), size_guidance={TENSORS: 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("source", ["watch", "run dir"])
def test_scalars_and_findings_read_back(tmp_path: Path, source: str) -> None:
    w = train(tmp_path / "run", nan_at=7)
    run = w if source == "watch" else load_run(tmp_path / "run")
    run.to_tensorboard(tmp_path / "tb")
    acc = read(tmp_path / "tb")
    assert {"loss", "acc", "lr", "grad_norm"} <= set(acc.Tags()["scalars"])
    loss = [(e.step, e.value) for e in acc.Scalars("loss")]
    expected = [(s, v) for s, v in zip(w.history["step"], w.history["loss"]) if not math.isnan(v)]
    assert [s for s, _ in loss] == [s for s, _ in expected]
    assert [v for _, v in loss] == pytest.approx([v for _, v in expected], rel=1e-6)
    lrs = {e.step: e.value for e in acc.Scalars("lr")}
    assert lrs[1] == pytest.approx(0.05) and lrs[12] == pytest.approx(0.0125)
    texts = {
        e.step: e.tensor_proto.string_val[0].decode() for e in acc.Tensors("findings/text_summary")
    }
    assert "`loss_not_finite`" in texts[8] and "became nan at step 8" in texts[8]
    assert len(texts) == len({f.evidence.get("step", 0) for f in w.report.findings})
