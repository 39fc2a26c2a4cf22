"""The table-source interface: the in-memory answer and DuckDB's agree, on every kind of input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from recipe_widgets.engine.explore import FrameSource, Query, table_source
from recipe_widgets.engine.explore import _queries as ex

duckdb = pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyarrow.parquet")
pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 500
    value = rng.normal(size=n)
    value[[3, 40, 41]] = np.nan
    return pd.DataFrame(
        {
            "value": value,
            "count": rng.integers(0, 50, n),
            "kind": rng.choice(["cat", "dog", "bird"], n),
            "caption": [f"Item {i} {'tabby' if i % 7 == 0 else 'plain'}" for i in range(n)],
        }
    )


def _parquet_file(frame, tmp):
    path = tmp / "t.parquet"
    frame.to_parquet(path)
    return str(path)


def _parquet_folder(frame, tmp):
    # Three files of unequal size: row ids must run on across them in file order.
    for k, (a, b) in enumerate(((0, 120), (120, 121), (121, len(frame)))):
        frame.iloc[a:b].to_parquet(tmp / f"part-{k}.parquet")
    return str(tmp)


def _csv(frame, tmp):
    path = tmp / "t.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _arrow_dataset(frame, tmp):
    import pyarrow.dataset as ds

    return ds.dataset(_parquet_file(frame, tmp))


def _relation(frame, tmp):
    return duckdb.sql(f"SELECT * FROM read_parquet('{_parquet_file(frame, tmp)}')")


BACKENDS = {
    "parquet file": _parquet_file,
    "parquet folder": _parquet_folder,
    "csv": _csv,
    "arrow table": lambda f, tmp: pa.Table.from_pandas(f, preserve_index=False),
    "arrow dataset": _arrow_dataset,
    "polars frame": lambda f, tmp: pl.from_pandas(f),
    "polars lazy": lambda f, tmp: pl.from_pandas(f).lazy(),
    "duckdb relation": _relation,
}

QUERIES = [
    Query(),
    Query(search="tabby"),
    Query(search="ITEM 1", sort_by="value", descending=True),
    Query(search=r"item \d+5 ", regex=True),
    Query(expr="value > 0.5 and kind in ('cat', 'dog')"),
    Query(expr="not value > 0 or count <= 3", sort_by="count"),
    Query(expr="value == null or caption matches 'tab+y$'", sort_by="kind"),
    Query(expr="kind != 'cat' and caption contains 'plain'", sort_by="caption", descending=True),
    Query(ranges=(("value", -0.5, 0.25),), picked=(("kind", ("bird",)),)),
    Query(rows=(499, 3, 40, 41, 7, 120), sort_by="value", descending=True),
    Query(rows=(), search="tabby"),
]


@pytest.fixture(scope="module", params=list(BACKENDS))
def pair(request, frame, tmp_path_factory):
    data = BACKENDS[request.param](frame, tmp_path_factory.mktemp(request.param.replace(" ", "_")))
    return FrameSource(frame), table_source(data)


@pytest.mark.parametrize("query", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
def test_duckdb_answers_as_pandas_does(pair, query: Query) -> None:
    mem, duck = pair
    assert duck.n_rows == mem.n_rows == 500
    assert duck.count(query) == mem.count(query)
    assert duck.row_ids(query, 1000).tolist() == mem.row_ids(query, 1000).tolist()
    page_m, page_d = mem.page(query, 5, 7), duck.page(query, 5, 7)
    assert page_d.index.tolist() == page_m.index.tolist()
    assert page_d["caption"].tolist() == page_m["caption"].tolist()


def test_histograms_and_the_rows_behind_a_bar_agree(pair) -> None:
    mem, duck = pair
    query = Query(expr="count > 10")
    for column in ("value", "count", "kind"):
        hm, hd = mem.histogram(column, query), duck.histogram(column, query)
        assert hd.counts == hm.counts and hd.missing == hm.missing
        assert hd.categories == hm.categories
        np.testing.assert_allclose(hd.edges, hm.edges)
        fullest = int(np.argmax(hd.counts))
        got = duck.bar_rows(hd, fullest, query, 10_000).tolist()
        assert got == sorted(mem.bar_rows(hm, fullest, query, 10_000).tolist())
        assert len(got) == hd.counts[fullest]


def test_axes_put_numbers_first(pair) -> None:
    mem, duck = pair
    assert duck.axes()[:2] == mem.axes()[:2] == ["value", "count"]
    assert set(duck.axes()) == set(mem.axes())


def test_bad_input_is_a_value_error_naming_the_problem(tmp_path, frame) -> None:
    duck = table_source(_parquet_file(frame, tmp_path))
    with pytest.raises(ValueError, match="not a valid regular expression"):
        duck.count(Query(search="(", regex=True))
    with pytest.raises(ValueError, match="bad regular expression"):
        duck.count(Query(expr="caption matches '('"))
    with pytest.raises(KeyError, match="no column 'size'"):
        duck.histogram("size", Query())
    with pytest.raises(TypeError, match="cannot read a table from dict"):
        table_source({"a": [1]}, con=None)
    with pytest.raises(FileNotFoundError):
        table_source(str(tmp_path / "nothing-*.parquet"))


def test_matches_uses_re2_no_catastrophic_backtracking(tmp_path) -> None:
    # (a+)+$ on 'aaaa…b' takes exponential time in a backtracking engine; RE2 is linear.
    text = pa.table({"s": ["a" * 40 + "b", "a" * 40]})
    duck = table_source(text)
    assert duck.row_ids(Query(expr="s matches '(a+)+$'"), 10).tolist() == [1]


def test_a_relation_from_another_connection_needs_its_connection(tmp_path) -> None:
    con = duckdb.connect()
    rel = con.sql("SELECT range AS x FROM range(10)")
    with pytest.raises(ValueError, match="pass con="):
        table_source(rel)
    assert table_source(rel, con=con).count(Query(expr="x >= 7")) == 3


def test_importing_the_package_does_not_import_duckdb() -> None:
    # pyarrow is not asked about: pandas 3 imports it for its string dtype.
    code = "import json, sys, recipe_widgets as rw; rw.explore; rw.audit; print(json.dumps([*sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(json.loads(out.stdout))
    assert not {"duckdb", "polars"} & loaded


def test_frame_source_is_the_in_memory_explorer(frame) -> None:
    mem = FrameSource(frame)
    query = Query(expr="count > 40", sort_by="value")
    rows = np.flatnonzero(frame["count"].to_numpy() > 40)
    assert mem.row_ids(query, 1000).tolist() == ex.order(frame, rows, "value").tolist()


def test_an_unsorted_page_is_in_row_order_across_row_groups_and_threads(tmp_path) -> None:
    # A page without a sort has no ORDER BY (the scan stops at its end): DuckDB must still hand
    # the rows back in file order when many threads read many row groups.
    n = 300_000
    pa.parquet.write_table(
        pa.table({"v": np.arange(n) * 2}), tmp_path / "t.parquet", row_group_size=7_000
    )
    duck = table_source(str(tmp_path / "t.parquet"))
    duck.con.execute("SET threads = 4")
    page = duck.page(Query(expr="v >= 10"), 250_000, 24)
    assert page.index.tolist() == list(range(250_005, 250_029))
    assert page["v"].tolist() == [2 * i for i in range(250_005, 250_029)]


def test_filtered_bars_are_binned_as_the_bars_of_every_row(pair) -> None:
    mem, duck = pair
    query = Query(expr="count > 10", search="plain")
    for column in ("value", "count", "kind"):
        full_m, full_d = mem.histogram(column, Query()), duck.histogram(column, Query())
        # every row: ends from the Parquet footers where they hold them, the same bars
        assert full_d.counts == full_m.counts and full_d.missing == full_m.missing
        np.testing.assert_allclose(full_d.edges, full_m.edges)
        got_m, got_d = mem.bar_counts(full_m, query), duck.bar_counts(full_d, query)
        assert got_d.tolist() == got_m.tolist()
        assert 0 < got_d.sum() < sum(full_d.counts)  # a real subset, in the full bars' bins
        assert (got_d <= np.asarray(full_d.counts)).all()
    assert duck.bar_counts(full_d, Query()).tolist() == list(full_d.counts)


def test_the_ends_of_every_rows_bars_come_from_the_parquet_footers(tmp_path, frame) -> None:
    duck = table_source(_parquet_file(frame, tmp_path))
    assert duck._stats_span(duck.col("count")) == (frame["count"].min(), frame["count"].max())
    assert table_source(_csv(frame, tmp_path))._stats_span(duck.col("count")) is None


def test_a_findings_rows_come_in_row_order_across_row_groups(tmp_path) -> None:
    # DuckDB skips row groups by row number for a list of ids and once answered out of order.
    path = tmp_path / "long.parquet"
    duckdb.sql(f"COPY (SELECT i AS v FROM range(2000000) t(i)) TO '{path}' (FORMAT parquet)")
    ids = (300001, 300002, 8, 9, 899987, 899988, 599994, 1199980, 1499973, 1799966)
    source = table_source(str(path))
    assert source.page(Query(rows=ids), 0, 100).index.tolist() == sorted(ids)
    assert source.row_ids(Query(rows=ids), 100).tolist() == sorted(ids)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("column", ["value", "count"])
def test_a_sorted_page_narrowed_by_the_bars_is_the_same_page(
    tmp_path, frame, column: str, descending: bool
) -> None:
    """Once a numeric column's bars of every row are counted, a sort by it reads only the
    values its first bars hold: the same pages, ties (count) in row order and NaN (value)
    last, at offsets inside the first bars, across them, and past the last finite value."""
    mem, duck = FrameSource(frame), table_source(_parquet_file(frame, tmp_path))
    query = Query(sort_by=column, descending=descending)
    duck.histogram(column, Query())  # the bars of every row, as the explorer counts them
    assert duck._sorted_range(query, duck.where(query), 12) is not None  # narrowed
    for offset, limit in ((0, 12), (5, 7), (40, 30), (150, 40), (480, 20), (495, 10)):
        got, want = duck.page(query, offset, limit), mem.page(query, offset, limit)
        assert got.index.tolist() == want.index.tolist(), (offset, limit)
