"""A small filter language for the explorer, parsed by our own grammar and never executed.

Text typed into a widget can be served to other people, so it must never reach ``eval``,
``DataFrame.query`` or ``pd.eval``. The grammar below only knows column names, literals,
comparisons and boolean connectives; anything else is a syntax error that names its position.

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := "(" expr ")" | NAME op value | NAME "in" "(" value ("," value)* ")"
               | NAME ("contains" | "matches") STRING
    op      := "==" | "!=" | "<" | "<=" | ">" | ">="
    value   := NUMBER | STRING | "true" | "false" | "null"

Column names are bare words (``brightness``) or back-quoted (`` `pixel mean` ``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recipe_widgets.engine.explore._regex import search_each

MAX_LENGTH = 2_000  # a filter longer than this is not typed by a person

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      |(?P<quoted>`[^`]+`)
      |(?P<op>==|!=|<=|>=|<|>|\(|\)|,)
      |(?P<word>[A-Za-z_][A-Za-z0-9_]*)""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "contains", "matches", "true", "false", "null"}


class FilterSyntaxError(ValueError):
    """A filter that does not parse; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.position = position
        pointer = text + "\n" + " " * position + "^"
        super().__init__(f"{message} at position {position}:\n{pointer}")


@dataclass(frozen=True)
class _Tok:
    kind: str  # number, string, name, op, keyword, end
    value: Any
    pos: int


def tokenize(text: str) -> list[_Tok]:
    """Split a filter into tokens; an unknown character is an error at its position."""
    if not isinstance(text, str):
        raise TypeError(f"a filter is a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FilterSyntaxError(f"filter longer than {MAX_LENGTH} characters", text[:40], 0)
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterSyntaxError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "number":
            out.append(
                _Tok("number", float(raw) if any(c in raw for c in ".eE") else int(raw), pos)
            )
        elif kind == "string":
            body = raw[1:-1]
            out.append(_Tok("string", re.sub(r"\\(.)", r"\1", body), pos))
        elif kind == "quoted":
            out.append(_Tok("name", raw[1:-1], pos))
        elif kind == "op":
            out.append(_Tok("op", raw, pos))
        elif kind == "word":
            low = raw.lower()
            out.append(_Tok("keyword", low, pos) if low in _KEYWORDS else _Tok("name", raw, pos))
        pos = m.end()
    out.append(_Tok("end", None, len(text)))
    return out


class _Parser:
    def __init__(self, text: str, frame: pd.DataFrame) -> None:
        self.text = text
        self.frame = frame
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok | None = None) -> FilterSyntaxError:
        tok = tok or self.peek()
        return FilterSyntaxError(message, self.text, tok.pos)

    def expect(self, kind: str, value: Any = None) -> _Tok:
        tok = self.peek()
        if tok.kind != kind or (value is not None and tok.value != value):
            want = repr(value) if value is not None else kind
            got = "end of filter" if tok.kind == "end" else repr(tok.value)
            raise self.error(f"expected {want}, found {got}", tok)
        return self.take()

    def is_(self, kind: str, value: Any) -> bool:
        tok = self.peek()
        return tok.kind == kind and tok.value == value

    def parse(self) -> np.ndarray:
        if self.peek().kind == "end":
            return self.everything()  # an empty filter keeps every row
        mask = self.or_()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().value!r} after a complete condition")
        return mask

    def or_(self) -> np.ndarray:
        mask = self.and_()
        while self.is_("keyword", "or"):
            self.take()
            mask = mask | self.and_()
        return mask

    def and_(self) -> np.ndarray:
        mask = self.not_()
        while self.is_("keyword", "and"):
            self.take()
            mask = mask & self.not_()
        return mask

    def not_(self) -> np.ndarray:
        if self.is_("keyword", "not"):
            self.take()
            return ~self.not_()
        return self.cmp()

    def column(self) -> pd.Series:
        tok = self.peek()
        if tok.kind != "name":
            got = "end of filter" if tok.kind == "end" else repr(tok.value)
            raise self.error(f"expected a column name, found {got}", tok)
        self.take()
        return self.lookup(tok)

    # -- what a condition becomes: a boolean mask here; a subclass may build another form ------
    def everything(self) -> Any:
        return np.ones(len(self.frame), dtype=bool)

    def lookup(self, tok: _Tok) -> Any:
        if tok.value not in self.frame.columns:
            cols = ", ".join(map(str, list(self.frame.columns)[:12]))
            raise self.error(f"no column {tok.value!r} (columns: {cols})", tok)
        col = self.frame[tok.value]
        if isinstance(col, pd.DataFrame):
            raise self.error(f"column name {tok.value!r} is not unique in this table", tok)
        return col

    def value(self) -> Any:
        tok = self.take()
        if tok.kind in ("number", "string"):
            return tok.value
        if tok.kind == "keyword" and tok.value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok.value]
        got = "end of filter" if tok.kind == "end" else repr(tok.value)
        raise self.error(
            f"expected a number, a quoted string, true, false or null, found {got}", tok
        )

    def cmp(self) -> np.ndarray:
        if self.is_("op", "("):
            self.take()
            mask = self.or_()
            self.expect("op", ")")
            return mask
        start = self.peek()
        col = self.column()
        tok = self.take()
        if tok.kind == "keyword" and tok.value == "in":
            self.expect("op", "(")
            values = [self.value()]
            while self.is_("op", ","):
                self.take()
                values.append(self.value())
            self.expect("op", ")")
            return self.isin(col, values)
        if tok.kind == "keyword" and tok.value in ("contains", "matches"):
            return self.text_match(col, tok, self.expect("string").value)
        if tok.kind != "op" or tok.value not in ("==", "!=", "<", "<=", ">", ">="):
            got = "end of filter" if tok.kind == "end" else repr(tok.value)
            raise self.error(
                f"expected a comparison (==, !=, <, <=, >, >=, in, contains, matches), found {got}",
                tok,
            )
        return self.compare(col, tok, self.value(), start)

    def isin(self, col: pd.Series, values: list[Any]) -> np.ndarray:
        return np.asarray(col.isin(values), dtype=bool)

    def text_match(self, col: pd.Series, tok: _Tok, pat: str) -> np.ndarray:
        """``contains`` (case-insensitive substring) or ``matches`` (regex search), as shown."""
        text = col.astype(str).where(col.notna(), "")
        if tok.value == "contains":
            return np.asarray(text.str.contains(pat, case=False, regex=False), dtype=bool)
        try:
            rx = re.compile(pat, re.IGNORECASE)
        except re.error as err:
            raise self.error(f"bad regular expression {pat!r}: {err}", tok) from err
        codes, distinct = pd.factorize(text)  # each distinct value searched once
        return search_each(rx.pattern, list(distinct))[codes]

    def compare(self, col: pd.Series, op: _Tok, value: Any, start: _Tok) -> np.ndarray:
        if value is None:
            if op.value not in ("==", "!="):
                raise self.error("null can only be compared with == or !=", op)
            isna = np.asarray(col.isna(), dtype=bool)
            return isna if op.value == "==" else ~isna
        try:
            with np.errstate(invalid="ignore"):
                result = {
                    "==": col.__eq__,
                    "!=": col.__ne__,
                    "<": col.__lt__,
                    "<=": col.__le__,
                    ">": col.__gt__,
                    ">=": col.__ge__,
                }[op.value](value)
        except TypeError as err:
            raise self.error(
                f"cannot compare column {start.value!r} ({col.dtype}) with {value!r}", op
            ) from err
        return np.asarray(pd.Series(result).fillna(False), dtype=bool)


def filter_mask(frame: pd.DataFrame, expression: str) -> np.ndarray:
    """Boolean mask over ``frame``'s rows for ``expression`` (see the module docstring).

    Raises :class:`FilterSyntaxError` (a ``ValueError``) naming the position of the problem.
    """
    return _Parser(expression, frame).parse()
