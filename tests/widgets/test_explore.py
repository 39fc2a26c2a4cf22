"""The explorer widget, driven the way a person drives it: by setting its traits."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch

import recipe_widgets as rw
from recipe_widgets.widgets._explore import Explorer

HOSTILE = '<img src=x onerror="window.__rw_pwned=1">'  # item 7's caption (conftest)


def test_starts_with_every_item_on_the_first_page(frame: pd.DataFrame) -> None:
    e = Explorer(frame, chart=False, page_size=10)
    assert e.selection.tolist() == list(range(60))
    assert repr(e) == "Explorer(60 of 60 items match; showing 1-10)"
    assert e._grid.value.count("<tr data-row=") == 10


def test_search_sort_and_paging(frame: pd.DataFrame) -> None:
    e = Explorer(frame, chart=False, page_size=10)
    e.search = "item 1"
    assert e.selection.tolist() == [1, *range(10, 20)]
    e.search = ""
    e.sort_by = "brightness"
    e.descending = True
    b = frame["brightness"].to_numpy()
    assert e.selection.tolist() == np.argsort(-b, kind="stable").tolist()
    e._turn(+1)
    assert e.page == 1 and "showing 11-20" in repr(e)
    e._turn(+100)
    assert e.page == 5
    e.search = "item"  # a new query starts again on page one
    assert e.page == 0


def test_bad_regex_says_why_and_keeps_the_last_selection(frame: pd.DataFrame) -> None:
    e = Explorer(frame, chart=False)
    e.search = "item 5"
    before = e.selection.tolist()
    e.regex = True
    e.search = "(["
    assert "not a valid regular expression" in e.error
    assert e.selection.tolist() == before
    assert "rw-error" in e._status.value
    e.search = "^item 5$"
    assert e.error == "" and e.selection.tolist() == [5]


def test_hostile_strings_are_escaped_in_the_grid_and_the_static_html(frame: pd.DataFrame) -> None:
    e = Explorer(frame, chart=False)
    for html in (e._grid.value, e._static_html(), e._repr_mimebundle_()["text/html"]):
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=&quot;window.__rw_pwned=1&quot;&gt;" in html


def test_brush_filters_by_range_and_exports(frame: pd.DataFrame) -> None:
    e = Explorer(frame, chart=False)
    e.axis = "brightness"
    e.brush = (0.2, 0.4)
    b = frame["brightness"]
    expected = np.flatnonzero(((b >= 0.2) & (b <= 0.4)).to_numpy()).tolist()
    assert e.selection.tolist() == expected
    assert e.selected_frame().index.tolist() == expected
    subset = e.subset(list(range(100, 160)))
    assert [subset[i] for i in range(len(subset))] == [100 + i for i in expected]
    e.axis = "label"  # a new axis drops the old brush
    assert e.brush == () and len(e.selection) == 60


def test_thumbnails_are_inline_pngs(frame: pd.DataFrame) -> None:
    images = np.zeros((60, 8, 8), dtype=np.uint8)
    e = Explorer(frame, images=images, chart=False, page_size=4)
    assert e._grid.value.count("data:image/png;base64,") == 4
    with pytest.raises(ValueError, match="5 images for 60 items"):
        Explorer(frame, images=images[:5], chart=False)


def test_rejects_what_is_not_a_frame() -> None:
    with pytest.raises(TypeError, match="per-item DataFrame"):
        Explorer([1, 2, 3])  # type: ignore[arg-type]


def test_histogram_chart_brush_reaches_the_selection(frame: pd.DataFrame) -> None:
    e = Explorer(frame)
    e.axis = "brightness"
    bars = e._chart.bars
    assert bars["numeric"] and len(bars["edges"]) == len(bars["counts"]) + 1 == 31
    # What the front end does when a person drags over the bars:
    e._chart.brush = [0.5, 0.7]
    assert e.brush == (0.5, 0.7)
    assert all(0.5 <= frame["brightness"].iloc[i] <= 0.7 for i in e.selection)
    e._chart.brush = []  # a click beside the bars clears it
    assert e.brush == () and len(e.selection) == 60


def test_a_selection_set_from_code_is_drawn_and_a_new_axis_clears_it(frame: pd.DataFrame) -> None:
    e = Explorer(frame)
    e.axis = "brightness"
    e.brush = (0.2, 0.4)
    assert e._chart.brush == [0.2, 0.4]  # the chart draws the brush a script set
    e.axis = "label"
    assert e._chart.brush == [] and e._chart.bars["column"] == "label"
    e.axis = "caption"
    e.picked = ("item 3",)
    assert e._chart.picked == ["item 3"]
    with pytest.raises(Exception, match="lo <= hi"):
        e._chart.brush = [0.7, 0.5]


def test_clicking_category_bars_shows_the_items_behind_them(frame: pd.DataFrame) -> None:
    frame = frame.assign(kind=pd.Categorical(np.where(np.arange(60) % 4 == 0, "rare", "common")))
    e = Explorer(frame)
    e.axis = "kind"
    bars = e._chart.bars
    assert not bars["numeric"] and bars["labels"] == ["common", "rare"]  # most common first
    assert bars["counts"] == [45, 15]
    e._chart.picked = ["rare"]  # a click on the "rare" bar
    assert e.picked == ("rare",)
    assert e.selection.tolist() == list(range(0, 60, 4))


def test_explore_tensors_as_items_with_thumbnails_and_flags() -> None:
    import torch

    from recipe_widgets.engine import Finding, Report
    from recipe_widgets.widgets._explore import explore

    x = torch.zeros(10, 1, 8, 8)
    x[3] = 5.0  # one bright item
    y = torch.arange(10) % 2
    report = Report(
        (
            Finding("outliers", "warn", "item 3 is far brighter", evidence={"indices": [3]}),
            Finding(
                "exact_duplicates",
                "warn",
                "dups",
                evidence={"indices": [["train", 4], ["train", 5]]},
            ),
        )
    )
    e = explore((x, y), report=report, chart=False, axes={"peak": lambda item: float(item.max())})
    assert repr(e) == "Explorer(10 of 10 items match; showing 1-10)"
    assert e.note == "10 items of shape (1, 8, 8), dtype float32; shown as images"
    assert e.frame["label"].tolist() == y.tolist()
    assert e.frame["peak"].tolist() == [5.0 if i == 3 else 0.0 for i in range(10)]
    assert e.frame["flags"].tolist()[3:6] == ["outliers", "exact_duplicates", "exact_duplicates"]
    assert e.images.shape == (10, 8, 8) and e.images[3].max() == 255 and e.images[0].max() == 0
    e.search = "outliers"
    assert e.selection.tolist() == [3]
    assert e.human_baseline(n=4).classes == ["0", "1"]


def test_explore_a_dataset_whose_items_raise() -> None:
    import torch
    from torch.utils.data import Dataset

    from recipe_widgets.widgets._explore import explore

    class Flaky(Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int):
            if i == 2:
                raise OSError("truncated file")
            return torch.full((3, 3), float(i)), i

    e = explore(Flaky(), chart=False)
    assert e.note == "4 items read from Flaky; 1 raised"
    assert e.frame["error"].tolist() == ["", "", "OSError: truncated file", ""]
    e.search = "truncated"
    assert e.selection.tolist() == [2]


def test_explore_refuses_what_it_cannot_read() -> None:
    from recipe_widgets.widgets._explore import explore

    with pytest.raises(TypeError, match="cannot read items"):
        explore(np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="3 labels for 2 items"):
        explore(np.zeros((2, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="no label column"):
        explore(pd.DataFrame({"a": [1, 2]}), chart=False).human_baseline()


def test_duplicate_groups_become_a_column_and_show_side_by_side() -> None:
    import recipe_widgets as rw
    from recipe_widgets.engine.audit import planted_digits
    from recipe_widgets.widgets._explore import explore

    splits, truth = planted_digits(seed=0, n_each=4)
    report = rw.audit(splits=splits, quiet=True)
    x, y = splits["train"]
    e = explore(x, y, report=report, split="train", chart=False)
    dup = next(f for f in report.findings if f.check == "exact_duplicates")
    first = sorted(i for _, i in dup.evidence["groups"][0])
    e.show_group("exact_duplicates#0")
    assert e.selection.tolist() == first and len(first) >= 2
    assert (e.images[first[0]] == e.images[first[1]]).all()  # the copies, next to each other
    e.show_group("exact_duplicates#1")
    assert e.selection.tolist() == sorted(i for _, i in dup.evidence["groups"][1])
    import pytest

    with pytest.raises(ValueError, match="group name"):
        e.show_group('x" or label > 0 or "')


def test_a_frame_with_its_pictures() -> None:
    frame = pd.DataFrame({"label": [0, 1, 2], "note": ["<b>x</b>", "", ""]})
    pics = torch.linspace(0, 1, 3 * 8 * 8).reshape(3, 1, 8, 8)  # channels first, one scale for all
    ex = rw.explore(frame, "label", images=pics, chart=False)
    assert ex.images.shape == (3, 8, 8) and ex.images.dtype == np.uint8
    assert ex.images[0].max() < ex.images[2].min()  # a dark image stays dark
    assert ex._grid.value.count("class='rw-card'") == 3 and "&lt;b&gt;x&lt;/b&gt;" in ex._grid.value
    assert ex.human_baseline(n=2).images is ex.images
    with pytest.raises(ValueError, match="2 images for 3 rows"):
        rw.explore(frame, images=pics[:2])
    with pytest.raises(ValueError, match=r"must be \(N, H, W\)"):
        rw.explore(frame, images=np.zeros((3, 5)))
    with pytest.raises(ValueError, match="goes with a DataFrame"):
        rw.explore(pics, images=pics)


def _flagged_explorer(**kwargs):
    from recipe_widgets.engine import Finding, Report
    from recipe_widgets.widgets._explore import explore

    x = torch.zeros(12, 1, 8, 8)
    x[3] = 5.0
    x[5] = x[6] = 1.0
    report = Report(
        (
            Finding("outliers", "warn", "item 3 is far brighter", evidence={"indices": [3]}),
            Finding(
                "exact_duplicates",
                "warn",
                "1 group of exact copies",
                evidence={"indices": [5, 6], "groups": [[5, 6]]},
            ),
        )
    )
    return explore((x, torch.arange(12) % 2), report=report, **kwargs)


def test_cards_show_flags_and_group_with_the_finding_message_on_hover() -> None:
    import re

    e = _flagged_explorer(chart=False)
    cards = re.findall(r"<div class='rw-card[^']*'.*?</div></div>", e._grid.value, re.S)
    flagged = [c for c in cards if "rw-flagged" in c]
    assert len(flagged) == 3  # items 3, 5 and 6: the card itself says it was flagged
    card3 = next(c for c in cards if "data-row='3'" in c)
    assert "why (outliers): item 3 is far brighter" in card3  # the card's hover
    assert "title='outliers: item 3 is far brighter'" in card3  # the tag's hover
    card5 = next(c for c in cards if "data-row='5'" in c)
    assert ">exact_duplicates#0</span>" in card5 and "1 group of exact copies" in card5
    plain = next(c for c in cards if "data-row='0'" in c)
    assert "rw-flag" not in plain and "why" not in plain
    # a table (no images) tags the same way
    table = Explorer(e.frame, chart=False, reasons=e.reasons)._grid.value
    assert "title='outliers: item 3 is far brighter'" in table


def _bar_rows(bars: dict) -> list[dict]:
    """The bars as rows: start / end (numeric) or category, count, matching."""
    if bars["numeric"]:
        edges = bars["edges"]
        return [
            {"start": a, "end": b, "count": c, "matching": m}
            for a, b, c, m in zip(edges[:-1], edges[1:], bars["counts"], bars["matching"])
        ]
    return [
        {"category": k, "count": c, "matching": m}
        for k, c, m in zip(bars["labels"], bars["counts"], bars["matching"])
    ]


def test_histogram_shows_matching_over_all_and_a_click_selects_a_bin(frame) -> None:
    e = Explorer(frame)
    e.axis = "brightness"
    rows = _bar_rows(e._chart.bars)
    assert [r["matching"] for r in rows] == [r["count"] for r in rows]  # nothing filtered yet
    assert e._chart.bars["y_title"] == "matching / all items"
    e.expr = "label == 0"
    rows = _bar_rows(e._chart.bars)
    assert sum(r["count"] for r in rows) == 60 and sum(r["matching"] for r in rows) == 20
    drawn = e._chart.bars
    e._chart.brush = [0.5, 0.7]
    assert e._chart.bars is drawn  # brushing does not rebuild (and so reset) its own chart
    # a click on a bar: the front end sends that bar's bin as the brush
    bar = next(r for r in rows if r["matching"] > 0)
    e._chart.brush = [bar["start"], bar["end"]]
    assert e.brush == (bar["start"], bar["end"])
    got = frame["brightness"].iloc[e.selection]
    assert len(got) and got.between(bar["start"], bar["end"]).all()
    assert (frame["label"].iloc[e.selection] == 0).all()


def test_flags_histogram_labels_unflagged_items_none_and_picking_it_works() -> None:
    e = _flagged_explorer()
    e.axis = "flags"
    rows = _bar_rows(e._chart.bars)
    assert {r["category"] for r in rows} == {"(none)", "outliers", "exact_duplicates"}
    assert "" not in {r["category"] for r in rows}
    e._chart.picked = ["(none)"]
    assert e.picked == ("",) and len(e.selection) == 9
    assert e._chart.picked == ["(none)"]  # drawn as the bar it came from


def test_search_runs_as_you_type_once_typing_pauses(frame) -> None:
    import asyncio
    import concurrent.futures

    from recipe_widgets.widgets import _explore as _explorer

    e = Explorer(frame, chart=False)

    async def type_keys() -> tuple[str, str, int]:
        for text in ("i", "it", "item 1"):
            e._search.value = text  # what each key does in the browser (continuous_update)
        during = e.search, e._status.value
        await asyncio.sleep(_explorer.SEARCH_DELAY + 0.2)
        return during[0], during[1], len(e.selection)

    # A fresh event loop in its own thread, as a kernel's: the test session may hold one already
    # (Playwright's, when the browser tests run in the same session).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        search_during, status_during, n_after = pool.submit(asyncio.run, type_keys()).result()
    assert search_during == "" and "searching" in status_during  # no stale results shown as final
    assert e.search == "item 1" and n_after == 11  # item 1, item 10..19 (item 7 is HOSTILE)
    e.search = "item 2"  # set from code: applies at once and shows in the box
    assert e._search.value == "item 2" and len(e.selection) == 11


def test_filter_placeholder_is_built_from_the_real_columns(frame) -> None:
    from recipe_widgets.widgets._explore import example_filter

    e = Explorer(frame, chart=False)
    hint = e._expr.placeholder
    assert hint.startswith("label == 0 and brightness > ")
    only = pd.DataFrame({"petal_len": [1.0, 2.0, 3.0], "species": ["a", "b", "c"]})
    assert example_filter(only) == "petal_len > 2"
    from recipe_widgets.engine.explore import filter_mask

    assert filter_mask(frame, hint.removesuffix("  (Enter)")).any()  # the hint parses and matches


def test_the_current_selection_exports_as_code_that_reproduces_it(frame) -> None:
    e = Explorer(frame)
    e.axis = "brightness"
    e.expr = "label == 1"
    e.brush = (0.2, 0.8)
    e.sort_by, e.descending = "brightness", True
    code = e.to_code("e2")
    assert "query(" not in code and "e2.expr = 'label == 1'" in code
    again = Explorer(frame)
    namespace: dict = {"e2": again}
    exec(code, namespace)  # a script pastes it under its own explorer
    assert again.selection.tolist() == e.selection.tolist()
    assert namespace["indices"] == e.selection.tolist()
    e._code_button.click()  # the button shows the same code in the widget
    assert e._code.layout.display == "" and e._code.value == e.to_code()
    e.expr = "label == 2"
    assert "label == 2" in e._code.value  # and keeps it current


def test_histogram_reads_on_a_light_and_a_dark_page() -> None:
    # The widget cannot know the page's theme: its module colours everything with the notebook's
    # theme variables (JupyterLab, then VS Code, then a light default), never a bare colour.
    # tests/browser/test_widgets_in_browser.py checks what they resolve to in Chromium.
    from pathlib import Path

    js = (Path(rw.__file__).parent / "static" / "explore_histogram.js").read_text()
    themed = re.findall(r'"var\(--jp-[\w-]+, var\(--vscode-[\w.-]+, #[0-9a-f]{6}\)\)"', js)
    assert len(themed) == 3
    bare = re.findall(r"#[0-9a-fA-F]{3,6}\b", js)
    assert len(bare) == len(themed), bare  # each hex is the last fallback of a theme variable


def test_first_message_is_small_and_needs_no_charting_library(frame: pd.DataFrame) -> None:
    # Everything the browser gets to draw the explorer: every widget's state, the histogram's
    # own module (_esm) included; no Vega bundle.
    import json

    e = Explorer(frame)
    sent = sum(len(json.dumps(w.get_state(), default=str)) for w in _widget_tree(e))
    assert 0 < sent < 100_000, sent
    assert 0 < len(str(e._chart.get_state()["_esm"])) < 20_000


def _widget_tree(widget) -> list:
    """A widget and every widget it holds (children, layouts, styles), each once."""
    import ipywidgets as W

    seen: dict[str, W.Widget] = {}
    todo = [widget]
    while todo:
        w = todo.pop()
        if w.model_id in seen:
            continue
        seen[w.model_id] = w
        for name in w.keys:
            value = getattr(w, name, None)
            values = value if isinstance(value, (list, tuple)) else [value]
            todo.extend(v for v in values if isinstance(v, W.Widget))
    return list(seen.values())
