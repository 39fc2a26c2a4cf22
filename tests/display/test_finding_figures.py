"""Figures under check findings: drawn from real evidence, escaped, and never breaking a report."""

from __future__ import annotations

import re

import torch
from torch import nn

import recipe_widgets as rw
from recipe_widgets.display._finding_figures import figure_html
from recipe_widgets.display._report import report_html


def _overfit_report() -> rw.Report:
    torch.manual_seed(0)
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
    return rw.check(
        model,
        (x, y),
        nn.CrossEntropyLoss(),
        checks=["overfit_one_batch", "loss_at_init"],
        quiet=True,
    )


def test_overfit_and_loss_at_init_findings_carry_figures_in_html() -> None:
    report = _overfit_report()
    html = report_html(report)
    assert (
        html.count('class="rw-figure"') == 3
    )  # ladder losses, labels vs predictions, loss at init
    overfit = next(f for f in report.findings if f.check == "overfit_one_batch")
    n = len(overfit.evidence["labels"])
    assert "equal</text>" in figure_html(overfit) and f"of {min(n, 40)} equal" in figure_html(
        overfit
    )
    assert report_html(report) == html  # deterministic


def test_odd_or_hostile_evidence_gives_no_figure_or_escaped_text() -> None:
    assert (
        figure_html(rw.Finding("overfit_one_batch", "fail", "m", evidence={"ladder": "nonsense"}))
        == ""
    )
    assert (
        figure_html(rw.Finding("loss_at_init", "pass", "m", evidence={"loss": float("nan")})) == ""
    )
    hostile = rw.Finding(
        "overfit_one_batch",
        "fail",
        "m",
        evidence={
            "ladder": [{"examples": "<script>x</script>", "losses": [1.0, 0.5], "target": 0.01}]
        },
    )
    svg = figure_html(hostile)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_overfit_figure_labels_each_rung_with_its_own_target_and_has_axis_ticks() -> None:
    # The report's text names the batch rung's target (< 0.0112); the figure once showed only the
    # first rung's (0.0155), and had no ticks to tell how far the loss stopped from it.
    ladder = [
        {"examples": 1, "losses": [2.3, 1.0, 0.1, 0.009], "target": 0.0155},
        {"examples": 10, "losses": [2.3, 1.2, 0.5, 0.02, 0.011], "target": 0.01123},
    ]
    svg = figure_html(rw.Finding("overfit_one_batch", "fail", "m", evidence={"ladder": ladder}))
    assert "1 ex: 0.009 (target 0.0155)" in svg and "10 ex: 0.011 (target 0.0112)" in svg
    assert svg.count('class="rw-target"') == 2
    ticks = re.findall(r'class="rw-tick"[^>]*>([^<]+)<', svg)
    assert {"0.01", "0.1", "1"} <= set(ticks) and {"0", "4"} <= set(ticks)  # y decades, x ends


def test_overfit_figure_ticks_a_range_narrower_than_a_decade_at_its_ends() -> None:
    ladder = [{"examples": 4, "losses": [0.02, 0.015, 0.012], "target": 0.011}]
    svg = figure_html(rw.Finding("overfit_one_batch", "pass", "m", evidence={"ladder": ladder}))
    ticks = re.findall(r'class="rw-tick"[^>]*>([^<]+)<', svg)
    assert "0.011" in ticks and "0.02" in ticks
