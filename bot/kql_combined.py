"""Several canned queries as one Log Analytics request: their code side by side in one `union`.

Log Analytics runs at most 5 queries at once per identity, so a use case that asks more (a review asks
about ten) pays a second round trip. Canned queries that share their window and agree on every parameter
they both declare can go together: one `let` prologue for all their parameters (as `render` writes them),
then each file's code in parentheses, its rows marked with the query's name in the `Query` column:

    let job = "…";
    let start = datetime(…);
    union
    (<code of a>
    | extend Query = "a"),
    (<code of b>
    | extend Query = "b")

Each leg keeps its own filters, order and `take` cap, so its rows are exactly those of the query alone
(`split` picks them out, with the columns its `returns:` header declares). The emulator recognises this
text (`bot.emulator.kql_readback.split_combined`) and runs it like any canned query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bot.kql import CannedQuery, code_lines, load_query, quote_as

QUERY_COLUMN: Final = "Query"  # the column that says which canned query a row belongs to
_RETURNS_RE: Final = re.compile(r"^//\s*returns:(.*)$", re.MULTILINE)
_PART_RE: Final = re.compile(r'^\| extend ' + QUERY_COLUMN + r' = "([a-z][a-z0-9_]*)"\)', re.MULTILINE)

Part = tuple[str, Mapping[str, object]]  # a canned query's name and its parameter values


def column_types(query: CannedQuery) -> dict[str, str]:
    """The columns a query's `returns:` header declares, with their types."""
    match = _RETURNS_RE.search(query.text)
    found: dict[str, str] = {}
    for item in (match.group(1).split(",") if match else []):
        name, _, kind = (p.strip() for p in item.partition(":"))
        if name:
            found[name] = kind
    return found


def columns_agree(names: Sequence[str]) -> bool:
    """Every column these queries share has one type (a union would otherwise split it into one column per
    type), none is called `Query`, and no query comes twice."""
    columns: dict[str, str] = {}
    for name in names:
        for column, kind in column_types(load_query(name)).items():
            if column == QUERY_COLUMN or columns.setdefault(column, kind) != kind:
                return False
    return len(set(names)) == len(names)


def compatible(names: Sequence[str], values: Sequence[Mapping[str, object]]) -> bool:
    """Whether these queries can go as one: every parameter they share has one type and one value (as
    literals), and their columns agree."""
    kinds: dict[str, str] = {}
    bound: dict[str, str] = {}
    for name, params in zip(names, values, strict=True):
        for pname, ptype in load_query(name).params:
            if pname not in params:
                return False
            literal = quote_as(pname, ptype, params[pname])
            if kinds.setdefault(pname, ptype) != ptype or bound.setdefault(pname, literal) != literal:
                return False
    return columns_agree(names)


def body(names: Sequence[str]) -> str:
    """What follows the prologue: each query's code in the union, marked with its name."""
    legs = [f"({code_lines(load_query(n).text).rstrip()}\n| extend {QUERY_COLUMN} = \"{n}\")" for n in names]
    return "union\n" + ",\n".join(legs)


def part_names(text: str) -> list[str]:
    """The canned queries a combined text says it runs, in its order (what it says, not checked here)."""
    return _PART_RE.findall(text)


def render_combined(parts: Sequence[Part]) -> str:
    """One query text for all `parts` (ValueError unless `compatible`). The prologue binds every parameter
    once, sorted by name, each literal as `render` writes it."""
    names = [n for n, _ in parts]
    if len(parts) < 2 or not compatible(names, [p for _, p in parts]):
        raise ValueError(f"these queries cannot go as one: {', '.join(names)}")
    literals: dict[str, str] = {}
    for name, params in parts:
        query = load_query(name)
        literals.update({p: quote_as(p, t, params[p]) for p, t in query.params})
    prologue = "".join(f"let {p} = {literals[p]};\n" for p in sorted(literals))
    return prologue + body(names)


def split(rows: Sequence[Mapping[str, Any]], name: str) -> list[dict[str, Any]]:
    """The rows of query `name` in a combined answer, with only the columns that query declares."""
    columns = list(column_types(load_query(name)))
    return [{c: row.get(c) for c in columns} for row in rows if row.get(QUERY_COLUMN) == name]
