"""A suspected change as lines a person reads, the same in Slack, the terminal and the checklist.

Values are already safe (secret and env values arrive as "value changed"); long ones are cut here.
"""

from __future__ import annotations

import json
from typing import Any

from bot.evidence.change_records import CallerKind, PropertyChange
from bot.evidence.payloads import SuspectedChange

DIFF_SHOWN = 5
_VALUE_MAX = 80
_SOURCES = {"resource-graph": "Resource Graph change history", "activity-log": "the Activity Log",
            "executions": "execution templates"}


def diff_lines(change: SuspectedChange, limit: int = DIFF_SHOWN) -> list[str]:
    """'configuration.replicaTimeout: 1800 → 300', at most `limit`, then '+N more'."""
    lines = [_line(c) for c in change.changes[:limit]]
    hidden = len(change.changes) - len(lines)
    if hidden > 0:
        lines.append(f"+{hidden} more")
    return lines


def provenance(change: SuspectedChange) -> str:
    """How the change was made and where it was read: 'a pipeline, from the Activity Log, on kv-orders'."""
    parts = []
    if change.caller_kind is CallerKind.PIPELINE:
        parts.append("a pipeline")
    if change.source is not None:
        parts.append(f"from {_SOURCES.get(change.source.value, change.source.value)}")
    if change.resource:
        parts.append(f"on {change.resource.rstrip('/').rsplit('/', 1)[-1]}")
    return ", ".join(parts)


def _line(change: PropertyChange) -> str:
    path = change.path.removeprefix("properties.")
    return f"{path}: {_value(change.before)} → {_value(change.after)}"


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= _VALUE_MAX else text[: _VALUE_MAX - 1] + "…"


def owner_guidance(job_name: str, fallback: str | None) -> str:
    """What to do when a job has no owner: who hears about it meanwhile, and how to name one."""
    meanwhile = (f"meanwhile its alerts go to {fallback}" if fallback
                 else "meanwhile nobody is paged for it (set JOBBOT_ALERT_CHANNEL or slack.alert_channel)")
    return (f"no owner set: tag the job `owner` (or `oncall`), or set `jobs.{job_name}.owners.primary` in "
            f"jobbot.yaml; {meanwhile}")
