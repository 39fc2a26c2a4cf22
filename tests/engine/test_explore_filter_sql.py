"""The filter grammar on the DuckDB path: the same rows as in memory, and no text reaches SQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recipe_widgets.engine.explore import Query, table_source
from recipe_widgets.engine.explore._filter_expr import FilterSyntaxError, filter_mask

duckdb = pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
from recipe_widgets.engine.explore import compile_filter  # noqa: E402

KINDS = {"label": "number", "name": "text", "brightness": "float"}


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "brightness": [0.1, 0.6, 0.9, np.nan, np.inf],
            "label": [1, 2, 3, 3, 2],
            "name": ["cat", "Dog", "<img src=x>", None, "x'); DROP TABLE t; --"],
            'we"ird col': [1.0, 2.0, 3.0, 4.0, 5.0],
            "flag": [True, False, True, None, False],
        }
    )


@pytest.mark.parametrize(
    "expr",
    [
        "brightness > 0.5",
        "brightness <= 0.9",
        "brightness != 0.6",
        "not brightness < 1",
        "label in (1, 2, null)",
        "not label in (1, 2)",
        "label == 1 or (label == 3 and brightness <= 1)",
        "name contains 'do'",
        "name contains ''",
        "name matches '^<img'",
        "not name matches 'c.t'",
        "name == null",
        "name != 'cat'",
        "name == 3",
        "label != 'three'",
        '`we"ird col` >= 3',
        "flag == true",
        "flag != true",
        "flag == 1",
        "label != 3 AND NOT name == 'cat'",
        "",
    ],
)
def test_same_rows_as_in_memory(frame: pd.DataFrame, expr: str) -> None:
    duck = table_source(pa.Table.from_pandas(frame, preserve_index=False))
    expected = np.flatnonzero(filter_mask(frame, expr)).tolist()
    assert duck.row_ids(Query(expr=expr), 100).tolist() == expected


def test_values_are_bound_never_pasted() -> None:
    sql = compile_filter("name == \"x'); DROP TABLE t; --\" and label in (1, 'a')", KINDS)
    assert "DROP" not in sql.text and "'a'" not in sql.text
    assert "x'); DROP TABLE t; --" in sql.params
    assert sql.text.count("?") == len(sql.params)


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('touch /tmp/rw_pwned')",
        "label == 1; DROP TABLE t",
        "label == 1 -- comment",
        "label == 1 /* x */",
        '`label" = 1 OR "1` == 1',
        "`name`) OR (1 == 1",
        "label == 1 UNION SELECT 1",
        "read_csv('/etc/passwd') == 1",
        "label == [].__class__",
    ],
)
def test_hostile_text_is_refused_and_runs_nothing(frame: pd.DataFrame, hostile: str) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    duck = table_source(pa.Table.from_pandas(frame, preserve_index=False), con=con)
    with pytest.raises(ValueError):
        duck.count(Query(expr=hostile))
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_hostile_values_and_searches_are_just_text(frame: pd.DataFrame) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    duck = table_source(pa.Table.from_pandas(frame, preserve_index=False), con=con)
    assert duck.row_ids(Query(expr='name == "x\'); DROP TABLE t; --"'), 9).tolist() == [4]
    assert duck.row_ids(Query(search="'); DROP TABLE t; --"), 9).tolist() == [4]
    assert duck.row_ids(Query(search="'.*", regex=True), 9).tolist() == [4]
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_errors_name_the_position_as_in_memory(frame: pd.DataFrame) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter("label == 3 and", KINDS)
    assert info.value.position == 14
    with pytest.raises(FilterSyntaxError, match="no column 'size'"):
        compile_filter("size > 1", KINDS)
    with pytest.raises(FilterSyntaxError, match="cannot compare column 'name'"):
        compile_filter("name > 3", KINDS)
    with pytest.raises(FilterSyntaxError, match="null can only be compared"):
        compile_filter("label < null", KINDS)
