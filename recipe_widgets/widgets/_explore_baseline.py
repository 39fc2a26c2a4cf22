"""The human baseline: label items yourself with the answer hidden, then see how you did.

"How well would a person do?" bounds what to expect of the net and shows which items are
ambiguous. Items come in a fixed random order; the label column is never shown until the end.
"""

from __future__ import annotations

from html import escape
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
import traitlets as T

from recipe_widgets.display._explore import grid_html
from recipe_widgets.display._images import png_data_uri
from recipe_widgets.engine.explore import HumanBaseline, sample_items
from recipe_widgets.widgets._base import StaticFallbackMixin


class HumanBaselineWidget(StaticFallbackMixin, W.VBox):
    position = T.Int(0, help="how many items have been labelled so far")

    def __init__(
        self,
        frame: pd.DataFrame,
        label: str,
        *,
        n: int = 20,
        images: np.ndarray | None = None,
        show: tuple[str, ...] = (),
        seed: int = 0,
    ) -> None:
        if label not in frame.columns:
            raise KeyError(
                f"no label column {label!r}; columns: {', '.join(map(str, frame.columns))}"
            )
        if label in show:
            raise ValueError("the label column cannot be shown while a person labels the items")
        self.frame, self.label, self.images, self.show = frame, label, images, tuple(show)
        self.items = sample_items(len(frame), n, seed)
        self.truth = tuple(str(v) for v in frame[label].iloc[self.items])
        self.classes = sorted({str(v) for v in frame[label].dropna()}, key=_natural)
        self.guesses: list[str] = []
        self._item = W.HTML()
        self._buttons = [
            W.Button(description=c, layout=W.Layout(width="auto")) for c in self.classes
        ]
        for b in self._buttons:
            b.on_click(lambda btn: self.answer(btn.description))
        self._result = W.HTML()
        super().__init__(
            [self._item, W.HBox(self._buttons, layout=W.Layout(flex_flow="row wrap")), self._result]
        )
        self._draw()

    @property
    def result(self) -> HumanBaseline:
        k = len(self.guesses)
        return HumanBaseline(
            tuple(int(i) for i in self.items[:k]), self.truth[:k], tuple(self.guesses)
        )

    @property
    def done(self) -> bool:
        return len(self.guesses) >= len(self.items)

    def answer(self, guess: Any) -> None:
        """Record the person's label for the current item (what a button click does)."""
        if self.done:
            return
        guess = str(guess)
        if guess not in self.classes:
            raise ValueError(f"{guess!r} is not one of the labels: {', '.join(self.classes)}")
        self.guesses.append(guess)
        self.position = len(self.guesses)
        self._draw()

    def _draw(self) -> None:
        if self.done:
            for b in self._buttons:
                b.disabled = True
            self._item.value = ""
            self._result.value = self._static_html()
            return
        r = int(self.items[len(self.guesses)])
        parts = [
            f"<div class='rw-hb-progress'>item {len(self.guesses) + 1} of {len(self.items)}: what label is this?</div>"
        ]
        if self.images is not None:
            img = self.images[r]
            scale = max(1, 128 // max(img.shape[0], 1))
            parts.append(
                f"<img src='{png_data_uri(img, scale)}' style='image-rendering:pixelated;width:128px'>"
            )
        if self.show:
            parts.append(grid_html(self.frame, [r], columns=list(self.show)))
        self._item.value = "".join(parts)

    def _static_text(self) -> str:
        return self.result.summary()

    def _static_html(self) -> str:
        res = self.result
        html = f"<div class='rw-human-baseline'><b>{escape(res.summary())}</b>"
        if res.guesses:
            html += res.confusion().to_html(classes="rw-confusion", escape=True)
        return html + "</div>"


def _natural(text: str) -> tuple[int, float | str]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)
