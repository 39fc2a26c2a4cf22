"""Reading a table in place through DuckDB: one small function per kind of input.

Each returns a view name on a connection, with a ``__rw_row`` column numbering the rows
0..n-1 in the table's own order, so a finding or a clicked bar can name its rows. Nothing is
loaded into pandas; a CSV is read once into DuckDB's own storage (spilling to disk), because
parsing it again on every click would be the slow part.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

ROW = "__rw_row"


def fresh_name(prefix: str) -> str:
    return f"rw_{prefix}_{uuid.uuid4().hex[:12]}"


def parquet_files(con: Any, path: str) -> list[str]:
    """The Parquet files of a file, a glob or a folder (searched recursively), sorted."""
    if os.path.isdir(path):
        path = os.path.join(path, "**", "*.parquet")
    files = sorted(r[0] for r in con.execute("SELECT file FROM glob(?)", [path]).fetchall())
    if not files:
        raise FileNotFoundError(f"no Parquet file matches {path!r}")
    return files


def open_parquet(con: Any, path: str) -> tuple[str, str]:
    files = parquet_files(con, path)
    rel = con.read_parquet(files, file_row_number=True)
    # A row's number is its file's first row (files in sorted order) plus its row in the file.
    starts = [0]
    if len(files) > 1:
        sizes = dict(
            con.execute(
                "SELECT file_name, num_rows FROM parquet_file_metadata(?)", [files]
            ).fetchall()
        )
        for f in files[:-1]:
            starts.append(starts[-1] + int(sizes[f]))
    first = f"{starts}[CAST(file_index AS BIGINT) + 1] + " if len(files) > 1 else ""  # ours
    rel = rel.project(f"* EXCLUDE (file_row_number), {first}file_row_number AS {ROW}")
    view = fresh_name("parquet")
    rel.create_view(view)
    return (
        view,
        f"{len(files)} Parquet file{'s' if len(files) > 1 else ''} at {path}, read in place",
    )


def open_csv(con: Any, path: str) -> tuple[str, str]:
    table = fresh_name("csv")
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT * FROM read_csv(?)", [path])
    view = fresh_name("csv_view")
    con.execute(f"CREATE TEMP VIEW {view} AS SELECT *, rowid AS {ROW} FROM {table}")
    return view, f"CSV {path}, read once into DuckDB"


def open_arrow_table(con: Any, table: Any) -> tuple[str, str]:
    import numpy as np
    import pyarrow as pa

    # A numbering column costs 8 bytes a row and no copy of the table's own columns.
    numbered = table.append_column(ROW, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    view = fresh_name("arrow")
    con.register(view, numbered)
    return view, f"an Arrow table of {table.num_rows} rows, scanned in place"


def open_polars(con: Any, frame: Any) -> tuple[str, str]:
    view = fresh_name("polars")
    con.register(view, frame.with_row_index(ROW))
    lazy = type(frame).__name__ == "LazyFrame"
    return view, "a Polars LazyFrame, scanned by DuckDB" if lazy else "a Polars DataFrame"


def open_scan(con: Any, data: Any, what: str) -> tuple[str, str]:
    """Anything DuckDB scans without a numbering of its own (an Arrow Dataset, a pandas frame):
    rows are numbered in scan order, which DuckDB keeps (``preserve_insertion_order``)."""
    source = fresh_name("scan")
    con.register(source, data)
    view = fresh_name("scan_view")
    con.execute(
        f"CREATE TEMP VIEW {view} AS SELECT *, row_number() OVER () - 1 AS {ROW} FROM {source}"
    )
    return view, what


def open_pandas(con: Any, frame: Any) -> tuple[str, str]:
    """A pandas frame scanned in place, numbered by a column of its own: pandas copies no
    column for it (copy-on-write), and a scan yields rows in order, so a page needs no sort."""
    import numpy as np

    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names) or ROW in names:
        raise ValueError(f"data= needs distinct column names (not {ROW!r}) to be queried by DuckDB")
    numbered = frame.set_axis(names, axis=1).assign(**{ROW: np.arange(len(frame), dtype=np.int64)})
    view = fresh_name("pandas")
    con.register(view, numbered)
    return view, f"a pandas frame of {len(frame)} rows, scanned by DuckDB"


def open_relation(con: Any, rel: Any) -> tuple[str, str]:
    source = fresh_name("rel")
    rel.create_view(source)  # on the relation's own connection: `con` must be that one
    view = fresh_name("rel_view")
    try:
        con.execute(
            f"CREATE TEMP VIEW {view} AS SELECT *, row_number() OVER () - 1 AS {ROW} FROM {source}"
        )
    except Exception as err:  # noqa: BLE001 - DuckDB's own error types vary by version
        raise ValueError(
            "this DuckDB relation belongs to another connection: pass con= the connection it "
            f"was made on, e.g. rw.explore(rel, con=con) ({err})"
        ) from None
    return view, "a DuckDB relation"


def is_csv(path: str) -> bool:
    return path.lower().endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz"))


def open_any(con: Any, data: Any) -> tuple[str, str, bool]:
    """A view over ``data``, a sentence saying how it is read, and whether a scan of the view
    yields rows in row-id order (then a page needs no sort: DuckDB stops at the page's end)."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if is_csv(path):
            if not Path(path).exists():
                raise FileNotFoundError(f"no CSV file at {path!r}")
            return (*open_csv(con, path), True)
        return (*open_parquet(con, path), True)
    kind = f"{type(data).__module__.split('.')[0]}.{type(data).__name__}"
    if kind in ("duckdb.DuckDBPyRelation", "_duckdb.DuckDBPyRelation"):
        return (*open_relation(con, data), False)
    if kind == "pyarrow.Table":
        return (*open_arrow_table(con, data), True)
    if kind in ("polars.DataFrame", "polars.LazyFrame"):
        return (*open_polars(con, data), True)
    if kind.startswith("pyarrow.") and "Dataset" in kind:
        return (*open_scan(con, data, "an Arrow Dataset, scanned in place"), False)
    if kind == "pandas.DataFrame":
        return (*open_pandas(con, data), True)
    raise TypeError(
        f"cannot read a table from {type(data).__name__}: pass a Parquet file, glob or folder, a "
        "CSV path, a DuckDB relation, a pyarrow Table or Dataset, or a polars (Lazy)Frame"
    )
