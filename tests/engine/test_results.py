"""Finding and Report: validation, verdicts, serialisation, and the pytest-facing error."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from recipe_widgets.engine import CheckFailed, Finding, Report


def _report() -> Report:
    return Report(
        (
            Finding("reproducibility", "pass", "Two seeded runs agree."),
            Finding(
                "loss_at_init", "fail", "Loss at init 0.02, expected 2.30.", "Remove the softmax."
            ),
            Finding("class_counts", "info", "10 classes, 180 items each."),
            Finding("lr_schedule", "warn", "LR reaches 1% of its start at step 100 of 1000."),
            Finding("causality", "skip", "Not a sequence model."),
        ),
        title="Check",
    )


def test_statuses_and_verdicts() -> None:
    r = _report()
    assert not r.ok
    assert [f.check for f in r.failed] == ["loss_at_init"]
    assert [f.check for f in r.warnings] == ["lr_schedule"]
    assert r.counts() == {"fail": 1, "warn": 1, "info": 1, "pass": 1, "skip": 1}
    assert r["causality"].status == "skip"
    assert "lr_schedule" in r and "nope" not in r
    assert Report(
        (Finding("a", "warn", "w"), Finding("b", "info", "i"))
    ).ok  # warnings are not failures


def test_unknown_check_lookup_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="reproducibility, loss_at_init"):
        _report()["nope"]


@pytest.mark.parametrize("status", ["error", "PASS", "", None])
def test_status_is_validated(status: object) -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        Finding("x", status, "m")  # type: ignore[arg-type]


def test_check_id_and_evidence_are_validated() -> None:
    with pytest.raises(ValueError, match="check"):
        Finding("", "pass", "m")
    with pytest.raises(TypeError, match="evidence"):
        Finding("x", "pass", "m", evidence=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Finding"):
        Report(("not a finding",))  # type: ignore[arg-type]


def test_frozen() -> None:
    f = Finding("x", "pass", "m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.status = "fail"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        _report().findings = ()  # type: ignore[misc]


def test_evidence_becomes_plain_data_and_drops_the_graph() -> None:
    w = torch.ones(3, requires_grad=True)
    loss = (w * 2).sum()
    f = Finding(
        "x",
        "info",
        "m",
        evidence={
            "loss": loss,
            "preds": w * 2,
            "arr": np.arange(3, dtype=np.int64),
            "np_scalar": np.float32(0.5),
            "nested": {"t": (torch.tensor(1), [np.int16(2)])},
            "labels": {3, 1, 2},
        },
    )
    assert f.evidence == {
        "loss": 6.0,
        "preds": [2.0, 2.0, 2.0],
        "arr": [0, 1, 2],
        "np_scalar": 0.5,
        "nested": {"t": [1, [2]]},
        "labels": [1, 2, 3],
    }
    assert type(f.evidence["arr"][0]) is int and type(f.evidence["np_scalar"]) is float


def test_to_json_round_trips_and_writes_non_finite_as_strings() -> None:
    r = Report(
        (
            Finding(
                "nan", "fail", "Loss is NaN at step 3", evidence={"loss": math.nan, "g": [math.inf]}
            ),
        )
    )
    data = json.loads(r.to_json())
    assert data["ok"] is False
    assert data["counts"] == {"fail": 1}
    assert data["findings"][0]["evidence"] == {"loss": "nan", "g": ["inf"]}
    assert json.loads(_report().to_json())["findings"][1]["fix"] == "Remove the softmax."


def test_raise_if_failed_lists_every_failure_and_fix() -> None:
    r = _report() + Report((Finding("overfit_one_batch", "fail", "Floor 0.9 after 200 steps."),))
    with pytest.raises(AssertionError) as info:
        r.raise_if_failed()
    assert isinstance(info.value, CheckFailed)
    assert info.value.report is r
    assert str(info.value) == (
        "2 recipe check(s) failed:\n"
        "- loss_at_init: Loss at init 0.02, expected 2.30.\n"
        "  fix: Remove the softmax.\n"
        "- overfit_one_batch: Floor 0.9 after 200 steps."
    )
    ok = Report((Finding("a", "warn", "w"),))
    assert ok.raise_if_failed() is ok


def test_repr_is_short_and_deterministic() -> None:
    assert repr(_report()) == "Check(5 findings: 1 fail, 1 warn, 1 info, 1 pass, 1 skip)"
    assert repr(Report(())) == "Report(0 findings: empty)"


def test_adding_reports_keeps_order() -> None:
    a = Report((Finding("a", "pass", "1"),), title="All")
    b = Report((Finding("b", "fail", "2"),))
    m = a + b
    assert [f.check for f in m] == ["a", "b"] and m.title == "All" and len(m) == 2
