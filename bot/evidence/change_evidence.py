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
from bot.evidence.change_diff import Index, Item, Key, Segment, format_path, parse_path
from bot.evidence.change_kinds import NOT_RECORDED, operation_verb, path_shape
from bot.evidence.change_match import by_salience, summarised
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
    bodies: dict[str, Mapping[str, Any]] = dict(_seen_bodies(records))
    bodies.update({str(b.get("id") or "").lower(): b for b in current if isinstance(b, Mapping)})
    named = summarised([_named_items(r, bodies.get(r.resource_id.lower())) for r in kept], job_principals=principals)
    # The property the one line names comes first in the diff too: the report shows the first few.
    named = [replace(r, changes=tuple(by_salience(r.changes, r.kind))) for r in named]
    return tuple(sorted(named, key=_newest_first))


def _seen_bodies(records: Sequence[ChangeRecord]) -> dict[str, dict[str, Any]]:
    """What the records' own new values say each resource looks like (a PATCH that set a whole list of
    workload profiles names them): enough to name list positions where the resource itself was not read."""
    bodies: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: r.time.timestamp() if r.time else float("-inf")):
        for change in record.changes:
            try:
                segments = parse_path(change.path)
            except ValueError:
                continue
            names = [s.name for s in segments if isinstance(s, Key)]
            if not names or len(names) != len(segments) or change.after is None:
                continue
            node = bodies.setdefault(record.resource_id.lower(), {})
            for name in names[:-1]:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = node[name] = {}
                node = child
            node[names[-1]] = change.after
    return bodies


def _named_items(record: ChangeRecord, body: Mapping[str, Any] | None) -> ChangeRecord:
    """The record with list positions named as the resource names them: Resource Graph writes `rules[1]` and
    `containers[0].env[0].value`, an on-call engineer knows `rules[name=parcels-us]` and
    `containers[name=worker].env[name=DB_HOST].value` (read from the resource as it is now, or as the
    records' own bodies show it); a position nothing names stays a position."""
    if body is None:
        return record
    return replace(record, changes=tuple(replace(c, path=_name_positions(c.path, body)) for c in record.changes))


def _name_positions(path: str, body: Mapping[str, Any]) -> str:
    try:
        segments = parse_path(path)
    except ValueError:
        return path
    node: Any = body
    out: list[Segment] = []
    for segment in segments:
        if isinstance(segment, Index) and isinstance(node, list) and 0 <= segment.position < len(node):
            node = node[segment.position]
            name = node.get("name") if isinstance(node, Mapping) else None
            out.append(Item("name", name) if isinstance(name, str) and name else segment)
            continue
        out.append(segment)
        if isinstance(segment, Key) and isinstance(node, Mapping):
            node = node.get(segment.name)
        elif isinstance(segment, Item) and isinstance(node, list):
            node = next((i for i in node if isinstance(i, Mapping) and str(i.get(segment.field)) == segment.value),
                        None)
        else:
            node = None
    return format_path(out)


def relevant(job: Job, record: ChangeRecord) -> bool:
    """The job itself, its environment, or a resource (or role assignment) naming what it depends on."""
    resource = record.resource_id.lower()
    if resource in {job.ref.id.lower(), job.environment_id.lower()}:
        return True
    text = " ".join([resource, *(f"{c.path} {c.before} {c.after}" for c in record.changes)]).lower()
    return any(d.lower() in text for d in job.dependencies if d)


def _one_per_change(records: Sequence[ChangeRecord]) -> list[ChangeRecord]:
    """Sources that saw the same change give one record: the one that knows most of what it was before (a
    PATCH body cannot say; Resource Graph and the execution templates can).

    The same change is the same resource and kind of operation (a Resource Graph `Update` is an Activity
    Log `…/WRITE`) within a minute or so (the two clocks differ by seconds), naming the same properties
    where both name any."""
    kept: list[ChangeRecord] = []
    for record in sorted(records, key=lambda r: r.time.timestamp() if r.time else float("-inf")):
        twin = next((i for i, k in enumerate(kept) if _same_change(k, record)), None)
        if twin is None:
            kept.append(record)
        elif _knowledge(record) > _knowledge(kept[twin]):
            kept[twin] = record
    return kept


_WRITES = frozenset({"write", "update", "create"})
_SAME_CHANGE_S = 90.0


def _same_change(a: ChangeRecord, b: ChangeRecord) -> bool:
    if a.resource_id.lower() != b.resource_id.lower() or _verb(a) != _verb(b):
        return False
    if a.time is None or b.time is None:
        if (a.time, a.operation.upper()) != (b.time, b.operation.upper()):
            return False
    elif abs((a.time - b.time).total_seconds()) > _SAME_CHANGE_S:
        return False
    if a.source is b.source and a.time != b.time:
        return False  # one source does not record one change twice
    paths_a, paths_b = ({path_shape(c.path) for c in r.changes} for r in (a, b))
    return not paths_a or not paths_b or any(_within(x, y) or _within(y, x) for x in paths_a for y in paths_b)


def _within(path: str, whole: str) -> bool:
    """`properties.workloadprofiles[*].maximumcount` is within `properties.workloadprofiles` (a PATCH body
    sets the whole list where Resource Graph names the one property)."""
    return path == whole or path.startswith(whole + ".") or path.startswith(whole + "[")


def _verb(record: ChangeRecord) -> str:
    verb = operation_verb(record.operation)
    return "write" if verb in _WRITES else verb


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
