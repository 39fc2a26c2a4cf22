"""``rw.check`` and its companions: the recipe's checks as verdicts on copies of a setup."""

from recipe_widgets.engine.check._api import CHECKS, check
from recipe_widgets.engine.check._assert_same import assert_same
from recipe_widgets.engine.check._bias import init_final_bias
from recipe_widgets.engine.check._context import DEFAULT_THRESHOLDS
from recipe_widgets.engine.check._data import UnusableInput
from recipe_widgets.engine.check._evaluate import Evaluation, evaluate
from recipe_widgets.engine.check._schedule import SchedulePreview, schedule_preview

__all__ = [
    "CHECKS",
    "DEFAULT_THRESHOLDS",
    "Evaluation",
    "SchedulePreview",
    "UnusableInput",
    "assert_same",
    "check",
    "evaluate",
    "init_final_bias",
    "schedule_preview",
]
