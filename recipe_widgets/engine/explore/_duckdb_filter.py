"""The explorer's filter grammar compiled to a DuckDB ``WHERE`` clause with bound parameters.

The same parser as the in-memory path (``_filter_expr``) reads the text; only what each
condition becomes differs. Nothing a person typed is ever pasted into SQL: a value becomes a
``?`` parameter, and a column name is accepted only when it is one of the table's columns, then
written as a quoted identifier. The results match the in-memory path row for row: a missing
value (NULL or NaN) is never ``<``, ``>`` or ``==`` a value and always ``!=`` it; ``contains`` and
``matches`` look at the value as text, a missing one as the empty string; ``matches`` runs
DuckDB's RE2, which has no catastrophic backtracking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from recipe_widgets.engine.explore._filter_expr import _Parser, _Tok

# What a column holds, as far as a comparison cares (from DuckDB's type names).
_FLOAT = ("FLOAT", "DOUBLE", "REAL")
_NUMBER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL", "UTINYINT")
_NUMBER += ("USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", *_FLOAT)
_TIME = ("DATE", "TIME", "TIMESTAMP", "INTERVAL")


def kind_of(duck_type: str) -> str:
    """``float``, ``number``, ``bool``, ``text``, ``time`` or ``other`` for a DuckDB type name."""
    t = duck_type.upper()
    if t.startswith(_FLOAT):
        return "float"
    if t.startswith(_NUMBER):
        return "number"
    if t == "BOOLEAN":
        return "bool"
    if t.startswith(("VARCHAR", "ENUM")):
        return "text"
    if t.startswith(_TIME):
        return "time"
    return "other"


def quote(name: str) -> str:
    """A column name as a SQL identifier, inner quotes doubled; only given a real column's name."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Sql:
    """A condition: SQL text with ``?`` placeholders and the values bound to them, in order."""

    text: str
    params: tuple[Any, ...] = ()

    def __and__(self, other: Sql) -> Sql:
        return Sql(f"({self.text}) AND ({other.text})", self.params + other.params)

    def __or__(self, other: Sql) -> Sql:
        return Sql(f"({self.text}) OR ({other.text})", self.params + other.params)

    def __invert__(self) -> Sql:
        return Sql(f"NOT ({self.text})", self.params)


TRUE, FALSE = Sql("TRUE"), Sql("FALSE")


@dataclass(frozen=True)
class Col:
    name: str
    kind: str

    @property
    def sql(self) -> str:
        return quote(self.name)

    def missing(self) -> str:
        """SQL that is true where the value is missing: NULL, or NaN in a float column."""
        return (
            f"({self.sql} IS NULL OR isnan({self.sql}))"
            if self.kind == "float"
            else (f"({self.sql} IS NULL)")
        )

    def as_text(self) -> str:
        return f"coalesce(CAST({self.sql} AS VARCHAR), '')"


def definite(cond: Sql) -> Sql:
    """``cond`` with NULL read as false, so that ``not`` keeps the rows pandas keeps (SQL's
    ``NOT NULL`` is NULL, which would drop a missing value from both a condition and its negation).
    """
    return Sql(f"coalesce({cond.text}, FALSE)", cond.params)


def all_of(conditions: list[Sql]) -> Sql:
    out = TRUE
    for c in conditions:
        out = c if out is TRUE else out & c
    return out


def any_of(conditions: list[Sql]) -> Sql:
    out = FALSE
    for c in conditions:
        out = c if out is FALSE else out | c
    return out


def text_condition(col: Col, op: str, pattern: str) -> Sql:
    """``contains`` (case-insensitive substring) or ``matches`` (RE2 search, ignoring case)."""
    if op == "contains":
        return Sql(f"contains(lower({col.as_text()}), lower(?))", (pattern,))
    return Sql(f"regexp_matches({col.as_text()}, ?, 'i')", (pattern,))


class _SqlParser(_Parser):
    def __init__(
        self, text: str, kinds: Mapping[str, str], check_regex: Callable[[str], None] | None
    ) -> None:
        super().__init__(text, None)  # type: ignore[arg-type]  # no frame: the kinds stand in
        self.kinds = kinds
        self.check_regex = check_regex

    def everything(self) -> Sql:
        return TRUE

    def lookup(self, tok: _Tok) -> Col:
        if tok.value not in self.kinds:
            cols = ", ".join(list(self.kinds)[:12])
            raise self.error(f"no column {tok.value!r} (columns: {cols})", tok)
        return Col(tok.value, self.kinds[tok.value])

    def isin(self, col: Col, values: list[Any]) -> Sql:
        present = [v for v in values if v is not None and _comparable(col.kind, v)]
        parts = [Sql(f"{col.sql} = ?", (v,)) for v in present]
        if any(v is None for v in values):
            parts.append(Sql(col.missing()))
        return definite(any_of(parts))

    def text_match(self, col: Col, tok: _Tok, pat: str) -> Sql:
        if tok.value == "matches" and self.check_regex is not None:
            try:
                self.check_regex(pat)
            except ValueError as err:
                raise self.error(f"bad regular expression {pat!r}: {err}", tok) from None
        return definite(text_condition(col, tok.value, pat))

    def compare(self, col: Col, op: _Tok, value: Any, start: _Tok) -> Sql:
        if value is None:
            if op.value not in ("==", "!="):
                raise self.error("null can only be compared with == or !=", op)
            return Sql(col.missing()) if op.value == "==" else ~Sql(col.missing())
        if not _comparable(col.kind, value):
            if op.value in ("==", "!="):  # a number is never equal to a word
                return FALSE if op.value == "==" else TRUE
            raise self.error(
                f"cannot compare column {start.value!r} ({col.kind}) with {value!r}", op
            )
        lhs = f"CAST({col.sql} AS DOUBLE)" if col.kind == "bool" else col.sql
        if op.value == "!=":
            return definite(~Sql(f"{lhs} = ?", (value,))) | Sql(col.missing())
        sql = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[op.value]
        cond = Sql(f"{lhs} {sql} ?", (value,))
        # DuckDB orders NaN above every number; the in-memory path never lets NaN compare.
        return definite(cond & ~Sql(col.missing()) if col.kind == "float" else cond)


def _comparable(kind: str, value: Any) -> bool:
    if kind in ("float", "number", "bool"):
        return isinstance(value, (int, float))  # bool is an int: True == 1, as in pandas
    if kind in ("text", "time"):
        return isinstance(value, str)  # a time as text: "2024-01-31", parsed by DuckDB
    return False


def compile_filter(
    expression: str,
    kinds: Mapping[str, str],
    *,
    check_regex: Callable[[str], None] | None = None,
) -> Sql:
    """``expression`` (the explorer's filter grammar) as a condition over columns ``kinds``.

    ``kinds`` maps each column to :func:`kind_of` its type; ``check_regex`` raises ``ValueError``
    for a pattern the engine cannot compile, so the error names its position in the filter.
    Raises ``FilterSyntaxError`` (a ``ValueError``) as the in-memory path does.
    """
    return _SqlParser(expression, kinds, check_regex).parse()
