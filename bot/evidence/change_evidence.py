"""The change records of one triage: every source that knew something, kept to what the job touches.

Sources, as issue 10 orders them: Resource Graph change history (when read), Activity Log request bodies,
and the execution templates of the last good and the failing runs. A change to something the job does
not depend on (another team's vault in the same subscription) is not evidence about this job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.evidence.callers import caller_kind
from bot.evidence.change_kinds import NOT_RECORDED
from bot.evidence.change_match import summarised
from bot.evidence.change_records import ChangeRecord, ChangeSource
from bot.evidence.change_sources import activity_records, execution_record, resource_graph_records
from bot.evidence.payloads import SuspectedChange
from bot.model import Container, Job

JOB_WRITE = "MICROSOFT.APP/JOBS/WRITE"
# Issue 10's order of trust: change history first, then request bodies, then what executions ran.
_SOURCE_ORDER = (ChangeSource.RESOURCE_GRAPH, ChangeSource.ACTIVITY_LOG, ChangeSource.EXECUTIONS)


def change_records(job: Job, activity_rows: Iterable[Mapping[str, Any]], *,
                   graph_rows: Iterable[Mapping[str, Any]] = (), current: Iterable[Mapping[str, Any]] = (),
                   last_good: Sequence[Container] | None = None, reference: Sequence[Container] = (),
                   changed_at: datetime | None = None, changed_by: str | None = None) -> tuple[ChangeRecord, ...]:
    """Relevant records, newest first, each `what` written knowing the job's identities."""
    records = [*resource_graph_records(graph_rows), *activity_records(activity_rows, current=current)]
    if last_good is not None:
        template = execution_record(job.ref.id, _template(last_good), _template(reference), time=changed_at,
                                    caller=changed_by)
        if template is not None:
            records.append(template)
    kept = _one_per_change([r for r in records if relevant(job, r)])
    principals = [d for d in job.dependencies if _is_guid(d)]
    ordered = sorted(summarised(kept, job_principals=principals), key=_newest_first)
    return tuple(ordered)


def relevant(job: Job, record: ChangeRecord) -> bool:
    """The job itself, its environment, or a resource (or role assignment) naming what it depends on."""
    resource = record.resource_id.lower()
    if resource in {job.ref.id.lower(), job.environment_id.lower()}:
        return True
    text = " ".join([resource, *(f"{c.path} {c.before} {c.after}" for c in record.changes)]).lower()
    return any(d.lower() in text for d in job.dependencies if d)


def _one_per_change(records: Sequence[ChangeRecord]) -> list[ChangeRecord]:
    """Sources that saw the same change (one moment, resource and operation) give one record: the one that
    knows most of what it was before (a PATCH body cannot say; the execution templates can)."""
    best: dict[tuple[Any, ...], ChangeRecord] = {}
    for record in records:
        key = (record.time, record.resource_id.lower(), record.operation.upper())
        if key not in best or _knowledge(record) > _knowledge(best[key]):
            best[key] = record
    return list(best.values())


def _knowledge(record: ChangeRecord) -> tuple[int, int, int]:
    known = sum(1 for c in record.changes if c.before != NOT_RECORDED)
    return (known, -_SOURCE_ORDER.index(record.source), len(record.changes))


def _template(containers: Sequence[Container]) -> dict[str, Any]:
    """An execution template's JSON as ARM writes it, from what the model kept (env names only)."""
    return {"containers": [
        {"name": c.name, "image": c.image,
         "resources": {k: v for k, v in (("cpu", c.cpu), ("memory", c.memory)) if v is not None},
         **({"env": [{"name": n} for n in c.env_names]} if c.env_names else {})}
        for c in containers]}


def _newest_first(record: ChangeRecord) -> tuple[float, str]:
    return (-(record.time.timestamp() if record.time else float("-inf")), record.resource_id.lower())


def _is_guid(text: str) -> bool:
    return [len(p) for p in text.split("-")] == [8, 4, 4, 4, 12]


def as_suspected(record: ChangeRecord, job_id: str, *, what: str | None = None,
                 also: Sequence[ChangeRecord] = ()) -> SuspectedChange:
    """A change record in the report's shape; `also` are the other changes, most likely first."""
    return SuspectedChange(
        time=record.time, caller=record.caller, operation=record.operation, what=what or record.what,
        changes=record.changes, source=record.source,
        resource=None if record.resource_id.lower() == job_id.lower() else record.resource_id,
        caller_kind=record.caller_kind,
        also=tuple(as_suspected(r, job_id) for r in also))


def with_evidence(suspected: SuspectedChange, records: Sequence[ChangeRecord], job_id: str) -> SuspectedChange:
    """The change the Activity Log and templates point at, with the property changes and source behind it.

    Its one line stays as found; the records add before -> after, where it was read and who made it."""
    operation = (suspected.operation or "").upper()
    same_event = [r for r in records if r.time == suspected.time and r.operation.upper() == operation
                  and r.source is not ChangeSource.EXECUTIONS]
    template = next((r for r in records if r.source is ChangeSource.EXECUTIONS), None)
    detailed = next((r for r in same_event if r.changes), None)
    if detailed is None and operation == JOB_WRITE and template is not None:
        detailed = template
    chosen = detailed or (same_event[0] if same_event else None)
    if chosen is None:
        return replace(suspected, source=ChangeSource.EXECUTIONS, caller_kind=caller_kind(suspected.caller))
    return replace(as_suspected(chosen, job_id, what=suspected.what), time=suspected.time, caller=suspected.caller,
                   operation=suspected.operation, caller_kind=caller_kind(suspected.caller))
