"""The watch engine: hooks on the user's own training loop, live findings, run history, and
the run directory a watch writes (``logdir=``) and a viewer follows."""

from recipe_widgets.engine.watch._detectors import WatchConfig
from recipe_widgets.engine.watch._logdir import RunFollower, runs_in
from recipe_widgets.engine.watch._watch import (
    Run,
    Watch,
    compare,
    load_run,
    run_from_state,
    watch_loop,
)

__all__ = [
    "Run",
    "RunFollower",
    "Watch",
    "WatchConfig",
    "compare",
    "load_run",
    "run_from_state",
    "runs_in",
    "watch_loop",
]
