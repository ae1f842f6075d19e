"""One order for what Azure returns in none.

Log Analytics promises no row order and ARM no list order, so the adapters sort what they return by
explicit keys with a total tie-break: everything downstream (checks, verdict, renderers) then sees the
same sequence for the same world, whatever order the service sent it in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")
Row = Mapping[str, Any]


def value_key(value: Any) -> tuple[int, Any]:
    """A key that orders any one column's values (mixed types and nulls included); null sorts first,
    as Kusto's `asc` puts it (and last under `desc`)."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, datetime):
        return (2, (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    if isinstance(value, timedelta):
        return (3, value.total_seconds())
    if isinstance(value, str):
        return (4, value)
    return (5, json.dumps(value, sort_keys=True, default=str))


def sort_by(items: Iterable[T], keys: Sequence[tuple[Callable[[T], Any], bool]]) -> list[T]:
    """`items` sorted by `keys` [(get value, descending)], most significant first."""
    out = list(items)
    for get, descending in reversed(keys):  # stable sorts, least significant key first
        out.sort(key=lambda item: value_key(get(item)), reverse=descending)
    return out


def sort_rows(rows: Iterable[Row], order: Sequence[tuple[str, bool]], columns: Sequence[str]) -> list[Row]:
    """Query rows in `order` [(column, descending)], ties broken by every column in `columns`, ascending."""
    keys = [*order, *((c, False) for c in columns if c not in {name for name, _ in order})]
    return sort_by(rows, [(_column(name), descending) for name, descending in keys])


def _column(name: str) -> Callable[[Row], Any]:
    return lambda row: row.get(name)
