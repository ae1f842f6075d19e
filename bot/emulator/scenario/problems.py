"""pydantic's validation errors as the lines a person reads: "<key path>: <what is wrong>"."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.emulator.scenario.fields import type_name

_ROWS = "must be a list of rows (mappings of column to value)"
_PAIR = "must be a [timestamp, value] pair"


def problems_of(error: ValidationError) -> list[str]:
    """One line per problem, in the order pydantic found them, without repeats."""
    lines: list[str] = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        loc, message = _describe(loc, detail)
        line = f"{key_path(loc)}: {message}" if loc else message
        if line not in lines:
            lines.append(line)
    return lines


def key_path(loc: tuple[Any, ...]) -> str:
    """('jobs', 0, 'properties') -> 'jobs[0].properties'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(loc: tuple[Any, ...], detail: ErrorDetails) -> tuple[tuple[Any, ...], str]:
    kind = detail["type"]
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    # A table is a list of rows, each a mapping: anything else is one problem at the table.
    if len(loc) >= 2 and loc[0] == "tables" and (len(loc) == 2 or len(loc) == 3) and kind in _NOT_A_CONTAINER:
        return loc[:2], _ROWS
    # A metric point is a [timestamp, value] pair.
    if _is_point(loc) and kind in ("tuple_type", "too_long", "too_short", "list_type"):
        return loc, _PAIR
    if len(loc) >= 1 and _is_point(loc[:-1]) and kind == "missing":
        return loc[:-1], _PAIR
    if loc == ("expect", "checks") and kind == "dict_type":
        return loc, "must be a mapping of check name to status"
    if kind == "missing":
        return loc, "required key is missing"
    if kind == "extra_forbidden":
        return loc, "unknown key"
    if kind in ("string_type", "string_too_short"):
        return loc, f"must be a non-empty string, not {type_name(value)}"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return loc, f"must be an integer, not {type_name(value)}"
    if kind in ("float_type", "float_parsing"):
        return loc, f"must be a number, not {type_name(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return loc, f"must be true or false, not {type_name(value)}"
    if kind in ("list_type", "tuple_type"):
        return loc, f"must be a list, not {type_name(value)}"
    if kind in _NOT_A_CONTAINER:
        return loc, f"must be a mapping, not {type_name(value)}"
    if kind in ("greater_than_equal", "greater_than"):
        return loc, f"must be at least {ctx.get('ge', ctx.get('gt'))}"
    return loc, str(detail["msg"])


_NOT_A_CONTAINER = ("dict_type", "model_type", "model_attributes_type", "dataclass_type", "list_type")


def _is_point(loc: tuple[Any, ...]) -> bool:
    return len(loc) == 4 and loc[0] == "metrics" and loc[2] == "points" and isinstance(loc[3], int)
