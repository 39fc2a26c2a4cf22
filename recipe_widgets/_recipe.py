"""The recipe itself, as data: six stages, what to do in each, and which tool does it.

Paraphrased in our own words from "A Recipe for Training Neural Networks" (Karpathy, 2019).
The ``%recipe`` magic renders this; notebooks link to their stage by ``key``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    text: str
    #: public ``rw.*`` names that do (or help with) this step; empty when it is done by hand
    tools: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    why: str
    steps: tuple[Step, ...]
    notebook: str


STAGES: tuple[Stage, ...] = (
    Stage(
        "data",
        "Become one with the data",
        "Read thousands of examples before writing model code: duplicates, corrupted items, "
        "imbalance and label noise are found by looking, and they shape the architecture.",
        (
            Step("Scan many examples; search, filter and sort them by anything", ("explore",)),
            Step("Plot distributions along every axis and read the outliers", ("explore", "audit")),
            Step("Find duplicates, leaks across splits, corrupted items, imbalance", ("audit",)),
            Step("Label a few items yourself: that is the human baseline", ("explore",)),
        ),
        "01_become_one_with_the_data.ipynb",
    ),
    Stage(
        "skeleton",
        "Set up the end-to-end skeleton and dumb baselines",
        "Trust the training and evaluation loop before trusting any model: every later "
        "experiment is read through it.",
        (
            Step("Fix the random seed", ("seed_everything",)),
            Step(
                "Verify the loss at init and initialize the final layer well",
                ("check", "init_final_bias"),
            ),
            Step("Beat an input-independent baseline on held-out data", ("check",)),
            Step("Overfit one batch, then a few, to the loss floor", ("check",)),
            Step("Visualize the data immediately before the net", ("decode", "before_the_net")),
            Step("Use backprop to chart dependencies: no mixing across the batch", ("check",)),
            Step("Evaluate the whole test set, with error bars", ("evaluate",)),
            Step("Generalize a special case: loopy and vectorized code agree", ("assert_same",)),
        ),
        "02_skeleton_and_baselines.ipynb",
    ),
    Stage(
        "overfit",
        "Overfit",
        "First a model large enough to drive training loss to its floor; only then trade "
        "some of that for validation loss.",
        (
            Step("Copy the simplest architecture that fits the problem", ()),
            Step("Use Adam at 3e-4; it forgives a bad learning rate", ("check",)),
            Step("Complexify only one thing at a time and compare runs", ("watch", "compare")),
            Step("Distrust learning-rate decay defaults: dry-run the schedule", ("check", "watch")),
        ),
        "03_overfit.ipynb",
    ),
    Stage(
        "regularize",
        "Regularize",
        "Give up some training loss for validation loss, roughly in order of how reliably "
        "each knob helps.",
        (
            Step("Get more real data; then augment it", ("decode", "audit")),
            Step(
                "Shrink the input, the model and the batch; add weight decay and dropout",
                ("watch",),
            ),
            Step("Stop early on validation loss", ("watch",)),
            Step("Look at first-layer weights and activations", ("decode",)),
        ),
        "04_regularize.ipynb",
    ),
    Stage(
        "tune",
        "Tune",
        "Search the hyper-parameters that matter, randomly rather than on a grid.",
        (
            Step("Find the learning-rate range with an LR range test", ("lr_find",)),
            Step("Random search over learning rate, weight decay, width", ("compare",)),
        ),
        "05_tune.ipynb",
    ),
    Stage(
        "squeeze",
        "Squeeze out the juice",
        "Ensembles and patience: small reliable gains at the end.",
        (
            Step("Average a few models", ("evaluate",)),
            Step("Leave it training longer than seems necessary", ("watch",)),
        ),
        "06_squeeze.ipynb",
    ),
)


def stage(key: str) -> Stage:
    """The stage with this key (``"data"``, ``"skeleton"``, ...), or a ValueError listing them."""
    for s in STAGES:
        if s.key == key:
            return s
    keys = ", ".join(s.key for s in STAGES)
    raise ValueError(f"unknown recipe stage {key!r}; the stages are: {keys}")


@dataclass(frozen=True)
class Checklist:
    """What ``%recipe`` shows: the stages (all, or one), with the tools available in this install.

    ``available`` is computed once, from ``recipe_widgets.__all__`` (``_public.PUBLIC_NAMES``), so a stage never points at
    a tool that this version does not have.
    """

    stages: tuple[Stage, ...]
    available: frozenset[str]

    def __repr__(self) -> str:
        from recipe_widgets.display._recipe import checklist_text

        return checklist_text(self)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        from recipe_widgets.display._recipe import checklist_html, checklist_text

        return {"text/plain": checklist_text(self), "text/html": checklist_html(self)}


def checklist(key: str | None = None) -> Checklist:
    """The whole recipe, or the stage named by ``key``."""
    from recipe_widgets._public import PUBLIC_NAMES

    chosen = STAGES if not key else (stage(key),)
    return Checklist(chosen, frozenset(PUBLIC_NAMES))
