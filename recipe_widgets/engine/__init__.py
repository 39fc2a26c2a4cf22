"""The engine: torch, numpy and pandas only. Checks, data audit, tensor decoding, the watch.

Everything here returns frozen dataclasses; nothing here imports IPython, ipywidgets, anywidget
or altair (a test imports this package in a fresh interpreter to prove it).
"""

from recipe_widgets.engine.results import STATUSES, CheckFailed, Finding, Report, merge
from recipe_widgets.engine.seed import seed_everything

__all__ = ["STATUSES", "CheckFailed", "Finding", "Report", "merge", "seed_everything"]
