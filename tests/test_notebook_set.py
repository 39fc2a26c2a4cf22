"""The tutorial set as a whole: every stage present, built from its source, and checked by nbval.

nbval runs the notebooks; this guards what nbval cannot see: a notebook missing, a committed
notebook out of step with its source, verdicts hidden behind NBVAL_IGNORE_OUTPUT.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
STAGES = [
    "00_tour",
    "01_become_one_with_the_data",
    "02_skeleton_and_baselines",
    "03_overfit",
    "04_regularize",
    "05_tune",
    "06_squeeze",
    "07_vae",
    "08_bug_hunt",
    "09_where_you_train",
    "widget_gallery",
]
IGNORE = re.compile(r"#\s*NBVAL_(IGNORE_OUTPUT|SKIP)")
# A Report's text: its header ("Recipe check: ok (...)", "Data audit: 3 warnings (...)",
# "Watch long run: ok (no findings)") or one of its finding lines.
REPORT_LINE = re.compile(
    r"^([^\n:]+: (ok|FAILED|\d+ warnings?) \(|(PASS|FAIL|WARN|INFO|SKIP)  [a-z_]+: )", re.M
)


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", NOTEBOOKS.parent / "scripts" / "build_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(output: dict) -> str:
    text = output.get("text") or output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


def test_every_stage_has_a_notebook_and_a_source() -> None:
    built = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    sources = sorted(p.stem for p in (NOTEBOOKS / "_sources").glob("*.py"))
    assert built == sorted(STAGES) and sources == sorted(STAGES)


@pytest.mark.parametrize("name", STAGES)
def test_notebook_is_built_from_its_source_and_its_verdicts_are_checked(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    expected = _builder().parse((NOTEBOOKS / "_sources" / f"{name}.py").read_text())
    assert [(c.cell_type, c.source) for c in nb.cells] == [
        (c.cell_type, c.source) for c in expected
    ], f"{name}.ipynb is out of step with its source: run scripts/build_notebooks.py {name}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), (
        "every code cell was run when the notebook was built"
    )
    ignored = [c for c in code if IGNORE.search(c.source)]
    assert len(ignored) <= 0.2 * len(code)
    for c in ignored:  # each with its reason on the marker line
        assert re.search(r"NBVAL_\w+\s*[:(-]\s*\S+", c.source), c.source[:80]
    checked = [c for c in code if c not in ignored]
    assert any(REPORT_LINE.search(_text(o)) for c in checked for o in c.outputs), (
        f"{name}: no checked cell shows a Report's text, so a changed verdict would pass CI"
    )
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors


def _sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns((NOTEBOOKS / "sanitize.cfg").read_text()):
        text = re.sub(regex, replace, text)
    return text


def test_pictures_are_masked_and_verdicts_are_not() -> None:
    """The bytes of a picture depend on the CPU's float kernels; the words beside it do not."""
    avx2 = (
        '<img src="data:image/png;base64,iVBORw0KGgoAAAANSU+/=">'
        '<svg width="4"><polyline points="61.6,23.5 62.7,24.1"/><text>target 0.0155</text></svg>'
        "<p>FAIL  overfit_one_batch: stopped at 0.0942</p>"
    )
    avx512 = (
        '<img src="data:image/png;base64,iVBORw0KGgoAAAANSV+/=">'
        '<svg width="4"><polyline points="61.6,23.4 62.7,24.1"/><text>target 0.0154</text></svg>'
        "<p>FAIL  overfit_one_batch: stopped at 0.0942</p>"
    )
    assert _sanitize(avx2) == _sanitize(avx512)
    assert "FAIL  overfit_one_batch: stopped at 0.0942" in _sanitize(avx2)
    changed_verdict = avx512.replace("FAIL", "PASS")
    assert _sanitize(avx2) != _sanitize(changed_verdict)


def test_check_cost_is_masked_and_the_report_is_not() -> None:
    """A report's ``cost:`` line (time, memory) changes every run; nbval must not see it, in the
    text and in the HTML, and must still see every verdict."""
    from recipe_widgets.display._report import report_html, report_text
    from recipe_widgets.engine.results import Cost, Finding, Report

    findings = (Finding("overfit_one_batch", "fail", "stopped at 0.0942"),)
    runs = [
        Report(findings, "Recipe check", Cost(4.21, 136_000_000, 47_000_000)),
        Report(findings, "Recipe check", Cost(0.93, 9_000_000, 47_000_000)),
        Report(
            findings,
            "Recipe check",
            Cost(12.0, None, 47_000_000, device="cuda:0", device_peak_bytes=90_000_000),
        ),
    ]
    for render in (report_text, report_html):
        shown = [_sanitize(render(r)) for r in runs]
        assert shown[0] == shown[1] == shown[2], shown
        assert "cost: checked in COST" in shown[0]
        assert "FAIL" in shown[0] and "stopped at 0.0942" in shown[0]
    assert report_text(runs[0]).splitlines()[-1].startswith("cost: checked in 4.2 s, peak +136 MB")
    failed = Report(findings, "Recipe check", Cost(4.21, 136_000_000, 47_000_000))
    passed = Report(
        (Finding("overfit_one_batch", "pass", "stopped at 0.0942"),), "Recipe check", failed.cost
    )
    assert _sanitize(report_text(failed)) != _sanitize(report_text(passed))
