"""A SuiteQL interpreter for the NetSuite emulator: the part of Oracle's SQL that NetSuite clients send.

Grammar (keywords, functions and identifiers are case-insensitive; column names are lower-case)::

    query    := SELECT [DISTINCT] [TOP n] items FROM table [WHERE expr] [GROUP BY column {, column}]
                [ORDER BY key {, key}] [OFFSET n ROW[S]] [FETCH {FIRST | NEXT} n {ROW | ROWS} ONLY]
    items    := '*' | item {, item}
    item     := (column | TO_CHAR(column, 'fmt') | BUILTIN.DF(column) | UPPER(column) | LOWER(column)
                 | COUNT(*) | SUM(column)) [[AS] alias]
                (aggregates: without GROUP BY alone in the select list, one row over all matching rows; with
                 GROUP BY one row per group, beside the grouped columns -- other columns are refused, as Oracle
                 refuses them. SUM adds numbers exactly, skips NULLs, and is NULL for a group of NULLs.)
    key      := (value | alias | position) [ASC | DESC] [NULLS {FIRST | LAST}]
    expr     := conj {OR conj};  conj := neg {AND neg};  neg := [NOT] atom
    atom     := '(' expr ')' | value op value | value IS [NOT] NULL | value [NOT] IN (value {, value})
              | value [NOT] LIKE value [ESCAPE 'c'] | value [NOT] BETWEEN value AND value
    op       := = | <> | != | < | <= | > | >=
    value    := column | ROWNUM | 'string' | [-]number | NULL | TO_DATE('text', 'fmt') | TO_TIMESTAMP('text', 'fmt')
              | UPPER(value) | LOWER(value)

Semantics follow Oracle, which SuiteQL runs on: three-valued logic (a comparison with NULL is unknown, and
NOT unknown is still unknown, so `NOT x = 'a'` leaves out rows where x is NULL); LIKE and `=` are
case-sensitive (UPPER/LOWER make them not), `%` is any run of characters and `_` one character; ORDER BY puts
NULLs last ascending and first descending unless NULLS FIRST/LAST says otherwise, and may name a select alias
or a position; ROWNUM numbers the rows as the WHERE clause admits them, before ORDER BY (so `ROWNUM <= 10` is
"any ten", and `ROWNUM > 1` is nothing). FETCH FIRST, TOP and OFFSET apply after ORDER BY.

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
Test = Callable[[Row], "bool | None"]  # a condition: True, False or None (unknown, as with NULL)

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op><>|!=|<=|>=|[=<>(),*-])|(?P<word>[A-Za-z_][\w.]*))"
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
ROWNUM = "rownum"
COUNT_ALL = "count(*)"
SUM_OF = "sum("  # the column marker of a SUM(column) item is "sum(<column>)"
CASES = {"UPPER": str.upper, "LOWER": str.lower}


class SuiteQLError(ValueError):
    """The query is outside the supported subset or refers to something that does not exist."""


@dataclass
class Item:
    """One entry of the select list."""

    name: str                 # the output column
    column: str               # the source column, or COUNT_ALL / "sum(<column>)" for aggregates
    fmt: str | None = None    # TO_CHAR format
    display: bool = False     # BUILTIN.DF
    case: str | None = None   # "UPPER" / "LOWER"

    @property
    def aggregate(self) -> bool:
        return self.column == COUNT_ALL or self.column.startswith(SUM_OF)


@dataclass
class Sort:
    """One ORDER BY key: a row value (a column or expression), or a select item named by alias or position."""

    name: str
    desc: bool = False
    nulls_first: bool | None = None  # None: Oracle's default (last ascending, first descending)
    value: Callable[[Row], Any] | None = None
    item: Item | None = None


@dataclass
class Query:
    """A parsed SELECT: projection, table, filter, sort and row limits."""

    table: str
    columns: list[Item] | None  # None = *
    where: Test = field(default_factory=lambda: _hinted(lambda row: True, everything=True))
    order: list[Sort] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)
    group: list[str] = field(default_factory=list)  # GROUP BY columns
    distinct: bool = False
    first: int | None = None  # FETCH FIRST n ROWS ONLY / TOP n
    skip: int = 0             # OFFSET n ROWS
    rownum: bool = False      # the query uses the ROWNUM pseudocolumn

    @property
    def sort_columns(self) -> list[tuple[str, bool]]:
        """(column, descending) of each ORDER BY key that is a plain column with the default NULL order."""
        return [(s.name, s.desc) for s in self.order if hasattr(s.value, "column") and s.nulls_first is None]

    @property
    def limited(self) -> bool:
        """Whether the result is cut by row (FETCH, TOP, OFFSET or ROWNUM), not only paged by the REST call."""
        return self.first is not None or self.skip > 0 or self.rownum


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


def parse_iso(text: str) -> datetime:
    """Read an ISO 8601 literal ('2024-01-15T10:00:00Z') as a UTC datetime."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SuiteQLError(f"Cannot compare a date with {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def as_text(value: Any) -> str:
    """A value as SuiteQL prints it: booleans T/F, dates in the user's M/D/YYYY format, anything else as text."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, datetime):
        return f"{value.month}/{value.day}/{value.year}"
    return str(value)


def like_pattern(pattern: str, escape: str | None = None) -> re.Pattern:
    """A LIKE pattern as a regular expression: % any run of characters, _ one character, `escape` quotes them."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if escape is not None and char == escape:
            if i + 1 >= len(pattern) or pattern[i + 1] not in ("%", "_", escape):
                raise SuiteQLError(f"Invalid escape sequence in LIKE pattern {pattern!r}")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


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


class _Parser:
    """Recursive-descent parser producing a `Query` with compiled row functions."""

    def __init__(self, sql: str) -> None:
        self.toks = _tokens(sql)
        self.i = 0
        self.referenced: set[str] = set()
        self.rownum = False

    # -- tokens ------------------------------------------------------------------------------------

    def peek(self, *words: str) -> bool:
        """True when the next token is one of `words` (keywords/operators, case-insensitive)."""
        if self.i >= len(self.toks):
            return False
        kind, text = self.toks[self.i]
        return kind in ("word", "op") and text.upper() in words

    def skip(self, *words: str) -> bool:
        """Consume the next token when it is one of `words`; whether it was."""
        if self.peek(*words):
            self.i += 1
            return True
        return False

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

    def kind(self) -> str | None:
        return self.toks[self.i][0] if self.i < len(self.toks) else None

    def ident(self) -> str:
        """Consume an identifier (a column or table name), lower-cased."""
        kind, text = self.next()
        if kind != "word":
            raise SuiteQLError(f"Expected a name, got {text!r}")
        return text.lower()

    def count(self) -> int:
        """A whole number of rows (TOP, OFFSET, FETCH)."""
        kind, text = self.next()
        if kind != "num" or not text.isdigit():
            raise SuiteQLError(f"Expected a number of rows, got {text!r}")
        return int(text)

    def quoted(self) -> str:
        kind, text = self.next()
        if kind != "str":
            raise SuiteQLError(f"Expected a quoted text, got {text!r}")
        return text

    def column(self) -> str:
        """A column reference, remembered so unknown columns can be reported."""
        name = self.ident()
        if name == ROWNUM:
            self.rownum = True
        else:
            self.referenced.add(name)
        return name

    def call(self, parse: Callable[[], Any]) -> Any:
        """'(' parse() ')'."""
        self.take("(")
        inner = parse()
        self.take(")")
        return inner

    # -- clauses -----------------------------------------------------------------------------------

    def query(self) -> Query:
        """query := SELECT [DISTINCT] [TOP n] items FROM table [WHERE ...] [GROUP BY ...] [ORDER BY ...] [rows]."""
        self.take("SELECT")
        distinct = self.skip("DISTINCT")
        top = self.count() if self.skip("TOP") else None
        columns = self.items()
        self.take("FROM")
        q = Query(table=self.ident(), columns=columns, distinct=distinct, first=top)
        if self.skip("WHERE"):
            q.where = self.expr()
        if self.skip("GROUP"):
            self.take("BY")
            q.group.append(self.column())
            while self.skip(","):
                q.group.append(self.column())
        if self.skip("ORDER"):
            self.take("BY")
            q.order.append(self.sort_key(columns))
            while self.skip(","):
                q.order.append(self.sort_key(columns))
        if self.skip("OFFSET"):
            q.skip = self.count()
            self.take("ROW", "ROWS")
        if self.skip("FETCH"):
            if top is not None:
                raise SuiteQLError("TOP and FETCH cannot be used together")
            self.take("FIRST", "NEXT")
            q.first = self.count()
            self.take("ROW", "ROWS")
            self.take("ONLY")
        if self.i < len(self.toks):
            raise SuiteQLError(f"Unsupported clause near {self.toks[self.i][1]!r}")
        q.referenced, q.rownum = self.referenced, self.rownum
        return q

    def items(self) -> list[Item] | None:
        """The select list; None means '*'."""
        if self.skip("*"):
            return None
        items = [self.item()]
        while self.skip(","):
            items.append(self.item())
        return items

    def item(self) -> Item:
        if self.skip("COUNT"):
            self.call(lambda: self.take("*"))
            item = Item(COUNT_ALL, COUNT_ALL)
        elif self.skip("SUM"):
            column = f"{SUM_OF}{self.call(self.column)})"
            item = Item(column, column)
        elif self.skip("BUILTIN.DF"):
            column = self.call(self.column)
            item = Item(f"builtin.df({column})", column, display=True)
        elif self.skip("TO_CHAR"):
            self.take("(")
            column = self.column()
            self.take(",")
            fmt = self.quoted()
            oracle_format(fmt)
            self.take(")")
            item = Item(f"to_char({column})", column, fmt=fmt)
        elif self.peek(*CASES):
            case = self.take(*CASES)
            column = self.call(self.column)
            item = Item(f"{case.lower()}({column})", column, case=case)
        else:
            column = self.column()
            item = Item(column, column)
        if self.skip("AS"):
            item.name = self.ident()
        elif self.kind() == "word" and not self.peek("FROM"):
            item.name = self.ident()
        return item

    def sort_key(self, columns: list[Item] | None) -> Sort:
        """key := (value | alias | position) [ASC | DESC] [NULLS FIRST | LAST]."""
        if self.kind() == "num":
            position = self.count()
            if columns is None or not 1 <= position <= len(columns):
                raise SuiteQLError(f"ORDER BY position {position} is not in the select list")
            sort = Sort(columns[position - 1].name, item=columns[position - 1])
        elif self.kind() == "word" and not self.peek(*CASES, "TO_DATE", "TO_TIMESTAMP", "NULL"):
            name = self.ident()
            alias = next((c for c in columns or [] if c.name == name and c.column != name), None)
            if alias is not None:
                sort = Sort(name, item=alias)
            else:
                self.i -= 1
                value = self.value()
                sort = Sort(name, value=value)
        else:
            value = self.value()
            sort = Sort(getattr(value, "text", "expression"), value=value)
        sort.desc = self.take("ASC", "DESC") == "DESC" if self.peek("ASC", "DESC") else False
        if self.skip("NULLS"):
            sort.nulls_first = self.take("FIRST", "LAST") == "FIRST"
        return sort

    # -- conditions --------------------------------------------------------------------------------

    def expr(self) -> Test:
        """expr := conj {OR conj}."""
        parts = [self.conj()]
        while self.skip("OR"):
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else _hinted(lambda row: _any(p(row) for p in parts), alts=parts)

    def conj(self) -> Test:
        """conj := neg {AND neg}."""
        parts = [self.neg()]
        while self.skip("AND"):
            parts.append(self.neg())
        return parts[0] if len(parts) == 1 else _hinted(lambda row: _all(p(row) for p in parts), parts=parts)

    def neg(self) -> Test:
        """neg := [NOT] atom."""
        if self.skip("NOT"):
            return _not(self.atom())
        return self.atom()

    def atom(self) -> Test:
        """A parenthesised expression or one predicate."""
        if self.peek("("):
            return self.call(self.expr)
        left = self.value()
        if self.skip("IS"):
            negate = self.skip("NOT")
            self.take("NULL")
            return lambda row: (left(row) is None) != negate
        negate = self.skip("NOT")
        if self.skip("IN"):
            test = self.membership(left)
        elif self.skip("LIKE"):
            test = self.like(left)
        elif self.skip("BETWEEN"):
            test = self.between(left)
        elif negate:
            raise SuiteQLError("NOT must be followed by IN, LIKE or BETWEEN here")
        else:
            symbol = self.take(*_OPS)
            right = self.value()
            test = _hinted(lambda row: _compare(symbol, left(row), right(row)))
            if hasattr(left, "column") and hasattr(right, "literal"):
                test.cmp = (left.column, symbol, right.literal)
            return test
        return _not(test) if negate else test

    def membership(self, left: Callable[[Row], Any]) -> Test:
        """value IN (value {, value}): a set look-up when the options are literals."""
        self.take("(")
        options = [self.value()]
        while self.skip(","):
            options.append(self.value())
        self.take(")")
        if not all(hasattr(o, "literal") for o in options):
            return lambda row: _in(left(row), [o(row) for o in options])
        literals = [o.literal for o in options]
        member = _membership(literals)
        test = _hinted(lambda row: member(left(row)))
        if hasattr(left, "column"):
            test.within = (left.column, literals)
        return test

    def between(self, left: Callable[[Row], Any]) -> Test:
        """value BETWEEN low AND high: both bounds included."""
        low = self.value()
        self.take("AND")
        high = self.value()
        return lambda row: _all((_compare(">=", left(row), low(row)), _compare("<=", left(row), high(row))))

    def like(self, left: Callable[[Row], Any]) -> Test:
        """value LIKE pattern [ESCAPE 'c'], case-sensitive as Oracle's."""
        pattern = self.value()
        escape = None
        if self.skip("ESCAPE"):
            escape = self.quoted()
            if len(escape) != 1:
                raise SuiteQLError("The ESCAPE character must be one character")
        if hasattr(pattern, "literal") and isinstance(pattern.literal, str):
            compiled = like_pattern(pattern.literal, escape)
            return lambda row: _matches(compiled, left(row))
        return lambda row: _matches(None if pattern(row) is None else like_pattern(as_text(pattern(row)), escape),
                                    left(row))

    # -- values ------------------------------------------------------------------------------------

    def value(self) -> Callable[[Row], Any]:
        """A column, a literal, a date literal or UPPER/LOWER of a value, as a function of the row."""
        if self.peek("TO_DATE", "TO_TIMESTAMP"):
            self.next()
            self.take("(")
            text = self.quoted()
            self.take(",")
            fmt = self.quoted()
            self.take(")")
            date = parse_date(text, fmt)
            return _hinted(lambda row: date, literal=date, text="date")
        if self.peek(*CASES):
            case = CASES[self.take(*CASES)]
            inner = self.call(self.value)
            return _hinted(lambda row: None if (v := inner(row)) is None else case(as_text(v)),
                           text=f"{case.__name__}({getattr(inner, 'text', '')})")
        if self.skip("NULL"):
            return _hinted(lambda row: None, literal=None, text="null")
        negative = self.skip("-")
        if negative and self.kind() != "num":
            raise SuiteQLError("Expected a number after '-'")
        if self.kind() in ("str", "num"):
            kind, text = self.next()
            literal: Any = (-Decimal(text) if negative else Decimal(text)) if kind == "num" else text
            return _hinted(lambda row: literal, literal=literal, text=text)
        col = self.column()
        return _hinted(lambda row: row.get(col), column=col, text=col)


def _hinted(func: Callable, **hints: Any) -> Callable:
    """Tag a compiled piece of the query with what it is (a column, a literal, a comparison, an AND or OR of
    parts), so `plan` can tell the emulator which rows can match at all without running the predicate on every
    row of a large table."""
    for name, value in hints.items():
        setattr(func, name, value)
    return func


# -- three-valued logic ----------------------------------------------------------------------------


def _all(results: Iterable[bool | None]) -> bool | None:
    """SQL AND: false if any is false, else unknown if any is unknown."""
    unknown = False
    for result in results:
        if result is False:
            return False
        unknown = unknown or result is None
    return None if unknown else True


def _any(results: Iterable[bool | None]) -> bool | None:
    """SQL OR: true if any is true, else unknown if any is unknown."""
    unknown = False
    for result in results:
        if result is True:
            return True
        unknown = unknown or result is None
    return None if unknown else False


def _not(test: Test) -> Test:
    """SQL NOT: unknown stays unknown."""
    def negated(row: Row) -> bool | None:
        result = test(row)
        return None if result is None else not result
    return negated


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


def _compare(symbol: str, a: Any, b: Any) -> bool | None:
    """SQL comparison: anything compared with NULL is unknown."""
    if a is None or b is None:
        return None
    a, b = _coerce(a, b)
    try:
        return _OPS[symbol](a, b)
    except TypeError as exc:
        raise SuiteQLError(f"Cannot compare {a!r} with {b!r}") from exc


def _in(value: Any, options: list[Any]) -> bool | None:
    """SQL IN: true on an equal option, else unknown when the value or an option is NULL."""
    return _any(_compare("=", value, option) for option in options)


def _membership(options: list[Any]) -> Callable[[Any], bool | None]:
    """`value IN (literals)` as a set look-up where that gives `_in`'s answer (a list of ids must not cost a
    comparison per id per row), else `_in` itself."""
    numbers = all(isinstance(o, Decimal) for o in options)
    strings = all(isinstance(o, str) for o in options)
    keys = set(options)

    def member(value: Any) -> bool | None:
        if value is None:
            return None
        if numbers and isinstance(value, (int, str, Decimal)) and not isinstance(value, bool):
            try:
                return Decimal(str(value)) in keys
            except InvalidOperation:
                return _in(value, options)  # not a number: `_in` compares it as text
        if strings and isinstance(value, str):
            return value in keys
        return _in(value, options)

    return member


def _matches(pattern: re.Pattern | None, value: Any) -> bool | None:
    """LIKE: NULL on either side is unknown; numbers and dates are matched as the text SuiteQL prints."""
    if pattern is None or value is None:
        return None
    return pattern.fullmatch(as_text(value)) is not None


# -- planning --------------------------------------------------------------------------------------


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


# -- running ---------------------------------------------------------------------------------------


def parse(sql: str) -> Query:
    """Parse one SuiteQL SELECT of the supported subset."""
    return _Parser(sql).query()


def _sort_key(value: Any, null_rank: int) -> tuple[int, Any]:
    """Numbers numerically (ids are numeric strings in SuiteQL), dates by time, text by code point (Oracle's
    binary order: capitals first); NULL ranked before (-1) or after (2) every value."""
    if value is None:
        return (null_rank, 0)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (0, value if isinstance(value, (int, Decimal)) else Decimal(str(value)))
    if isinstance(value, datetime):
        return (0, Decimal(str(value.timestamp())))
    return (1, value if isinstance(value, str) else as_text(value))


def _ordered(items: list[Any], keys: list[Callable[[Any], Any]], sorts: list[Sort]) -> None:
    """Stable-sort rows (or pairs) by the ORDER BY keys, NULLs placed as Oracle places them."""
    for key, sort in reversed(list(zip(keys, sorts, strict=True))):
        nulls_first = sort.desc if sort.nulls_first is None else sort.nulls_first
        null_rank = 2 if nulls_first == sort.desc else -1  # ranks are reversed with the sort
        items.sort(key=lambda item, key=key, null_rank=null_rank: _sort_key(key(item), null_rank), reverse=sort.desc)


def item_value(item: Item, row: Row, display: Callable[[str, Any], Any] | None) -> Any:
    """A select item's value for one table row."""
    value = row.get(item.column)
    if value is None:
        return None
    if item.fmt is not None and isinstance(value, datetime):
        return value.strftime(oracle_format(item.fmt))
    if item.display and display is not None:
        return display(item.column, value)
    if item.case is not None:
        return CASES[item.case](as_text(value))
    return value


def run(query: Query, rows: Iterable[Row], known_columns: set[str],
        display: Callable[[str, Any], Any] | None = None) -> list[Row]:
    """Filter, sort, project and cut rows; an unknown column raises like NetSuite's 'field not found'.

    `display(column, value)` is BUILTIN.DF: the display value of a column's value (default: the value itself).
    """
    unknown = sorted(query.referenced - known_columns)
    if unknown:
        raise SuiteQLError(f"Field '{unknown[0]}' for record '{query.table}' was not found.")
    selected = _admitted(query, rows)
    if aggregated(query):
        return _cut(query, _grouped(query, selected))
    keys = [(lambda row, s=sort: item_value(s.item, row, display)) if sort.item is not None else
            sort.value for sort in query.order]
    _ordered(selected, keys, query.order)  # type: ignore[arg-type]
    if query.columns is None:
        out = [{k: v for k, v in row.items() if k != ROWNUM} for row in selected] if query.rownum else selected
    elif all(item.fmt is None and not item.display and item.case is None for item in query.columns):
        plain = [(item.name, item.column) for item in query.columns]  # the common case, without a call per value
        out = [{name: row.get(column) for name, column in plain} for row in selected]
    else:
        out = [{item.name: item_value(item, row, display) for item in query.columns} for row in selected]
    return _cut(query, _distinct(out) if query.distinct else out)


def _admitted(query: Query, rows: Iterable[Row]) -> list[Row]:
    """The rows the WHERE clause admits; with ROWNUM each candidate carries the number it would get."""
    if not query.rownum:
        return [row for row in rows if query.where(row) is True]
    admitted: list[Row] = []
    for row in rows:
        candidate = {**row, ROWNUM: len(admitted) + 1}
        if query.where(candidate) is True:
            admitted.append(candidate)
    return admitted


def _distinct(rows: list[Row]) -> list[Row]:
    seen: set[tuple] = set()
    out = []
    for row in rows:
        key = tuple(row.items())
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _cut(query: Query, rows: list[Row]) -> list[Row]:
    """OFFSET, then FETCH FIRST / TOP."""
    end = None if query.first is None else query.skip + query.first
    return rows[query.skip:end] if query.skip or end is not None else rows


def aggregated(query: Query) -> bool:
    """Whether the query groups or aggregates rows (its result rows are not table rows)."""
    return bool(query.group) or (query.columns is not None and any(item.aggregate for item in query.columns))


def _grouped(query: Query, selected: list[Row]) -> list[Row]:
    """GROUP BY (or one group of every row when there is no GROUP BY): one row per group, with the grouped
    columns and the aggregates; ORDER BY names grouped columns or output names."""
    if query.columns is None:
        raise SuiteQLError("SELECT * cannot be used with GROUP BY")
    for item in query.columns:
        if not item.aggregate and (item.column not in query.group or item.fmt is not None or item.display):
            kind = "GROUP BY" if query.group else "an aggregate"
            raise SuiteQLError(f"{item.column} must appear in the GROUP BY clause to be selected with {kind}")
    groups: dict[tuple, list[Row]] = {}
    for row in selected:
        groups.setdefault(tuple(row.get(col) for col in query.group), []).append(row)
    if not query.group and not groups:
        groups[()] = []  # an aggregate over no rows is still one row (COUNT 0, SUM NULL)
    pairs = []
    for key, members in groups.items():
        values = dict(zip(query.group, key, strict=True))
        projected: Row = {}
        for item in query.columns:
            if item.column == COUNT_ALL:
                projected[item.name] = len(members)
            elif item.column.startswith(SUM_OF):
                projected[item.name] = _sum(item.column[len(SUM_OF):-1], members)
            else:
                projected[item.name] = item_value(item, values, None)
        pairs.append((values, projected))
    names = {item.name for item in query.columns}
    keys = []
    for sort in query.order:
        if sort.item is None and sort.name not in names and sort.name not in query.group:
            raise SuiteQLError(f"ORDER BY {sort.name} must name a grouped column or a selected aggregate")
        keys.append(lambda pair, n=sort.name: pair[1][n] if n in pair[1] else pair[0].get(n))
    _ordered(pairs, keys, query.order)
    return [projected for _, projected in pairs]


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
