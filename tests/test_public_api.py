"""The public surface is small and explicit: pinned here so a change to it is deliberate."""

from __future__ import annotations

import subprocess
import sys

import recipe_widgets as rw

EXPECTED_ALL = {
    "charts",
    "CheckFailed",
    "DecodedBatch",
    "Evaluation",
    "Finding",
    "Report",
    "UnusableInput",
    "Watch",
    "__version__",
    "assert_same",
    "audit",
    "before_the_net",
    "check",
    "compare",
    "decode",
    "evaluate",
    "explore",
    "init_final_bias",
    "load_ipython_extension",
    "load_run",
    "lr_find",
    "seed_everything",
    "unload_ipython_extension",
    "view",
    "watch",
}


def test_all_is_pinned() -> None:
    assert set(rw.__all__) == EXPECTED_ALL
    assert len(rw.__all__) == len(set(rw.__all__))


def test_every_public_name_resolves() -> None:
    for name in rw.__all__:
        assert getattr(rw, name) is not None, name
    assert set(rw._EXPORTS) | set(rw._SUBMODULES) <= set(rw.__all__), (
        "an export missing from __all__"
    )


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        rw.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


UI = {"IPython", "ipywidgets", "altair", "anywidget"}


def test_engine_imports_no_ui_packages() -> None:
    loaded = _modules_after(
        "import recipe_widgets.engine, recipe_widgets.engine.check, recipe_widgets.engine.audit, "
        "recipe_widgets.engine.watch, recipe_widgets.engine.decode, recipe_widgets.engine.explore"
    )
    assert "torch" in loaded  # the probe really imported the engine
    assert not (UI & loaded), f"engine pulled in {sorted(UI & loaded)}"


def test_plain_import_is_cheap_and_silent() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import recipe_widgets, sys; print('torch' in sys.modules, 'IPython' in sys.modules)",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    # Nothing printed by the import itself, and neither torch nor IPython loaded yet.
    assert proc.stdout.strip() == "False False"
    assert proc.stderr == ""


HEAVY = {"torch", "altair", "vl_convert", "jsonschema", "scipy", "sklearn"}


def test_exploring_a_data_frame_in_a_fresh_kernel_loads_no_heavy_package() -> None:
    # What a person waits for in a fresh kernel: a DataFrame needs neither torch nor a charting
    # library (the histogram is drawn by the explorer's own front-end module).
    loaded = _modules_after(
        "import numpy as np, pandas as pd, recipe_widgets as rw\n"
        "df = pd.DataFrame({'x': np.arange(1000) / 7, 'kind': ['a', 'b'] * 500})\n"
        "e = rw.explore(df)\n"
        "e.axis = 'kind'; e.picked = ('a',); e.expr = 'x > 3'; e.search = 'a'\n"
        "e._repr_mimebundle_()\n"
        "assert len(e.selection) == 489, len(e.selection)\n"
    )
    assert "recipe_widgets.widgets._explore_histogram" in loaded  # the chart was really built
    assert not (HEAVY & loaded), f"rw.explore(DataFrame) pulled in {sorted(HEAVY & loaded)}"


def test_the_ipython_extension_loads_no_heavy_package() -> None:
    loaded = _modules_after(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'recipe_widgets')\n"
        "assert 'recipe' in ip.magics_manager.magics['line']\n"
    )
    assert "recipe_widgets._ipython" in loaded
    assert not (HEAVY & loaded), f"%load_ext recipe_widgets pulled in {sorted(HEAVY & loaded)}"


INTEGRATIONS = {"lightning", "pytorch_lightning", "transformers", "tensorboard"}


def test_integrations_load_only_when_asked_for() -> None:
    # Watching, writing a run directory and reading it back must not pull in the optional
    # frameworks (each costs seconds to import, and may not be installed).
    loaded = _modules_after(
        "import tempfile, torch, recipe_widgets as rw\n"
        "m = torch.nn.Linear(2, 1); o = torch.optim.SGD(m.parameters(), lr=0.1)\n"
        "d = tempfile.mkdtemp()\n"
        "with rw.watch(m, o, logdir=d, display=False) as w:\n"
        "    w.log(loss=1.0)\n"
        "rw.load_run(d)"
    )
    assert "recipe_widgets.engine.watch._logdir" in loaded  # the probe really wrote a run
    assert not (INTEGRATIONS & loaded), f"pulled in {sorted(INTEGRATIONS & loaded)}"


def test_report_text_needs_no_ui_packages() -> None:
    loaded = _modules_after(
        "import recipe_widgets as rw\n"
        "str(rw.Report((rw.Finding('a', 'warn', 'm'),)))\n"
        "rw.Report(())._repr_mimebundle_()"
    )
    assert not (UI & loaded), f"rendering a report pulled in {sorted(UI & loaded)}"


def test_version_is_a_string() -> None:
    assert isinstance(rw.__version__, str) and rw.__version__.count(".") >= 2
