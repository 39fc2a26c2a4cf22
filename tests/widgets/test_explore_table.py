"""The explorer on a table read in place (Parquet through DuckDB), driven by its traits."""

from __future__ import annotations

import pandas as pd
import pytest

import recipe_widgets as rw
from recipe_widgets.widgets._explore import Explorer

pytest.importorskip("duckdb")
HOSTILE = '<img src=x onerror="window.__rw_pwned=1">'  # item 7's caption (conftest)


@pytest.fixture
def path(frame: pd.DataFrame, tmp_path) -> str:
    frame.to_parquet(tmp_path / "items.parquet")
    return str(tmp_path / "items.parquet")


def test_a_parquet_path_explores_like_the_frame(frame: pd.DataFrame, path: str) -> None:
    table, memory = rw.explore(path, page_size=10), Explorer(frame, page_size=10)
    assert "Parquet" in table.note
    for e in (table, memory):
        e.search = "item 1"
        e.sort_by = "brightness"
        e.descending = True
    assert table.selection.tolist() == memory.selection.tolist()
    assert repr(table) == repr(memory)
    table.page = 1
    assert table._grid.value.count("<tr data-row=") == 1  # 11 matches: one on page two


def test_brush_and_bars_select_as_in_memory(frame: pd.DataFrame, path: str) -> None:
    table, memory = rw.explore(path, chart=False), Explorer(frame, chart=False)
    for e in (table, memory):
        e.axis = "brightness"
        e.brush = (0.2, 0.5)
    assert table.selection.tolist() == memory.selection.tolist()
    table.axis = "caption"
    table.picked = ("item 3", "item 4")
    assert table.selection.tolist() == [3, 4]
    table.picked = ()
    table.axis = "label"
    assert table.rows_in_bar(0).tolist() == list(range(0, 60, 3))


def test_hostile_cells_are_escaped_and_errors_keep_the_selection(path: str) -> None:
    e = rw.explore(path, chart=False)
    assert HOSTILE not in e._grid.value and "&lt;img src=x" in e._grid.value
    e.expr = "label == 1"
    e.expr = "label == "
    assert "position 9" in e.error
    assert e._count == 20 and len(e.selection) == 20


def test_explore_refuses_what_a_table_cannot_take(path: str) -> None:
    with pytest.raises(ValueError, match="go with data in memory"):
        rw.explore(path, report=object())
    with pytest.raises(ValueError, match="labels= names a column"):
        rw.explore(path, labels="klass")
    with pytest.raises(TypeError, match="memory_limit"):
        rw.explore(pd.DataFrame({"a": [1]}), memory_limit="1GB")


def test_a_finding_shows_its_rows(frame: pd.DataFrame, tmp_path) -> None:
    frame = frame.assign(brightness=frame["brightness"].where(frame.index % 20 != 3))
    frame.to_parquet(tmp_path / "holes.parquet")
    path = str(tmp_path / "holes.parquet")
    report = rw.audit(path, labels="label")
    missing = next(f for f in report.findings if f.check == "missing_values")
    e = rw.explore(path, chart=False)
    e.show(missing)
    assert e.selection.tolist() == missing.evidence["indices"] == [3, 23, 43]
    e.sort_by = "label"
    assert e.selection.tolist() == [3, 43, 23]  # labels 0, 1, 2... of those rows only
    e.show(())
    assert e._count == 60


@pytest.mark.parametrize("bad", [0, -1])
def test_table_page_size_below_one_is_refused(path: str, bad: int) -> None:
    from recipe_widgets.engine.explore import table_source
    from recipe_widgets.widgets._explore import TableExplorer

    table = rw.explore(path, page_size=10, chart=False)
    with pytest.raises(ValueError, match="page_size"):
        table.page_size = bad
    table._turn(+1)
    assert table.page == 1 and "showing 11-20" in repr(table)
    with pytest.raises(ValueError, match="page_size"):
        rw.explore(path, page_size=bad)
    with pytest.raises(ValueError, match="page_size"):  # refused before DuckDB is asked
        TableExplorer(table_source(path), page_size=bad, chart=False)


def _bars(explorer) -> list[tuple[int, int]]:
    """The (every row, matching) counts the histogram sends, bar by bar."""
    bars = explorer._chart.bars
    return list(zip(bars["counts"], bars["matching"]))


def test_the_histogram_draws_filtered_bars_over_every_row_as_in_memory(
    frame: pd.DataFrame, path: str
) -> None:
    table, memory = rw.explore(path), Explorer(frame)
    for e in (table, memory):
        e.axis = "brightness"
        e.expr = "label == 1"
        e.brush = (0.2, 0.5)  # the chart's own selection: its matching bars ignore it
    full, matching = zip(*_bars(table))
    assert sum(full) == 60 and sum(matching) == 20  # both series, filtered under every row
    assert _bars(table) == _bars(memory)
    for e in (table, memory):
        e.axis = "caption"
        e.expr = ""
        e.search = "item 1"
    bars = table._chart.bars  # categories come most common first
    matching = dict(zip(bars["labels"], bars["matching"]))
    assert sum(matching.values()) == 11 and matching["item 12"] == 1  # items 1, 10-19
    assert _bars(table) == _bars(memory)


def test_in_the_background_the_page_comes_first_and_the_count_follows(
    frame: pd.DataFrame, path: str
) -> None:
    later, now = rw.explore(path), rw.explore(path)
    later.background = True
    for change in (("expr", "label == 2"), ("search", "item 2"), ("axis", "label")):
        for e in (later, now):
            setattr(e, *change)
        later.wait()
        assert later._count == now._count and _bars(later) == _bars(now)
        assert later.selection.tolist() == now.selection.tolist()
    later.expr = "label =="  # bad input: said, the last good answer kept
    later.wait()
    assert "position" in later.error and later._count == now._count


def test_a_newer_change_interrupts_the_count_it_supersedes() -> None:
    import time

    import duckdb

    from recipe_widgets.engine.explore import ROW, DuckSource
    from recipe_widgets.widgets._explore import TableExplorer

    con = duckdb.connect()
    # 300 million md5 hashes: a count over them takes minutes; the page (LIMIT 24) does not.
    con.execute(
        f"CREATE VIEW big AS SELECT i AS {ROW}, md5(CAST(i AS VARCHAR)) AS t "
        "FROM range(300000000) r(i)"
    )
    e = TableExplorer(DuckSource(con, "big", "300M hashes", ordered=True), chart=False)
    e.background = True
    e.search = "abc"
    assert e._count is None and "counting" in e._status.value
    assert e._grid.value.count("<tr data-row=") == 24
    t0 = time.perf_counter()
    e.search = ""  # supersedes the count still running: interrupted, not waited for
    e.wait()
    assert time.perf_counter() - t0 < 20
    assert e._count == 300_000_000 and not e.error


def test_a_large_frame_is_queried_by_duckdb_in_place() -> None:
    import numpy as np

    from recipe_widgets.widgets._explore import LARGE_FRAME, TableExplorer

    n = LARGE_FRAME
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.normal(size=n), "label": np.arange(n) % 5, "text": np.arange(n).astype(str)},
        index=pd.RangeIndex(10, n + 10),  # the frame's own index, kept by selected_frame
    )
    small = rw.explore(frame.iloc[: n - 1], labels="label", chart=False)
    assert type(small) is Explorer
    big = rw.explore(frame, labels="label", chart=False)
    assert isinstance(big, TableExplorer) and "DuckDB" in big.note
    for e in (big, small):
        e.expr = "x > 2 and label in (1, 3)"
        e.sort_by = "x"
        e.descending = True
    assert big.selection[:50].tolist() == small.selection[:50].tolist()
    assert big.selected_frame(3).equals(frame.iloc[big.selection[:3]])
    assert big.human_baseline(n=4).classes == ["0", "1", "2", "3", "4"]


def test_a_switched_frame_keeps_flags_groups_and_code(monkeypatch) -> None:
    from recipe_widgets.engine import Finding, Report
    from recipe_widgets.widgets import _explore
    from recipe_widgets.widgets._explore import TableExplorer

    monkeypatch.setattr(_explore, "LARGE_FRAME", 10)  # the switch, on a frame small to read
    frame = pd.DataFrame({"v": [float(i) for i in range(12)], "label": [i % 2 for i in range(12)]})
    report = Report(
        (
            Finding("outliers", "warn", "item 3 is far out", evidence={"indices": [3]}),
            Finding(
                "exact_duplicates",
                "warn",
                "1 group of exact copies",
                evidence={"indices": [5, 6], "groups": [[5, 6]]},
            ),
        )
    )
    e = rw.explore(frame, "label", report=report, chart=False)
    assert isinstance(e, TableExplorer)
    e.search = "outliers"
    assert e.selection.tolist() == [3]
    assert "outliers: item 3 is far out" in e._grid.value  # the flag's hover says why
    e.show_group("exact_duplicates#0")
    assert e.selection.tolist() == [5, 6]
    again = rw.explore(frame, "label", report=report, chart=False)
    exec(e.to_code("again"), {"again": again})  # the code sets the same query on a new one
    assert again.selection.tolist() == [5, 6]
    import torch

    images = rw.explore(torch.zeros(12, 1, 4, 4), torch.arange(12) % 2, chart=False)
    assert type(images) is Explorer  # thumbnails are drawn in memory only
