"""Report renderings: golden text and HTML, escaping, determinism."""

from __future__ import annotations

from recipe_widgets.display import report_html, report_text
from recipe_widgets.display._report import summary_line
from recipe_widgets.engine import Finding, Report

HOSTILE = '<img src=x onerror="alert(1)"> & "quotes"'


def _report() -> Report:
    return Report(
        (
            Finding("reproducibility", "pass", "Two seeded runs of 5 steps agree bit for bit."),
            Finding(
                "loss_at_init",
                "fail",
                "Loss at init is 0.021, but 10 balanced classes with a fresh final layer should "
                "start near -log(1/10) = 2.303; a loss this low at init means the model is "
                "confidently right or the loss is not seeing logits.",
                "Pass raw logits to CrossEntropyLoss: remove the softmax at the end of forward().",
                {"loss": 0.021, "expected": 2.303},
            ),
            Finding("class_counts", "info", "10 classes, 170 to 183 items each."),
            Finding("lr_schedule", "warn", "LR falls below 1% of its start at step 90 of 1000."),
            Finding("causality", "skip", "Not a sequence model."),
        ),
        title="Recipe check",
    )


def test_text_golden(golden) -> None:
    golden.check("report.txt", report_text(_report()))


def test_html_golden(golden) -> None:
    golden.check("report.html", report_html(_report()))


def test_text_orders_worst_first_and_keeps_check_order_within_a_status() -> None:
    r = Report((Finding("b", "pass", "x"), Finding("a", "fail", "y"), Finding("c", "pass", "z")))
    lines = report_text(r).splitlines()
    assert lines[0] == "Report: FAILED (1 fail, 2 pass)"
    assert [ln.split()[1] for ln in lines[1:]] == ["a:", "b:", "c:"]


def test_long_messages_wrap_with_a_hanging_indent() -> None:
    text = report_text(_report(), width=60)
    assert all(len(line) <= 60 for line in text.splitlines()[1:])  # the summary line is not wrapped
    body = text.splitlines()
    i = next(k for k, ln in enumerate(body) if ln.startswith("FAIL"))
    assert body[i + 1].startswith("      ") and not body[i + 1].startswith("      fix:")


def test_html_escapes_every_data_string() -> None:
    r = Report((Finding("xss", "warn", HOSTILE, HOSTILE, {"v": HOSTILE}),), title=HOSTILE)
    html = report_html(r)
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &quot;quotes&quot;" in html
    assert report_text(r).count(HOSTILE) == 3  # text stays literal


def test_mimebundle_is_deterministic_and_has_text_and_html() -> None:
    a, b = _report()._repr_mimebundle_(), _report()._repr_mimebundle_()
    assert a == b and set(a) == {"text/plain", "text/html"}
    assert a["text/plain"] == str(_report())
    assert 'data-ok="false"' in a["text/html"]


def test_empty_report_renders() -> None:
    assert report_text(Report(())) == "Report: ok (no findings)"
    assert "<table" in report_html(Report(()))


def test_headline_counts_warnings_instead_of_saying_ok() -> None:
    warned = Report(
        tuple(Finding(f"w{i}", "warn", "m") for i in range(3)) + (Finding("p", "pass", "m"),),
        title="Data audit",
    )
    assert summary_line(warned) == "Data audit: 3 warnings (3 warn, 1 pass)"
    one = Report((Finding("w", "warn", "m"),), title="Data audit")
    assert summary_line(one) == "Data audit: 1 warning (1 warn)"
    assert summary_line(Report((Finding("p", "pass", "m"),))) == "Report: ok (1 pass)"
    assert ">Data audit: 3 warnings (3 warn, 1 pass)</div>" in report_html(warned)


def test_html_colours_follow_the_notebook_theme() -> None:
    # JupyterLab's variables first, VS Code's next, a light-theme colour last: the same HTML
    # reads in a dark theme. No hard-coded grey for the fix line.
    html = report_html(_report())
    assert "var(--jp-error-color0, var(--vscode-errorForeground, #b42318))" in html
    assert "var(--jp-ui-font-color2, var(--vscode-descriptionForeground, #57606a))" in html
    assert "#444" not in html
