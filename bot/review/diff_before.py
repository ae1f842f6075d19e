"""Where `review --diff` finds the job as it was: pure functions over what was read (no Azure, no store).

In the order review.md §4 trusts them: a definition the user saved (`--before FILE`), jobbot's own masked
snapshot, Resource Graph's change history (each change after the moment undone, newest first), and last the
template of the execution that ran just before (image and resources only: nothing else is in it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml

from bot.evidence.change_diff import apply_diff, value_at
from bot.evidence.change_records import PropertyChange
from bot.evidence.change_sources import resource_graph_records
from bot.model import Execution

# Resource Graph keeps 14 days of change history: before that, undoing its changes proves nothing.
GRAPH_HISTORY = timedelta(days=14)


class BeforeSource:
    FILE = "file"
    SNAPSHOT = "snapshot"
    RESOURCE_GRAPH = "resource-graph"
    EXECUTIONS = "executions"


@dataclass(frozen=True, slots=True)
class Before:
    """The job's definition at the moment compared, and how it was known."""

    body: Mapping[str, Any]
    source: str  # a BeforeSource value
    note: str  # one line for the report: "jobbot's snapshot of 2026-12-01 09:00 UTC"
    masked: bool = False  # secret values already masked: compare with the current body masked the same way


class Unreadable(ValueError):
    """A before-state that cannot be used; the message is the report's "could not …" line."""


def from_file(text: str, name: str, job_id: str) -> Before:
    """A saved `az containerapp job show` (JSON or YAML, as the rollback checklist keeps it)."""
    try:
        body = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as error:
        raise Unreadable(f"could not read {name}: not JSON or YAML ({type(error).__name__})") from None
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if not isinstance(body, Mapping) or not isinstance(body.get("properties"), Mapping):
        raise Unreadable(f"could not read {name}: not a job definition (no `properties`)")
    saved = str(body.get("id") or "")
    if saved and saved.lower() != job_id.lower():
        raise Unreadable(f"could not use {name}: it is the definition of {saved}, not of this job")
    return Before(dict(body), BeforeSource.FILE, f"the definition saved in {name}")


def from_graph(current: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], job_id: str, at: datetime,
               now: datetime) -> Before:
    """The job now, with every Resource Graph change recorded after `at` undone (newest first, so each
    change's list positions refer to the state it left). Secret values come back as "value changed"."""
    if at < now - GRAPH_HISTORY:
        raise Unreadable("could not undo changes from Resource Graph: it keeps 14 days of history")
    records = [r for r in resource_graph_records(rows) if r.resource_id.lower() == job_id.lower()]
    later = [r for r in records if r.time is not None and r.time > at]  # newest first already
    body: Any = copy.deepcopy(dict(current))
    for record in later:
        if record.operation.lower() == "create":
            raise Unreadable(f"could not find the job before {at:%Y-%m-%d %H:%M} UTC: Resource Graph says it was "
                             "created after that")
        body = apply_diff(body, [PropertyChange(c.path, c.after, _like(c.before, value_at(body, c.path)))
                                 for c in record.changes])
    count = sum(len(r.changes) for r in later)
    return Before(body, BeforeSource.RESOURCE_GRAPH,
                  f"the job now with {count} change(s) Resource Graph recorded since undone")


def changed_between(rows: Iterable[Mapping[str, Any]], job_id: str, start: datetime, end: datetime
                    ) -> datetime | None:
    """When Resource Graph recorded a change of the job after `start` and at or before `end` (the newest), if it did:
    a snapshot taken at `start` is then not the job as it was at `end`."""
    times = [r.time for r in resource_graph_records(rows)
             if r.resource_id.lower() == job_id.lower() and r.time is not None and start < r.time <= end]
    return max(times, default=None)


def _like(value: Any, now: Any) -> Any:
    """Resource Graph writes numbers as text ("1800"): give the old value the type the property has now."""
    if isinstance(value, str) and isinstance(now, int | float) and not isinstance(now, bool):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and isinstance(now, int) else number
    return value


def from_executions(current: Mapping[str, Any], history: Sequence[Execution], at: datetime) -> Before:
    """The job now with the image and resources of the last execution started before `at` (as the change
    check's template diff reads them). Scale, timeouts and secrets are not in an execution's template."""
    earlier = sorted((e for e in history if e.start is not None and e.start <= at and e.containers),
                     key=lambda e: (e.start or at, e.name))
    if not earlier:
        raise Unreadable(f"could not find an execution before {at:%Y-%m-%d %H:%M} UTC to take its template from")
    last = earlier[-1]
    body: dict[str, Any] = copy.deepcopy(dict(current))
    ran = {c.name: c for c in last.containers}
    for container in ((body.get("properties") or {}).get("template") or {}).get("containers") or []:
        then = ran.get(str(container.get("name")))
        if then is None:
            continue
        container["image"] = then.image
        resources = dict(container.get("resources") or {})
        if then.cpu is not None:
            resources["cpu"] = then.cpu
        if then.memory:
            resources["memory"] = then.memory
        container["resources"] = resources
    return Before(body, BeforeSource.EXECUTIONS,
                  f"image and resources of execution {last.name} (other properties are not in execution "
                  "templates: taken as unchanged)")
