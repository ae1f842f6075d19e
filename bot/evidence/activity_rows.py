"""One reading of Activity Log rows as `kql/config_changes.kql` projects them.

Both users of the Activity Log read the same columns: the verdict's change suspect and health events
(`evidence/activity.py`, `checks/platform_health.py`) and the property-level change records
(`evidence/change_sources.py`). They read them here, once: times as aware UTC (`arm_time`), the
`Properties` bag parsed (it arrives as a JSON string from Log Analytics, a mapping from some emulators),
and its text kept for the substring matches that look for a dependency's id anywhere in the event.
A row without a readable time is skipped, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.evidence.arm_time import time_or_none

SUCCESS_STATUSES = frozenset({"success", "succeeded"})
# Operations that can break a job without touching it: access to what it reads, and lifecycle actions
# after which event scaling has been seen to stop silently.
IDENTITY_OPERATIONS = ("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/", "MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/",
                       "MICROSOFT.KEYVAULT/VAULTS/WRITE")
LIFECYCLE_OPERATIONS = ("/START/ACTION", "/STOP/ACTION", "/SUSPEND/ACTION", "/RESUME/ACTION")


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One Activity Log event. Text fields as the log wrote them (operation and status keep their case)."""

    time: datetime
    category: str
    operation: str
    status: str
    caller: str | None
    resource_id: str
    correlation_id: str | None
    properties: Mapping[str, Any]  # the Properties bag, parsed ({} when absent or unreadable)
    properties_text: str  # the same bag as text, for "does this event name X anywhere"

    @property
    def succeeded(self) -> bool:
        return self.status.lower() in SUCCESS_STATUSES

    @property
    def is_job_write(self) -> bool:
        return self.operation.upper() == "MICROSOFT.APP/JOBS/WRITE"

    @property
    def is_identity_change(self) -> bool:
        return self.operation.upper().startswith(IDENTITY_OPERATIONS)

    @property
    def is_lifecycle(self) -> bool:
        return self.operation.upper().endswith(LIFECYCLE_OPERATIONS)


def activity_row(row: Mapping[str, Any]) -> ActivityRow | None:
    """A row -> an ActivityRow; None when it has no readable time."""
    time = time_or_none(row.get("TimeGenerated"))
    if time is None:
        return None
    raw = row.get("Properties")
    return ActivityRow(
        time=time,
        category=str(row.get("CategoryValue") or ""),
        operation=str(row.get("OperationNameValue") or ""),
        status=str(row.get("ActivityStatusValue") or ""),
        caller=text_or_none(row.get("Caller")),
        resource_id=str(row.get("ResourceId") or ""),
        correlation_id=text_or_none(row.get("CorrelationId")),
        properties=as_mapping(raw),
        properties_text=_as_text(raw),
    )


def activity_rows(rows: Iterable[Mapping[str, Any]]) -> list[ActivityRow]:
    """Rows -> events, newest first; events at the same moment keep the query's (total) order."""
    events = [e for e in (activity_row(row) for row in rows) if e is not None]
    return sorted(events, key=lambda e: e.time, reverse=True)


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A JSON object given as a mapping or as its text; {} for anything else (or text cut short)."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}  # the Activity Log truncates long bags
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def text_or_none(value: Any) -> str | None:
    """Stripped text, None when empty or absent."""
    return str(value).strip() or None if value is not None else None
