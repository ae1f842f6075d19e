"""Canned KQL: the one place queries are loaded and values become KQL text.

Every query the bot runs is a file in `kql/` (see `kql/README.md`). A file declares its parameters in
a `// params:` header; `render` prepends one `let <name> = <literal>;` line per parameter, each
literal built by `quote`, and nothing else ever turns a value into query text. Log Analytics has no
query parameters, so `quote` is what keeps a value a value: it is safe for any input, and the tests
check that Kusto.Language and the local engine (duckdb-kql) read every literal back unchanged.

Its inverse, which the local emulator uses to refuse anything that is not a canned query rendered
by this module, lives with the emulator (`bot/emulator/kql_readback.py`).

Azure Resource Graph has no `let` statement, so its queries are sent by `render_inline`: the file's
code without its comment lines, each use of a parameter replaced by that parameter's literal (built by
the same `quote`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Final, TypeAlias

__all__ = [
    "JOB_NAME_RE",
    "KQL_TYPES",
    "QUERY_DIR",
    "CannedQuery",
    "InvalidJobName",
    "KqlValue",
    "QueryFileError",
    "all_queries",
    "code_lines",
    "load_query",
    "quote",
    "quote_as",
    "render",
    "render_inline",
    "substitute",
    "validate_job_name",
]

#: Python values `quote` turns into KQL literals (anything else is a TypeError at run time).
KqlValue: TypeAlias = str | bool | int | float | datetime | timedelta | list[str] | tuple[str, ...]

#: Kusto scalar types a `// params:` header (and `kql/schema.json`) may name.
KQL_TYPES: Final = frozenset(
    {"string", "datetime", "long", "int", "real", "bool", "dynamic", "timespan", "guid"}
)


def _find_query_dir() -> Path:
    """The repository's `kql/` beside the `bot/` package, else the copy packed into the wheel."""
    package = Path(__file__).resolve().parent
    candidates = (package.parent / "kql", package / "_assets" / "kql")
    for candidate in candidates:
        if (candidate / "schema.json").is_file():
            return candidate
    return candidates[0]


#: Where the canned `.kql` files (and `schema.json`) live.
QUERY_DIR: Final[Path] = _find_query_dir()


class QueryFileError(ValueError):
    """A canned query file is missing, unknown, or has a malformed header."""


@dataclass(frozen=True, slots=True)
class CannedQuery:
    """One `kql/<name>.kql` file: its exact text and its declared parameters."""

    name: str
    text: str
    params: tuple[tuple[str, str], ...]  # (name, kusto type), in declared order

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p for p, _ in self.params)

    @property
    def columns(self) -> tuple[str, ...]:
        """The result columns its `// returns:` header declares, in result order."""
        return _parse_returns(self.text)

    @property
    def batch(self) -> str | None:
        """How one query answers for several jobs at once, if it can (`// batch: <how>`): `jobs` — it takes a
        `jobs` list and says each row's `JobName`; `lists` — its list parameters are merged and the caller
        picks its own rows. Either way every `dynamic` parameter is a list that several asks merge."""
        match = _BATCH_LINE_RE.search(self.text)
        return match.group(1) if match else None

    @property
    def batched(self) -> bool:
        """It takes several jobs at once by `jobs` and a `JobName` column."""
        return self.batch == "jobs" and "jobs" in self.param_names

    @property
    def list_params(self) -> tuple[str, ...]:
        return tuple(name for name, kind in self.params if kind == "dynamic")

    @property
    def row_cap(self) -> int | None:
        """The `take N` / `top N` the query ends with: more rows than this were cut."""
        code = " ".join(ln.strip() for ln in self.text.splitlines() if ln.strip() and not ln.strip().startswith("//"))
        match = _ROW_CAP_RE.search(code)
        return int(match["cap"]) if match else None

    @property
    def order(self) -> tuple[tuple[str, bool], ...]:
        """The final ordering the query declares, as (column, descending), most significant first:
        the keys of its closing `sort by ... | take N` or `top N by ...` (Kusto's default is desc)."""
        return _parse_order(self.text)


# ---------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------

_QUERY_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_]*")
_IDENT_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAMS_LINE_RE: Final = re.compile(r"^//\s*params:(.*)$", re.MULTILINE)


def _parse_params(name: str, text: str) -> tuple[tuple[str, str], ...]:
    headers = _PARAMS_LINE_RE.findall(text)
    if len(headers) != 1:
        raise QueryFileError(
            f"{name}.kql: expected exactly one '// params:' header line, found {len(headers)}"
        )
    body = headers[0].strip()
    if not body:
        return ()
    params: list[tuple[str, str]] = []
    for item in body.split(","):
        pname, sep, ptype = (part.strip() for part in item.partition(":"))
        if not sep or not _IDENT_RE.fullmatch(pname) or ptype not in KQL_TYPES:
            raise QueryFileError(
                f"{name}.kql: bad parameter {item.strip()!r} in '// params:' (want name:type)"
            )
        if any(pname == seen for seen, _ in params):
            raise QueryFileError(f"{name}.kql: parameter {pname!r} declared twice")
        params.append((pname, ptype))
    return tuple(params)


_RETURNS_LINE_RE: Final = re.compile(r"^//\s*returns:(.*)$", re.MULTILINE)
_BATCH_LINE_RE: Final = re.compile(r"^//\s*batch:\s*(jobs|lists)\b", re.MULTILINE)
_ROW_CAP_RE: Final = re.compile(r"\|\s*(?:take|limit|top)\s+(?P<cap>\d+)[^|]*\Z")
_FINAL_ORDER_RE: Final = re.compile(
    r"\|\s*(?:(?:sort|order)\s+by\s+(?P<sorted>[^|]+)\|\s*(?:take|limit)\s+\d+|top\s+\d+\s+by\s+(?P<top>[^|]+))\s*\Z"
)
_ORDER_KEY_RE: Final = re.compile(
    r"(?P<column>[A-Za-z_][A-Za-z0-9_]*)(?:\s+(?P<dir>asc|desc))?(?:\s+nulls\s+(?:first|last))?"
)


def _parse_returns(text: str) -> tuple[str, ...]:
    headers = _RETURNS_LINE_RE.findall(text)
    if len(headers) != 1:
        return ()
    return tuple(c.partition(":")[0].strip() for c in headers[0].split(",") if c.strip())


def _parse_order(text: str) -> tuple[tuple[str, bool], ...]:
    code = " ".join(ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("//"))
    match = _FINAL_ORDER_RE.search(code)
    if match is None:
        return ()
    keys = []
    for item in (match["sorted"] or match["top"]).split(","):
        key = _ORDER_KEY_RE.fullmatch(item.strip())
        if key is None:  # an expression, not a column: no key the rows can be sorted by here
            return ()
        keys.append((key["column"], key["dir"] != "asc"))
    return tuple(keys)


@cache
def load_query(name: str) -> CannedQuery:
    """The canned query `kql/<name>.kql` (cached). Raises `QueryFileError` for an unknown name."""
    if not _QUERY_NAME_RE.fullmatch(name):
        raise QueryFileError(f"unknown canned query {name!r}: names are lower-case file stems in {QUERY_DIR}")
    path = QUERY_DIR / f"{name}.kql"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(_query_names()) or "none"
        raise QueryFileError(
            f"unknown canned query {name!r} (known: {known}; looked in {QUERY_DIR})"
        ) from None
    return CannedQuery(name=name, text=text, params=_parse_params(name, text))


def _query_names() -> list[str]:
    if not QUERY_DIR.is_dir():
        return []
    return sorted(p.stem for p in QUERY_DIR.glob("*.kql") if _QUERY_NAME_RE.fullmatch(p.stem))


def all_queries() -> list[CannedQuery]:
    """Every canned query, sorted by name."""
    return [load_query(n) for n in _query_names()]


# ---------------------------------------------------------------------------------------------------
# Quoting
# ---------------------------------------------------------------------------------------------------

# Escapes that Kusto and duckdb-kql decode identically. Everything else is written as itself: both
# lexers accept every other code point raw inside a double-quoted literal (checked for all of
# Unicode). NUL is deliberately raw too: Kusto reads `\0` followed by digits as an octal escape
# (`"\01"` is U+0001) while duckdb-kql reads `\0` as NUL, so the two would disagree.
STRING_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_STRING_ESCAPE_RE: Final = re.compile(r'[\\"\n\r\t]')
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# .NET TimeSpan.MaxValue, which Kusto's timespan is: 10675199.02:48:05.4775807 (whole microseconds).
_TIMESPAN_MAX: Final = timedelta(days=10675199, hours=2, minutes=48, seconds=5, microseconds=477580)
_MICROSECOND: Final = timedelta(microseconds=1)


def _quote_str(value: str) -> str:
    if _SURROGATE_RE.search(value):
        raise ValueError("string contains a lone surrogate, which is not valid Unicode text")
    return '"' + _STRING_ESCAPE_RE.sub(lambda m: STRING_ESCAPES[m.group()], value) + '"'


def _quote_datetime(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value.isoformat()} is naive: pass a timezone-aware datetime")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"datetime {value.isoformat()} is out of range in UTC") from None
    return (
        f"datetime({utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z)"
    )


def _quote_timespan(value: timedelta) -> str:
    if abs(value) > _TIMESPAN_MAX:
        raise ValueError(f"timedelta {value} is outside Kusto's timespan range")
    micros = abs(value) // _MICROSECOND
    seconds, micro = divmod(micros, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    sign = "-" if value < timedelta(0) else ""
    return f"timespan({sign}{days}.{hour:02d}:{minute:02d}:{second:02d}.{micro:06d})"


def _quote_long(value: int) -> str:
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise ValueError(f"integer {value} does not fit Kusto's long (64-bit)")
    return f"long({value})"


def _quote_real(value: float) -> str:
    if math.isnan(value):
        return "real(nan)"
    if math.isinf(value):
        return "real(+inf)" if value > 0 else "real(-inf)"
    return f"real({value!r})"


def _quote_dynamic(value: Sequence[object]) -> str:
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise TypeError(
                f"only lists of str become dynamic arrays, got an element of type {type(item).__name__}"
            )
        items.append(_quote_str(item))
    return "dynamic([" + ", ".join(items) + "])"


def quote(value: object) -> str:
    """`value` as a KQL literal that both Kusto and duckdb-kql read back unchanged.

    str -> `"..."` (any text; see `STRING_ESCAPES`), tz-aware datetime -> `datetime(...Z)` in UTC,
    bool -> `true`/`false`, int -> `long(N)`, float -> `real(x)`, timedelta -> `timespan(...)`,
    list/tuple of str -> `dynamic([...])`. Raises TypeError for any other type and ValueError for a
    value the type cannot hold (naive datetime, out-of-range number, lone surrogate).
    """
    # Order matters: bool is a subclass of int.
    if isinstance(value, str):
        return _quote_str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _quote_long(value)
    if isinstance(value, float):
        return _quote_real(value)
    if isinstance(value, datetime):
        return _quote_datetime(value)
    if isinstance(value, timedelta):
        return _quote_timespan(value)
    if isinstance(value, list | tuple):
        return _quote_dynamic(value)
    raise TypeError(f"cannot turn a {type(value).__name__} into a KQL literal")


def quote_as(name: str, kusto_type: str, value: object) -> str:
    """`value` quoted for a parameter declared as `kusto_type`; TypeError if it is the wrong kind."""
    ok: bool
    if kusto_type == "string":
        ok = isinstance(value, str)
    elif kusto_type == "datetime":
        ok = isinstance(value, datetime)
    elif kusto_type == "bool":
        ok = isinstance(value, bool)
    elif kusto_type in ("long", "int"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kusto_type == "real":
        ok = isinstance(value, float | int) and not isinstance(value, bool)
    elif kusto_type == "timespan":
        ok = isinstance(value, timedelta)
    elif kusto_type == "dynamic":
        ok = isinstance(value, list | tuple)
    else:
        ok = False
    if not ok:
        raise TypeError(f"parameter {name!r} is declared {kusto_type}; got a {type(value).__name__}")
    if kusto_type == "int":
        assert isinstance(value, int)
        if not _INT_MIN <= value <= _INT_MAX:
            raise ValueError(f"parameter {name!r}: {value} does not fit Kusto's int (32-bit)")
        return f"int({value})"
    if kusto_type == "real" and isinstance(value, int):
        return _quote_real(float(value))
    return quote(value)


# ---------------------------------------------------------------------------------------------------
# Rendering and recognising rendered text
# ---------------------------------------------------------------------------------------------------


def render(name: str, /, **values: object) -> str:
    """The canned query `name` with its declared parameters bound, ready to send.

    `values` must name exactly the file's declared parameters (ValueError lists what is missing or
    unexpected). The result is one `let <param> = <literal>;` line per parameter, in declared order,
    followed by the file's exact text.
    """
    query = load_query(name)
    declared = query.param_names
    missing = [p for p in declared if p not in values]
    extra = sorted(set(values) - set(declared))
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("unexpected " + ", ".join(extra))
        raise ValueError(f"{name}.kql takes ({', '.join(declared)}): " + "; ".join(parts))
    prologue = "".join(f"let {p} = {quote_as(p, t, values[p])};\n" for p, t in query.params)
    return prologue + query.text


# ---------------------------------------------------------------------------------------------------
# Inlined rendering, for Azure Resource Graph (no `let`)
# ---------------------------------------------------------------------------------------------------

# Code tokens: a string literal (verbatim @"..."/@'...', or "..."/'...' with escapes), an identifier, or any
# other character. Parameters are identifiers outside string literals that are not a member (`x.start`).
_CODE_TOKEN_RE: Final = re.compile(
    r"""(?P<str>@"[^"]*"|@'[^']*'|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<other>.)",
    re.DOTALL,
)


def code_lines(text: str) -> str:
    """The query text without its full-line `//` comments."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("//"))


def substitute(code: str, replacements: dict[str, str]) -> str:
    out: list[str] = []
    before, previous = "", ""  # the last two tokens that are not whitespace
    for match in _CODE_TOKEN_RE.finditer(code):
        token = match.group()
        member = previous == "." and before != "."  # `x.start` is a member; `start .. end` is a range
        if match.lastgroup == "ident" and token in replacements and not member:
            out.append(replacements[token])
        else:
            out.append(token)
        if not token.isspace():
            before, previous = previous, token
    return "".join(out)


def render_inline(name: str, /, **values: object) -> str:
    """The canned query `name` with each use of a declared parameter replaced by its literal (`quote`d),
    and without comment lines: for Azure Resource Graph, which has no `let` statement.

    `values` must name exactly the file's declared parameters, as for `render`."""
    query = load_query(name)
    declared = query.param_names
    missing = [p for p in declared if p not in values]
    extra = sorted(set(values) - set(declared))
    if missing or extra:
        render(name, **values)  # raises the same ValueError as render
    literals = {p: quote_as(p, t, values[p]) for p, t in query.params}
    return substitute(code_lines(query.text), literals)


# ---------------------------------------------------------------------------------------------------
# Job names
# ---------------------------------------------------------------------------------------------------

#: A Container Apps job name: 2-32 characters, ASCII letters, digits and hyphens, starting with a
#: letter, ending with a letter or digit, no `--`. Azure creates names lower-case but compares them
#: case-insensitively (and its examples use upper case), so upper-case letters are accepted.
JOB_NAME_RE: Final = re.compile(r"\A[A-Za-z](?!.*--)[A-Za-z0-9-]{0,30}[A-Za-z0-9]\Z")


class InvalidJobName(ValueError):
    """A string that cannot be a Container Apps job name."""


def validate_job_name(name: str) -> str:
    """`name` unchanged if it is a valid Container Apps job name; else raise `InvalidJobName`."""
    if not isinstance(name, str) or JOB_NAME_RE.fullmatch(name) is None:
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise InvalidJobName(
            f"invalid job name {shown}: a Container Apps job name is 2-32 characters of letters, digits "
            "and hyphens, starts with a letter, ends with a letter or digit, and has no '--'"
        )
    return name
