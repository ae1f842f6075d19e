"""Small pure helpers for Log Analytics rows and JSON-friendly values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def rows_by(rows: Iterable[Mapping[str, Any]], column: str) -> dict[str, Mapping[str, Any]]:
    return {str(row[column]): row for row in rows if row.get(column)}
