"""The public names of ``recipe_widgets`` (its ``__all__``), in a module of their own so that
modules the package imports (``_recipe``'s checklist) can read them without importing it."""

PUBLIC_NAMES: tuple[str, ...] = (
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
    "seed_everything",
    "unload_ipython_extension",
    "watch",
)
