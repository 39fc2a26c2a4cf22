"""The rendering seam: engine objects print through a registry that the display layer fills."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from recipe_widgets.engine import rendering
from recipe_widgets.engine.results import Finding, Report


def test_engine_alone_prints_and_the_display_layer_loads_on_the_first_render() -> None:
    code = (
        "import sys\n"
        "from recipe_widgets.engine.results import Finding, Report\n"
        "before = 'recipe_widgets.display' in sys.modules\n"
        "r = Report((Finding('a', 'warn', 'm'),), title='T')\n"
        "text, bundle = str(r), r._repr_mimebundle_()\n"
        "print(before, 'recipe_widgets.display' in sys.modules)\n"
        "print(text.splitlines()[0])\n"
        "print(sorted(bundle), '<' in bundle['text/html'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "False True",
        "T: 1 warning (1 warn)",
        "['text/html', 'text/plain'] True",
    ]


def test_a_subclass_renders_as_its_base_and_an_unknown_type_as_its_repr() -> None:
    from recipe_widgets.engine.audit import audit

    report = audit(np.arange(12.0).reshape(6, 2), quiet=True)
    assert type(report) is not Report and str(report) == str(Report(report.findings, report.title))

    class Plain:
        def __repr__(self) -> str:
            return "Plain()"

    assert rendering.render(Plain()) is None
    assert rendering.mimebundle(Plain()) == {"text/plain": "Plain()"}


def test_register_by_name_and_by_class() -> None:
    class Thing:
        pass

    rendering.register(Thing, "text/plain", lambda t: "a thing")
    rendering.register(rendering.type_name(Thing), "text/html", lambda t: "<b>thing</b>")
    assert rendering.mimebundle(Thing()) == {"text/plain": "a thing", "text/html": "<b>thing</b>"}
    assert str(Finding("x", "pass", "fine")).startswith("PASS")
