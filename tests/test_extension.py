"""%load_ext / %unload_ext in a real IPython shell, and the %recipe checklist."""

from __future__ import annotations

import subprocess
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell

from recipe_widgets._recipe import STAGES, checklist


@pytest.fixture
def ip():
    shell = InteractiveShell.instance()
    # IPython registers its own ExtensionMagics lazily, on the first %load_ext / %unload_ext:
    # trigger that now so snapshots compare only what recipe_widgets adds.
    shell.run_line_magic("unload_ext", "recipe_widgets")
    yield shell
    shell.run_line_magic("unload_ext", "recipe_widgets")


def _snapshot(shell: InteractiveShell) -> dict:
    mm = shell.magics_manager
    formatters = shell.display_formatter.formatters
    # Names, not the callables: IPython loads its own lazy magics on first use, which swaps
    # their entries for bound methods without anything of ours being involved.
    return {
        "line": set(mm.magics["line"]),
        "cell": set(mm.magics["cell"]),
        "registry": set(mm.registry),
        "printers": {
            mime: (dict(f.type_printers), dict(f.deferred_printers))
            for mime, f in formatters.items()
        },
    }


def test_load_registers_recipe_and_unload_removes_everything(ip: InteractiveShell) -> None:
    before = _snapshot(ip)
    assert "recipe" not in before["line"]
    ip.run_line_magic("load_ext", "recipe_widgets")
    assert "recipe" in ip.magics_manager.magics["line"]
    assert _snapshot(ip) != before  # it really added something
    ip.run_line_magic("unload_ext", "recipe_widgets")
    assert _snapshot(ip) == before


def test_load_gives_tensors_a_rich_html_repr_and_unload_takes_it_back(ip: InteractiveShell) -> None:
    import torch

    html = ip.display_formatter.formatters["text/html"]
    x = torch.tensor([[0.0, 1.0], [float("nan"), 3.0]])
    assert html(x) is None  # IPython's default: no HTML for a tensor
    ip.run_line_magic("load_ext", "recipe_widgets")
    shown = html(x)
    assert shown is not None and "nan" in shown.lower() and "2" in shown
    ip.run_line_magic("unload_ext", "recipe_widgets")
    assert html(x) is None


def test_loading_twice_is_harmless(ip: InteractiveShell) -> None:
    ip.run_line_magic("load_ext", "recipe_widgets")
    once = _snapshot(ip)
    ip.run_line_magic("load_ext", "recipe_widgets")
    import recipe_widgets

    recipe_widgets.load_ipython_extension(ip)  # a direct second call too
    assert _snapshot(ip) == once


def test_reload_ext_leaves_one_working_registration(ip: InteractiveShell) -> None:
    before = _snapshot(ip)
    ip.run_line_magic("load_ext", "recipe_widgets")
    ip.run_line_magic("reload_ext", "recipe_widgets")
    assert ip.run_line_magic("recipe", "tune") is not None
    ip.run_line_magic("unload_ext", "recipe_widgets")
    assert _snapshot(ip) == before


def test_recipe_magic_shows_the_checklist(ip: InteractiveShell) -> None:
    ip.run_line_magic("load_ext", "recipe_widgets")
    shown = ip.run_line_magic("recipe", "")
    bundle = shown._repr_mimebundle_()
    text, html = bundle["text/plain"], bundle["text/html"]
    for number, stage in enumerate(STAGES, start=1):
        assert f"{number}. {stage.title}" in text
        assert f'data-stage="{stage.key}"' in html
    assert 'class="rw-recipe"' in html
    # tools are named only when this install has them
    assert "rw.seed_everything" in text
    import recipe_widgets

    for stage in STAGES:
        for step in stage.steps:
            for tool in step.tools:
                assert (f"rw.{tool}" in text) == (tool in recipe_widgets.__all__)


def test_recipe_magic_one_stage_and_a_bad_stage(ip: InteractiveShell, capsys) -> None:
    ip.run_line_magic("load_ext", "recipe_widgets")
    one = ip.run_line_magic("recipe", "skeleton")
    assert [s.key for s in one.stages] == ["skeleton"]
    assert ip.run_line_magic("recipe", "nonsense") is None
    out = capsys.readouterr().out
    assert "unknown recipe stage 'nonsense'" in out and "skeleton" in out


def test_checklist_text_golden(golden) -> None:
    from recipe_widgets.display._recipe import checklist_text

    golden.check("recipe_checklist.txt", checklist_text(checklist()))


def test_import_alone_registers_nothing() -> None:
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "before = (set(ip.magics_manager.magics['line']), "
        "{m: len(f.type_printers) + len(f.deferred_printers) for m, f in ip.display_formatter.formatters.items()})\n"
        "import recipe_widgets\n"
        "after = (set(ip.magics_manager.magics['line']), "
        "{m: len(f.type_printers) + len(f.deferred_printers) for m, f in ip.display_formatter.formatters.items()})\n"
        "print(before == after)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
