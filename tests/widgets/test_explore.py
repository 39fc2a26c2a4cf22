"""The explorer widget, driven the way a person drives it: by setting its traits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import recipe_widgets as rw
from recipe_widgets.widgets._explore import Explorer

HOSTILE = '<img src=x onerror="window.__rw_pwned=1">'


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "label": np.arange(60) % 3,
            "brightness": rng.random(60),
            "caption": [HOSTILE if i == 7 else f"item {i}" for i in range(60)],
        }
    )


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
    from altair.utils.selection import IntervalSelection

    e = Explorer(frame)
    e.axis = "brightness"
    spec = e._chart.chart.to_dict()
    assert spec["params"][0]["name"] == "brush"
    # What the front end does when a person drags over the bars:
    e._chart.selections._set_value("brush", IntervalSelection("brush", {"start": [0.5, 0.7]}, []))
    assert e.brush == (0.5, 0.7)
    assert all(0.5 <= frame["brightness"].iloc[i] <= 0.7 for i in e.selection)


def test_clicking_category_bars_shows_the_items_behind_them(frame: pd.DataFrame) -> None:
    from altair.utils.selection import PointSelection

    frame = frame.assign(kind=pd.Categorical(np.where(np.arange(60) % 4 == 0, "rare", "common")))
    e = Explorer(frame)
    e.axis = "kind"
    assert e._chart.chart.to_dict()["params"][0]["name"] == "pick"
    e._chart.selections._set_value("pick", PointSelection("pick", [{"category": "rare"}], []))
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
