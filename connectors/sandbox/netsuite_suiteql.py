"""A small SuiteQL interpreter for the NetSuite emulator (the subset our connector and tests use).

Grammar (keywords and identifiers are case-insensitive; column names are lower-case)::

    query    := SELECT items FROM table [WHERE expr] [GROUP BY column {, column}] [ORDER BY key {, key}]
    items    := '*' | item {, item}
    item     := column [[AS] alias] | TO_CHAR(column, 'fmt') [[AS] alias] | BUILTIN.DF(column) [[AS] alias]
              | COUNT(*) [[AS] alias] | SUM(column) [[AS] alias]
                (aggregates: without GROUP BY alone in the select list, one row over all matching rows; with
                 GROUP BY one row per group, beside the grouped columns -- other columns are refused, as Oracle
                 refuses them. SUM adds numbers exactly, skips NULLs, and is NULL for a group of NULLs.)
    key      := column [ASC | DESC]
    expr     := conj {OR conj};  conj := neg {AND neg};  neg := [NOT] atom
    atom     := '(' expr ')' | value op value | value IS [NOT] NULL | value [NOT] IN (value {, value})
    op       := = | <> | != | < | <= | > | >=
    value    := column | 'string' | number | TO_DATE('text', 'fmt') | TO_TIMESTAMP('text', 'fmt')

Date formats understand YYYY, MM, DD, HH24, MI, SS and "quoted" literal text. BUILTIN.DF gives a column's display
value (a reference's record name) through the `display` function the caller passes to `run`. Anything else raises
`SuiteQLError`, which the emulator answers the way NetSuite does (400 INVALID_PARAMETER on `q`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Row = dict[str, Any]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op><>|!=|<=|>=|[=<>(),*])|(?P<word>[A-Za-z_][\w.]*))"
)
_FORMAT_PARTS = [("YYYY", "%Y"), ("HH24", "%H"), ("MM", "%m"), ("DD", "%d"), ("MI", "%M"), ("SS", "%S")]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class SuiteQLError(ValueError):
    """The query is outside the supported subset or refers to something that does not exist."""


@dataclass
class Query:
    """A parsed SELECT: projection, table, filter and sort."""

    table: str
    # (output name, column, TO_CHAR format, BUILTIN.DF); None = *
    columns: list[tuple[str, str, str | None, bool]] | None
    where: Callable[[Row], bool] = field(default_factory=lambda: _hinted(lambda row: True, everything=True))
    order: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    referenced: set[str] = field(default_factory=set)
    group: list[str] = field(default_factory=list)  # GROUP BY columns
    sums: dict[str, str] = field(default_factory=dict)  # output name -> column, for SUM(column) items


COUNT_ALL = "count(*)"
SUM_OF = "sum("  # the column marker of a SUM(column) item is "sum(<column>)"


@functools.lru_cache(maxsize=64)  # a query's format is applied to every row it returns
def oracle_format(fmt: str) -> str:
    """Translate an Oracle date format ('YYYY-MM-DD"T"HH24:MI:SS') into a strftime format."""
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == '"':
            end = fmt.find('"', i + 1)
            if end < 0:
                raise SuiteQLError(f"Unterminated literal in date format {fmt!r}")
            out.append(fmt[i + 1 : end].replace("%", "%%"))
            i = end + 1
            continue
        for oracle, strf in _FORMAT_PARTS:
            if fmt.upper().startswith(oracle, i):
                out.append(strf)
                i += len(oracle)
                break
        else:
            if fmt[i].isalpha():
                raise SuiteQLError(f"Unsupported date format element in {fmt!r}")
            out.append(fmt[i])
            i += 1
    return "".join(out)


def parse_date(text: str, fmt: str) -> datetime:
    """TO_DATE/TO_TIMESTAMP: read text in an Oracle format as a UTC datetime (the integration user's zone is UTC)."""
    try:
        return datetime.strptime(text, oracle_format(fmt)).replace(tzinfo=UTC)
    except ValueError as exc:
        raise SuiteQLError(f"Date {text!r} does not match format {fmt!r}") from exc


def _tokens(sql: str) -> list[tuple[str, str]]:
    """Split the query into (kind, text) tokens."""
    out, pos, sql = [], 0, sql.strip().rstrip(";")
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if not m or m.end() == pos:
            raise SuiteQLError(f"Unexpected character at position {pos}: {sql[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        out.append((kind, text[1:-1].replace("''", "'") if kind == "str" else text))
        pos = m.end()
    return out


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """Make two operands comparable the way Oracle would (dates with dates, numbers with numbers)."""
    if isinstance(a, datetime) and isinstance(b, str):
        return a, parse_iso(b)
    if isinstance(b, datetime) and isinstance(a, str):
        return parse_iso(a), b
    if isinstance(a, (int, float, Decimal)) or isinstance(b, (int, float, Decimal)):
        try:
            return Decimal(str(a)), Decimal(str(b))
        except InvalidOperation:
            return str(a), str(b)
    return a, b


def parse_iso(text: str) -> datetime:
    """Read an ISO 8601 literal ('2024-01-15T10:00:00Z') as a UTC datetime."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SuiteQLError(f"Cannot compare a date with {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Parser:
    """Recursive-descent parser producing a `Query` with a compiled row predicate."""

    def __init__(self, sql: str) -> None:
        self.toks = _tokens(sql)
        self.i = 0
        self.referenced: set[str] = set()

    def peek(self, *words: str) -> bool:
        """True when the next token is one of `words` (keywords/operators, case-insensitive)."""
        if self.i >= len(self.toks):
            return False
        kind, text = self.toks[self.i]
        return kind in ("word", "op") and text.upper() in words

    def take(self, *words: str) -> str:
        """Consume the next token, which must be one of `words`."""
        if not self.peek(*words):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "end of query"
            raise SuiteQLError(f"Expected {' or '.join(words)}, got {got!r}")
        self.i += 1
        return self.toks[self.i - 1][1].upper()

    def next(self) -> tuple[str, str]:
        """Consume any token."""
        if self.i >= len(self.toks):
            raise SuiteQLError("Unexpected end of query")
        self.i += 1
        return self.toks[self.i - 1]

    def ident(self) -> str:
        """Consume an identifier (a column or table name), lower-cased."""
        kind, text = self.next()
        if kind != "word":
            raise SuiteQLError(f"Expected a name, got {text!r}")
        return text.lower()

    def query(self) -> Query:
        """query := SELECT items FROM table [WHERE expr] [ORDER BY keys]."""
        self.take("SELECT")
        columns = self.items()
        self.take("FROM")
        q = Query(table=self.ident(), columns=columns)
        if self.peek("WHERE"):
            self.take("WHERE")
            q.where = self.expr()
        if self.peek("GROUP"):
            self.take("GROUP")
            self.take("BY")
            q.group.append(self.column())
            while self.peek(","):
                self.next()
                q.group.append(self.column())
        if self.peek("ORDER"):
            self.take("ORDER")
            self.take("BY")
            while True:
                col = self.column()
                desc = self.peek("DESC")
                if self.peek("ASC", "DESC"):
                    self.next()
                q.order.append((col, desc))
                if not self.peek(","):
                    break
                self.next()
        if self.i < len(self.toks):
            raise SuiteQLError(f"Unsupported clause near {self.toks[self.i][1]!r}")
        q.referenced = self.referenced
        return q

    def column(self) -> str:
        """A column reference, remembered so unknown columns can be reported."""
        name = self.ident()
        self.referenced.add(name)
        return name

    def items(self) -> list[tuple[str, str, str | None, bool]] | None:
        """The select list; None means '*'."""
        if self.peek("*"):
            self.next()
            return None
        items = []
        while True:
            fmt, display = None, False
            if self.peek("COUNT"):
                self.next()
                self.take("(")
                self.take("*")
                self.take(")")
                col = name = COUNT_ALL
            elif self.peek("SUM"):
                self.next()
                self.take("(")
                summed = self.column()
                self.take(")")
                col = name = f"{SUM_OF}{summed})"
            elif self.peek("BUILTIN.DF"):
                self.next()
                self.take("(")
                col = self.column()
                self.take(")")
                name, display = f"builtin.df({col})", True
            elif self.peek("TO_CHAR"):
                self.next()
                self.take("(")
                col = self.column()
                self.take(",")
                kind, fmt = self.next()
                if kind != "str":
                    raise SuiteQLError("TO_CHAR needs a quoted format")
                oracle_format(fmt)
                self.take(")")
                name = f"to_char({col})"
            else:
                col = name = self.column()
            if self.peek("AS"):
                self.next()
                name = self.ident()
            elif self.i < len(self.toks) and self.toks[self.i][0] == "word" and not self.peek("FROM"):
                name = self.ident()
            items.append((name, col, fmt, display))
            if not self.peek(","):
                return items
            self.next()

    def expr(self) -> Callable[[Row], bool]:
        """expr := conj {OR conj}."""
        parts = [self.conj()]
        while self.peek("OR"):
            self.next()
            parts.append(self.conj())
        if len(parts) == 1:
            return parts[0]
        return _hinted(lambda row: any(p(row) for p in parts), alts=parts)

    def conj(self) -> Callable[[Row], bool]:
        """conj := neg {AND neg}."""
        parts = [self.neg()]
        while self.peek("AND"):
            self.next()
            parts.append(self.neg())
        if len(parts) == 1:
            return parts[0]
        return _hinted(lambda row: all(p(row) for p in parts), parts=parts)

    def neg(self) -> Callable[[Row], bool]:
        """neg := [NOT] atom."""
        if self.peek("NOT"):
            self.next()
            inner = self.atom()
            return lambda row: not inner(row)
        return self.atom()

    def atom(self) -> Callable[[Row], bool]:
        """A parenthesised expression or one comparison."""
        if self.peek("("):
            self.next()
            inner = self.expr()
            self.take(")")
            return inner
        left = self.value()
        if self.peek("IS"):
            self.next()
            negate = self.peek("NOT")
            if negate:
                self.next()
            self.take("NULL")
            return lambda row: (left(row) is None) != negate
        negate = self.peek("NOT")
        if negate:
            self.next()
        if self.peek("IN"):
            self.next()
            self.take("(")
            options = [self.value()]
            while self.peek(","):
                self.next()
                options.append(self.value())
            self.take(")")
            if all(hasattr(o, "literal") for o in options):
                member = _membership([o.literal for o in options])
                test = _hinted(lambda row: member(left(row)) != negate)
                if not negate and hasattr(left, "column"):
                    test.within = (left.column, [o.literal for o in options])
                return test
            return lambda row: _in(left(row), [o(row) for o in options]) != negate
        if negate:
            raise SuiteQLError("NOT must be followed by IN here")
        symbol = self.take(*_OPS)
        op = _OPS[symbol]
        right = self.value()
        test = _hinted(lambda row: _compare(op, left(row), right(row)))
        if hasattr(left, "column") and hasattr(right, "literal"):
            test.cmp = (left.column, symbol, right.literal)
        return test

    def value(self) -> Callable[[Row], Any]:
        """A column, a literal or a TO_DATE/TO_TIMESTAMP call, as a function of the row."""
        if self.peek("TO_DATE", "TO_TIMESTAMP"):
            self.next()
            self.take("(")
            kind_text, text = self.next()
            self.take(",")
            kind_fmt, fmt = self.next()
            self.take(")")
            if kind_text != "str" or kind_fmt != "str":
                raise SuiteQLError("TO_DATE/TO_TIMESTAMP need two quoted arguments")
            date = parse_date(text, fmt)
            return _hinted(lambda row: date, literal=date)
        if self.i < len(self.toks) and self.toks[self.i][0] in ("str", "num"):
            kind, text = self.next()
            literal: Any = Decimal(text) if kind == "num" else text
            return _hinted(lambda row: literal, literal=literal)
        col = self.column()
        return _hinted(lambda row: row.get(col), column=col)


def _hinted(func: Callable, **hints: Any) -> Callable:
    """Tag a compiled piece of the query with what it is (a column, a literal, a comparison, an AND or OR of
    parts), so `plan` can tell the emulator which rows can match at all without running the predicate on every
    row of a large table."""
    for name, value in hints.items():
        setattr(func, name, value)
    return func


@dataclass
class Plan:
    """What the WHERE clause says about the rows it can match, read from its top-level AND.

    `after`: rows whose (lastmodifieddate, id) is at or after `(moment, id)` -- exclusive of that exact key
    when `after_id` is not None (keyset paging: `lastmodifieddate > X OR (lastmodifieddate = X AND id > N)`,
    or `lastmodifieddate >= X`). `within`: columns that must hold one of a few literal values (`col IN (...)`,
    `col = literal`). `exact`: every conjunct is one of those, so the candidates need no further test.
    """

    after: datetime | None = None
    after_id: int | None = None
    within: dict[str, list[Any]] = field(default_factory=dict)
    exact: bool = True


def plan(query: Query) -> Plan:
    """Read the keyset bound and the IN lists of the WHERE clause (a hint: the caller still applies `where`
    unless `exact`)."""
    result = Plan()
    where = query.where
    if getattr(where, "everything", False):
        return result  # no WHERE: every row, exactly
    for part in getattr(where, "parts", None) or [where]:
        cmp = getattr(part, "cmp", None)
        within = getattr(part, "within", None)
        keyset = _keyset(part)
        if keyset is not None and result.after is None:
            result.after, result.after_id = keyset
        elif within is not None:
            result.within[within[0]] = within[1]
        elif cmp is not None and cmp[1] == "=":
            result.within[cmp[0]] = [cmp[2]]
        else:
            result.exact = False
    return result


def _keyset(part: Callable) -> tuple[datetime, int | None] | None:
    """(X, None) for `lastmodifieddate >= X`; (X, N) for `lastmodifieddate > X OR (lastmodifieddate = X AND id > N)`."""
    cmp = getattr(part, "cmp", None)
    if cmp is not None and cmp[0] == "lastmodifieddate" and cmp[1] == ">=" and isinstance(cmp[2], datetime):
        return cmp[2], None
    alts = getattr(part, "alts", None)
    if not alts or len(alts) != 2:
        return None
    later, same = alts
    later_cmp, same_parts = getattr(later, "cmp", None), getattr(same, "parts", None) or []
    if (later_cmp is None or later_cmp[:2] != ("lastmodifieddate", ">") or not isinstance(later_cmp[2], datetime)
            or len(same_parts) != 2):
        return None
    moment = later_cmp[2]
    first, second = (getattr(p, "cmp", None) for p in same_parts)
    if first != ("lastmodifieddate", "=", moment) or second is None or second[:2] != ("id", ">"):
        return None
    try:
        return moment, int(second[2])
    except (TypeError, ValueError):
        return None


def _compare(op: Callable[[Any, Any], bool], a: Any, b: Any) -> bool:
    """SQL comparison: anything compared with NULL is false."""
    if a is None or b is None:
        return False
    a, b = _coerce(a, b)
    try:
        return op(a, b)
    except TypeError as exc:
        raise SuiteQLError(f"Cannot compare {a!r} with {b!r}") from exc


def _in(value: Any, options: list[Any]) -> bool:
    """SQL IN over literal options."""
    return any(_compare(_OPS["="], value, option) for option in options)


def _membership(options: list[Any]) -> Callable[[Any], bool]:
    """`value IN (literals)` as a set look-up where that gives `_in`'s answer (a list of ids must not cost a
    comparison per id per row), else `_in` itself."""
    numbers = all(isinstance(o, Decimal) for o in options)
    strings = all(isinstance(o, str) for o in options)
    keys = set(options)

    def member(value: Any) -> bool:
        if value is None:
            return False
        if numbers and isinstance(value, (int, str, Decimal)) and not isinstance(value, bool):
            try:
                return Decimal(str(value)) in keys
            except InvalidOperation:
                return _in(value, options)  # not a number: `_in` compares it as text
        if strings and isinstance(value, str):
            return value in keys
        return _in(value, options)

    return member


def parse(sql: str) -> Query:
    """Parse one SuiteQL SELECT of the supported subset."""
    return _Parser(sql).query()


def _sort_key(value: Any) -> tuple[int, Any]:
    """Order NULLs last and numbers numerically (ids are numeric strings in SuiteQL)."""
    if value is None:
        return (2, "")
    if isinstance(value, (int, float, Decimal)):
        return (0, Decimal(str(value)))
    if isinstance(value, datetime):
        return (0, value.timestamp())
    return (1, str(value))


def run(query: Query, rows: Iterable[Row], known_columns: set[str],
        display: Callable[[str, Any], Any] | None = None) -> list[Row]:
    """Filter, sort and project rows; an unknown column raises like NetSuite's 'field not found'.

    `display(column, value)` is BUILTIN.DF: the display value of a column's value (default: the value itself).
    """
    unknown = sorted(query.referenced - known_columns)
    if unknown:
        raise SuiteQLError(f"Field '{unknown[0]}' for record '{query.table}' was not found.")
    selected = [row for row in rows if query.where(row)]
    if query.group or (query.columns is not None and any(_aggregate(col) for _, col, _, _ in query.columns)):
        return _grouped(query, selected)
    for col, desc in reversed(query.order):
        selected.sort(key=lambda row, c=col: _sort_key(row.get(c)), reverse=desc)
    if query.columns is None:
        return selected
    out = []
    for row in selected:
        projected = {}
        for name, col, fmt, shown in query.columns:
            value = row.get(col)
            if fmt is not None and isinstance(value, datetime):
                value = value.strftime(oracle_format(fmt))
            elif shown and value is not None and display is not None:
                value = display(col, value)
            projected[name] = value
        out.append(projected)
    return out


def aggregated(query: Query) -> bool:
    """Whether the query groups or aggregates rows (its result rows are not table rows)."""
    return bool(query.group) or (query.columns is not None and any(_aggregate(col) for _, col, _, _ in query.columns))


def _aggregate(col: str) -> bool:
    return col == COUNT_ALL or col.startswith(SUM_OF)


def _grouped(query: Query, selected: list[Row]) -> list[Row]:
    """GROUP BY (or one group of every row when there is no GROUP BY): one row per group, with the grouped
    columns and the aggregates; ORDER BY names grouped columns or output names."""
    if query.columns is None:
        raise SuiteQLError("SELECT * cannot be used with GROUP BY")
    for _name, col, fmt, shown in query.columns:
        if not _aggregate(col) and (col not in query.group or fmt is not None or shown):
            kind = "GROUP BY" if query.group else "an aggregate"
            raise SuiteQLError(f"{col} must appear in the GROUP BY clause to be selected with {kind}")
    groups: dict[tuple, list[Row]] = {}
    for row in selected:
        groups.setdefault(tuple(row.get(col) for col in query.group), []).append(row)
    if not query.group and not groups:
        groups[()] = []  # an aggregate over no rows is still one row (COUNT 0, SUM NULL)
    out = []
    for key, members in groups.items():
        values = dict(zip(query.group, key, strict=True))
        projected: Row = {}
        for name, col, _, _ in query.columns:
            if col == COUNT_ALL:
                projected[name] = len(members)
            elif col.startswith(SUM_OF):
                projected[name] = _sum(col[len(SUM_OF):-1], members)
            else:
                projected[name] = values[col]
        out.append((values, projected))
    names = {name for name, _, _, _ in query.columns}
    for col, desc in reversed(query.order):
        if col not in names and col not in query.group:
            raise SuiteQLError(f"ORDER BY {col} must name a grouped column or a selected aggregate")
        out.sort(key=lambda pair, c=col: _sort_key(pair[1][c] if c in pair[1] else pair[0].get(c)), reverse=desc)
    return [projected for _, projected in out]


def _sum(column: str, rows: list[Row]) -> Decimal | None:
    """SUM(column): exact decimal addition of the non-NULL values; NULL when there are none."""
    total: Decimal | None = None
    for row in rows:
        value = row.get(column)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            raise SuiteQLError(f"SUM({column}) needs numbers, not booleans")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise SuiteQLError(f"SUM({column}) needs numbers, not {value!r}") from None
        total = number if total is None else total + number
    return total
