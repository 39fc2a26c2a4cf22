"""Bad input over the public functions: every call gives a clear error or a correct answer.

An error is clear when its type is ours (``UnusableInput``, ``FilterSyntaxError``) or a
``TypeError`` / ``ValueError`` whose message names the argument (a missing file: an ``OSError``
naming it). An answer is accepted only where the case says what the correct answer is; every
other bad value must be refused. No call may hang or fail deep inside torch or traitlets.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import recipe_widgets as rw
from recipe_widgets.engine.check import UnusableInput
from recipe_widgets.engine.explore._filter_expr import FilterSyntaxError
from recipe_widgets.engine.watch._watch import Run

pytestmark = pytest.mark.torch_heavy

X = torch.randn(64, 6, generator=torch.Generator().manual_seed(0))
Y = X[:, :3].argmax(1)
CE = nn.CrossEntropyLoss()


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


BAD: dict[str, Any] = {
    "None": None,
    "str": "abc",
    "neg": -1,
    "zero": 0,
    "frac": 1.5,
    "nan": math.nan,
    "inf": math.inf,
    "list0": [],
    "dict0": {},
    "obj": object(),
    "empty_tensor": torch.empty(0),
    "bytes": b"x",
    "bool": True,
}


@dataclass
class Case:
    label: str
    arg: str
    call: Callable[[], Any]
    ok: Callable[[Any], bool] | None = None  # None: only an error is right


def _slot(
    name: str, arg: str, call: Callable[[Any], Any], legit: tuple[str, ...] = ()
) -> list[Case]:
    """One argument position tried with every bad value; ``legit`` values are left out (they
    are valid for this argument, e.g. ``None`` for an optional one)."""
    return [
        Case(f"{name} {arg}={k}", arg, lambda v=v: call(v))
        for k, v in BAD.items()
        if k not in legit
    ]


def _run_file(tmp: Any) -> str:
    path = str(tmp / "run.json")
    Run("r", [{"step": 0, "loss": 1.0}], rw.Report((), "t")).save(path)
    return path


def _cases(tmp: Any) -> list[Case]:
    run_path = _run_file(tmp)
    fast = {"pool_size": 64, "overfit_steps": 5, "decrease_steps": 4, "baseline_steps": 4}
    df = pd.DataFrame({"a": range(30), "t": ["x"] * 30})
    c: list[Case] = []
    c += _slot("check", "data", lambda v: rw.check(_model(), v, CE, quiet=True))
    c += _slot("check", "model", lambda v: rw.check(v, (X, Y), CE, quiet=True))
    c += _slot("check", "loss_fn", lambda v: rw.check(_model(), (X, Y), v, quiet=True))
    c += _slot(
        "check",
        "optimizer",
        lambda v: rw.check(_model(), (X, Y), CE, optimizer=v, quiet=True),
        legit=("None",),
    )
    c += _slot(
        "check",
        "seed",
        lambda v: rw.check(_model(), (X, Y), CE, seed=v, quiet=True, checks=[]),
        legit=("zero",),
    )
    c += _slot(
        "check",
        "steps",
        lambda v: rw.check(_model(), (X, Y), CE, steps=v, scheduler=lambda o: None, checks=[]),
        legit=("None",),
    )
    c += _slot(
        "check",
        "scheduler",
        lambda v: rw.check(
            _model(), (X, Y), CE, scheduler=v, steps=10, checks=["lr_schedule"], quiet=True
        ),
        legit=("None",),
    )
    for th in ("pool_size", "batch_size", "overfit_steps", "loss_init_warn"):
        legit = ("zero",) if th == "loss_init_warn" else ()
        legit += ("frac",) if th == "loss_init_warn" else ()
        c += _slot(
            "check",
            th,
            lambda v, th=th: rw.check(_model(), (X, Y), CE, thresholds={th: v}, checks=[]),
            legit=legit,
        )
    c += _slot(
        "check",
        "thresholds",
        lambda v: rw.check(_model(), (X, Y), CE, thresholds=v, checks=[]),
        legit=("None", "dict0"),
    )
    c += _slot(
        "check",
        "checks",
        lambda v: rw.check(_model(), (X, Y), CE, checks=v),
        legit=("None", "list0"),  # [] runs no check: a report with the setup line only
    )
    c += _slot("evaluate", "data", lambda v: rw.evaluate(_model(), v, CE))
    c += _slot(
        "evaluate",
        "metrics",
        lambda v: rw.evaluate(_model(), (X, Y), CE, metrics=v),
        legit=("list0", "dict0"),  # no metric asked: the loss alone
    )
    c += _slot("evaluate", "batch_size", lambda v: rw.evaluate(_model(), (X, Y), CE, batch_size=v))
    c += _slot("init_final_bias", "targets", lambda v: rw.init_final_bias(_model(), v))
    c += _slot("init_final_bias", "kind", lambda v: rw.init_final_bias(_model(), Y, kind=v))
    c += _slot(
        "init_final_bias",
        "layer",
        lambda v: rw.init_final_bias(_model(), Y, layer=v),
        legit=("None",),
    )
    for tol in ("rtol", "atol"):
        c += _slot(
            "assert_same",
            tol,
            lambda v, tol=tol: rw.assert_same(torch.sin, torch.sin, X, **{tol: v}),
            legit=("zero", "frac"),
        )
    c += _slot(
        "audit",
        "near_threshold",
        lambda v: rw.audit(X, labels=Y, near_threshold=v, quiet=True),
        legit=("zero", "frac"),
    )
    c += _slot("audit", "splits", lambda v: rw.audit(splits=v, quiet=True))
    c += _slot(
        "decode", "std", lambda v: rw.decode(torch.rand(4, 3, 8, 8), std=v), ("None", "frac")
    )
    c += _slot(
        "decode",
        "mean",
        lambda v: rw.decode(torch.rand(4, 3, 8, 8), mean=v),
        legit=("None", "neg", "zero", "frac"),
    )
    c += _slot("decode", "kind", lambda v: rw.decode(torch.rand(4, 3, 8, 8), kind=v), ("None",))
    c += _slot("explore", "data", lambda v: rw.explore(v))
    c += _slot("explore", "page_size", lambda v: rw.explore(df, page_size=v))
    c += _slot("before_the_net", "max_calls", lambda v: rw.before_the_net(_model(), max_calls=v))
    c += _slot("before_the_net", "every", lambda v: rw.before_the_net(_model(), every=v), ("None",))
    c += _slot("Finding", "message", lambda v: rw.Finding("c", "pass", v), legit=("str",))
    c += _slot("Finding", "status", lambda v: rw.Finding("c", v, "m"))
    c += _slot(
        "Finding", "evidence", lambda v: rw.Finding("c", "pass", "m", evidence=v), ("dict0",)
    )
    c += _slot("load_run", "path", lambda v: rw.load_run(v))
    c += _slot("seed_everything", "seed", lambda v: rw.seed_everything(v), legit=("zero",))
    c += _slot("compare", "names", lambda v: rw.compare(rw.load_run(run_path), names=v), ("None",))

    # the issue's own list, each with its correct answer where one exists
    nan_x = X.clone()
    nan_x[0, 0] = math.nan
    loop: dict[str, Any] = {}
    loop["self"] = loop

    def check_nan_inputs() -> Any:
        return rw.check(_model(), (nan_x, Y), CE, quiet=True, thresholds=fast)

    c += [
        Case("check no_grad", "grad", lambda: _no_grad_check(fast), ok=_grad_note),
        Case("check nan inputs", "data", check_nan_inputs, ok=_nan_skips),
        Case("check one example", "data", lambda: rw.check(_model(), (X[:1], Y[:1]), CE)),
        Case("check empty", "data", lambda: rw.check(_model(), (X[:0], Y[:0]), CE)),
        Case("evaluate empty", "data", lambda: rw.evaluate(_model(), (X[:0], Y[:0]), CE)),
        Case("evaluate nan", "data", lambda: rw.evaluate(_model(), (nan_x, Y), CE)),
        Case(
            "evaluate metrics str",
            "metrics",
            lambda: rw.evaluate(_model(), (X, Y), CE, metrics="accuracy"),
        ),
        Case(
            "bias float ids",
            "targets",
            lambda: rw.init_final_bias(_model(), Y.float()),
        ),
        Case(
            "bias 1e40",
            "targets",
            lambda: rw.init_final_bias(_model(), np.full(8, 1e40), kind="regression"),
        ),
        Case("bias all -1", "targets", lambda: rw.init_final_bias(_model(), torch.full((8,), -1))),
        Case("bias bogus", "kind", lambda: rw.init_final_bias(_model(), Y, kind="bogus")),
        Case(
            "audit schemas",
            "splits",
            lambda: rw.audit(splits={"a": df, "b": df.rename(columns={"a": "b"})}, quiet=True),
            ok=lambda r: r["split_schemas"].status == "warn",
        ),
        Case("decode std=0", "std", lambda: rw.decode(torch.rand(4, 3, 8, 8), std=0)),
        Case("explore 'abc'", "data", lambda: rw.explore("abc")),
        Case("explore empty frame", "data", lambda: rw.explore(pd.DataFrame())),
        Case(
            "assert_same dtypes",
            "dtype",
            lambda: rw.assert_same(lambda x: x.double(), lambda x: x, X),
        ),
        Case("Finding cycle", "evidence", lambda: rw.Finding("c", "pass", "m", evidence=loop)),
        Case(
            "filter backtracking",
            "filter",
            lambda: _filter(pd.DataFrame({"t": ["a" * 28 + "!"] * 5}), 't matches "(a|aa)+$"'),
            ok=lambda mask: not mask.any(),  # answered (RE2, or re under a time limit): no match
        ),
    ]
    return c


def _filter(frame: pd.DataFrame, text: str) -> Any:
    from recipe_widgets.engine.explore._filter_expr import filter_mask

    return filter_mask(frame, text)


def _no_grad_check(fast: dict) -> Any:
    with torch.no_grad():
        return rw.check(_model(), (X, Y), CE, quiet=True, thresholds=fast)


def _grad_note(report: Any) -> bool:
    return "gradients enabled" in report["setup"].message and not any(
        "could not run" in f.message for f in report
    )


def _nan_skips(report: Any) -> bool:
    return report["input_sanity"].status == "fail" and report["reproducibility"].status == "skip"


def _clear(exc: BaseException, arg: str) -> bool:
    if isinstance(exc, (UnusableInput, FilterSyntaxError)):
        return True
    if isinstance(exc, AssertionError) and arg == "dtype":
        return "float64" in str(exc) and "float32" in str(exc)  # assert_same's own answer
    if isinstance(exc, FileNotFoundError):  # a path that names no file: the error names it
        return True
    if isinstance(exc, (TypeError, ValueError, OSError)):
        return arg.lower() in str(exc).lower()
    return False


def test_at_least_200_bad_inputs(tmp_path) -> None:
    assert len(_cases(tmp_path)) >= 200


def test_every_bad_input_gets_a_clear_error_or_a_correct_answer(tmp_path) -> None:
    torch.set_num_threads(1)
    wrong = []
    for case in _cases(tmp_path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = case.call()
            except BaseException as exc:  # noqa: BLE001 - judged right below
                if not _clear(exc, case.arg):
                    wrong.append(f"{case.label}: unclear {type(exc).__name__}: {exc}"[:200])
                continue
        if case.ok is None or not case.ok(result):
            wrong.append(f"{case.label}: answered {result!r}"[:200])
    assert not wrong, "\n".join(wrong)
