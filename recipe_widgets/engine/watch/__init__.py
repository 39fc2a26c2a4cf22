"""The watch engine: hooks on the user's own training loop, live findings, run history."""

from recipe_widgets.engine.watch._detectors import WatchConfig
from recipe_widgets.engine.watch._watch import Run, Watch, compare, load_run, watch_loop

__all__ = ["Run", "Watch", "WatchConfig", "compare", "load_run", "watch_loop"]
