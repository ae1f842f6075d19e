"""Reading rendered KQL back, for the local emulator: the inverse of `bot.kql.render` and `render_inline`.

The emulator answers only canned queries rendered by `bot.kql`: `split_rendered` (Log Analytics, `let`
prologue) and `split_inlined` (Resource Graph, literals inlined) recognise such text and return the
canned query with each parameter's literal, or None for anything else. A literal is accepted only when
it is exactly what `quote` writes for some value of the declared type (decoded, quoted again, compared).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Final

from bot.kql import STRING_ESCAPES, CannedQuery, all_queries, code_lines, load_query, quote_as, substitute
from bot.kql_combined import body, columns_agree, part_names

__all__ = ["split_combined", "split_inlined", "split_rendered"]

_PLACEHOLDER: Final = "\x00"
_GROUP_OPEN_RE: Final = re.compile(r"(?<!\\)[(](?![?])")
_STRING_LITERAL = r'"(?:[^"\\\n\r]|\\[\\"nrt])*"'
# What `render` writes for each type (re.ASCII: `\d` is 0-9 only). A match is then decoded and quoted
# again, and only a literal that comes back identical is accepted.
_LITERAL_RES: Final = {
    kind: re.compile(pattern, re.ASCII)
    for kind, pattern in {
        "string": _STRING_LITERAL,
        "datetime": r"datetime\((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z\)",
        "bool": r"true|false",
        "long": r"long\((-?\d{1,19})\)",
        "int": r"int\((-?\d{1,10})\)",
        "real": r"real\((nan|[+-]inf|-?[0-9][0-9.e+-]*)\)",
        "timespan": r"timespan\((-?)(\d{1,8})\.(\d\d):(\d\d):(\d\d)\.(\d{6})\)",
        "dynamic": r"dynamic\(\[((?:" + _STRING_LITERAL + r"(?:, " + _STRING_LITERAL + r")*)?)\]\)",
    }.items()
}
_STRING_UNESCAPES: Final = {v: k for k, v in STRING_ESCAPES.items()}
_STRING_ESCAPE_SEQ_RE: Final = re.compile(r"\\[\\\"nrt]")
_STRING_TOKEN_RE: Final = re.compile(_STRING_LITERAL)


def _unquote_str(literal: str) -> str:
    return _STRING_ESCAPE_SEQ_RE.sub(lambda m: _STRING_UNESCAPES[m.group()], literal[1:-1])


def _literal_is_canonical(kusto_type: str, literal: str) -> bool:
    """True when `literal` is exactly what `render` writes for some value of `kusto_type`."""
    pattern = _LITERAL_RES.get(kusto_type)
    match = pattern.fullmatch(literal) if pattern else None
    if match is None:
        return False
    value: object
    try:
        if kusto_type == "string":
            value = _unquote_str(literal)
        elif kusto_type == "datetime":
            y, mo, d, h, mi, s, us = (int(g) for g in match.groups())
            value = datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)
        elif kusto_type == "bool":
            value = literal == "true"
        elif kusto_type in ("long", "int"):
            value = int(match.group(1))
        elif kusto_type == "real":
            value = float(match.group(1))
        elif kusto_type == "timespan":
            sign, *parts = match.groups()
            days, hours, minutes, seconds, micros = (int(g) for g in parts)
            span = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds, microseconds=micros)
            value = -span if sign else span
        else:  # dynamic
            value = [_unquote_str(m.group()) for m in _STRING_TOKEN_RE.finditer(match.group(1))]
        return quote_as("-", kusto_type, value) == literal
    except (ValueError, TypeError, OverflowError):
        return False


def split_rendered(text: str) -> tuple[CannedQuery, dict[str, str]] | None:
    """Recognise text produced by `render`: the canned query and each parameter's KQL literal.

    Returns None unless `text` is exactly the `let` prologue `render` writes (the declared
    parameters, in order, each bound to a literal in `render`'s own canonical form) followed by the
    exact text of a canned file. The emulator uses this to refuse any other query.
    """
    for query in all_queries():
        if not text.endswith(query.text):
            continue
        prologue = text[: len(text) - len(query.text)]
        lines = prologue.split("\n")
        if lines[-1] != "" or len(lines) != len(query.params) + 1:
            continue
        literals: dict[str, str] = {}
        for line, (pname, ptype) in zip(lines[:-1], query.params, strict=True):
            head = f"let {pname} = "
            if not (line.startswith(head) and line.endswith(";")):
                break
            literal = line[len(head) : -1]
            if not _literal_is_canonical(ptype, literal):
                break
            literals[pname] = literal
        else:
            return query, literals
    return None


@cache
def _inline_pattern(name: str) -> re.Pattern[str] | None:
    query = load_query(name)
    if not query.params:
        return None
    marks = {p: f"{_PLACEHOLDER}{p}{_PLACEHOLDER}" for p in query.param_names}
    template = substitute(code_lines(query.text), marks)
    kinds = dict(query.params)
    pattern, seen = "", set()
    for i, piece in enumerate(template.split(_PLACEHOLDER)):
        if i % 2 == 0:
            pattern += re.escape(piece)
        elif piece in seen:
            pattern += f"(?P={piece})"
        else:
            seen.add(piece)
            literal = _LITERAL_RES[kinds[piece]].pattern
            # the literal's own groups become non-capturing, so only the named ones remain
            inner = _GROUP_OPEN_RE.sub("(?:", literal)
            pattern += f"(?P<{piece}>{inner})"
    return re.compile(pattern, re.ASCII)


def split_inlined(text: str) -> tuple[CannedQuery, dict[str, str]] | None:
    """Recognise text produced by `render_inline`: the canned query and each parameter's KQL literal, or
    None unless `text` is exactly a canned file's code with every parameter use bound to one literal in
    `render`'s canonical form."""
    for query in all_queries():
        pattern = _inline_pattern(query.name)
        match = pattern.fullmatch(text) if pattern is not None else None
        if match is None:
            continue
        # A parameter the code never uses leaves no literal behind.
        literals = {p: v for p, v in match.groupdict().items() if v is not None}
        if all(_literal_is_canonical(kind, literals[p]) for p, kind in query.params if p in literals):
            return query, literals
    return None


_PROLOGUE_LINE_RE: Final = re.compile(r"let ([A-Za-z_][A-Za-z0-9_]*) = (.*);")


def split_combined(text: str) -> list[tuple[CannedQuery, dict[str, str]]] | None:
    """Recognise text produced by `bot.kql_combined.render_combined`: each canned query with its parameters'
    literals, or None unless `text` is exactly that prologue (every parameter the queries declare, sorted,
    each in `render`'s canonical form) followed by their code in the union."""
    head, sep, rest = text.partition("union\n")
    if not sep:
        return None
    names = part_names(rest)
    known = {q.name for q in all_queries()}
    if len(names) < 2 or len(set(names)) != len(names) or not set(names) <= known or "union\n" + rest != body(names):
        return None
    lines = head.split("\n")
    if lines[-1] != "":
        return None
    literals: dict[str, str] = {}
    for line in lines[:-1]:
        match = _PROLOGUE_LINE_RE.fullmatch(line)
        if match is None or match[1] in literals:
            return None
        literals[match[1]] = match[2]
    queries = [load_query(n) for n in names]
    declared = {p: t for q in queries for p, t in q.params}
    if sorted(literals) != list(literals) or set(literals) != set(declared):
        return None
    if not all(_literal_is_canonical(declared[p], v) for p, v in literals.items()):
        return None
    if not all(declared[p] == t for q in queries for p, t in q.params) or not columns_agree(names):
        return None
    return [(q, {p: literals[p] for p in q.param_names}) for q in queries]
