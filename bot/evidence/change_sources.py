"""Raw change rows -> ChangeRecords: Resource Graph `resourcechanges` rows and Activity Log events.

Pure parsing: the rows arrive as the reads return them (Resource Graph `data[]` objects; Activity Log rows
as kql/config_changes.kql projects them, `Properties` being the event's Properties_d as a JSON string).
Nothing here calls Azure. A malformed row is skipped or parsed as far as it goes, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.evidence.activity_rows import ActivityRow, activity_row, as_mapping, text_or_none
from bot.evidence.arm_time import time_or_none
from bot.evidence.callers import caller_kind
from bot.evidence.change_diff import diff_json, is_secret_path, parse_path, redact
from bot.evidence.change_kinds import NOT_RECORDED, operation_verb, resource_kind
from bot.evidence.change_match import summarise
from bot.evidence.change_records import VALUE_CHANGED, ChangeRecord, ChangeSource, PropertyChange, ResourceKind

# Properties the platform changes by itself, or that only GET returns: never "what changed".
_NOISE = re.compile(r"^(systemdata|etag|id|name|type|properties\.(provisioningstate|eventstreamendpoint|"
                    r"outboundipaddresses|latestrevision\w*|defaultdomain|staticip|runningstatedetails))(\.|\[|$)")
_FAILED = frozenset({"failed", "failure"})
_SUCCEEDED = frozenset({"succeeded", "success"})
_READS = ("list", "read", "validate", "check", "get")
_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?)", re.IGNORECASE)
# An Activity Log write and the ARM body's systemData clock differ by seconds; a later write by minutes.
_DRIFT_SLACK_S = 60.0


def resource_graph_records(rows: Iterable[Mapping[str, Any]]) -> list[ChangeRecord]:
    """`resourcechanges` rows (or their `properties` bag alone) -> records, newest first."""
    records = [r for r in (_graph_record(row) for row in rows) if r is not None]
    return sorted(records, key=_newest_first)


def activity_records(rows: Iterable[Mapping[str, Any]], *,
                     current: Iterable[Mapping[str, Any]] = ()) -> list[ChangeRecord]:
    """Activity Log events -> records, newest first.

    Writes of one resource are chained in time order: each write's state is its `requestbody` (a PATCH
    body, one without `location`, is merged onto the state before it), and its changes are the diff
    against the previous write's state. The oldest write of a resource is the baseline: its before is not
    recorded, so a PUT there has no property changes, and a PATCH lists what it set with the before
    NOT_RECORDED (as does any property no earlier PUT showed). The last state is then compared with the
    resource as it is now (`current`, GET bodies): a property the last write set that now differs, changed
    after it by something the Activity Log did not show; that becomes one more record, attributed to the
    body's systemData.lastModifiedBy. Deletes carry what was deleted (from `responseBody` where the event
    has it: role assignments); actions (regenerateKeys, start/stop/suspend/resume) carry no properties.
    """
    events = [e for e in (_event(row) for row in rows) if e is not None]
    records: list[ChangeRecord] = []
    states: dict[str, Any] = {}
    complete: dict[str, bool] = {}
    last_write: dict[str, ActivityRow] = {}
    for event in sorted(_settled(events), key=lambda e: e.time):
        key = event.resource_id.lower()
        verb = operation_verb(event.operation)
        if verb == "write" and resource_kind(event.resource_id) == ResourceKind.ROLE_ASSIGNMENT:
            records.append(_record(event, _created(_body(event, "requestbody"))))
        elif verb == "write" and _access_policy(event):
            # …/vaults/kv/accessPolicies/remove names the kind of edit; what changed is the vault.
            vault = re.sub(r"/accesspolicies/[^/]*/?$", "", event.resource_id, flags=re.IGNORECASE)
            records.append(_record(replace(event, resource_id=vault), _access_policy_changes(event)))
        elif verb == "write":
            body, before = _body(event, "requestbody"), states.get(key)
            records.append(_record(event, _write_changes(before, body, complete.get(key, False))))
            # A PUT (with `location`) is the whole resource; a PATCH only says what it set.
            complete[key] = body is not None and (not _partial(body) or complete.get(key, False))
            states[key] = _state_after(before, body)
            last_write[key] = event
        elif verb == "delete":
            records.append(_record(event, _removed(_body(event, "responseBody"))))
            states.pop(key, None)
        elif not verb.startswith(_READS):
            records.append(_record(event, ()))
    for body in current:
        drift = _drift(body, states, last_write)
        if drift is not None:
            records.append(drift)
    return sorted(records, key=_newest_first)


def execution_record(job_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *,
                     time: datetime | None, caller: str | None = None) -> ChangeRecord | None:
    """What changed between two executions' templates (`properties.template` of the last good and the first
    failing execution), as the job's own paths; None when the templates are the same or unknown."""
    if not before or not after:
        return None
    changes = _meaningful(diff_json({"properties": {"template": before}}, {"properties": {"template": after}}))
    if not changes:
        return None
    record = ChangeRecord(time=time, resource_id=job_id, kind=resource_kind(job_id),
                          operation="MICROSOFT.APP/JOBS/WRITE", caller=caller, caller_kind=caller_kind(caller),
                          source=ChangeSource.EXECUTIONS, changes=tuple(_safe(c) for c in changes))
    return replace(record, what=summarise(record))


# --- Resource Graph ---------------------------------------------------------------------------------------

def _graph_record(row: Mapping[str, Any]) -> ChangeRecord | None:
    props = as_mapping(row.get("properties")) if "properties" in row else row
    target = str(props.get("targetResourceId") or "")
    change_type = str(props.get("changeType") or "")
    if not target or not change_type:
        return None
    attributes = as_mapping(props.get("changeAttributes"))
    changes: list[PropertyChange] = []
    for path, value in sorted(as_mapping(props.get("changes")).items()):
        entry = as_mapping(value)
        raw = PropertyChange(str(path), _graph_value(entry.get("previousValue")), _graph_value(entry.get("newValue")))
        if not _NOISE.match(raw.path.lower()) and raw.before != raw.after:
            changes.append(_safe(raw))  # compared before hiding: two hidden secrets look alike
    if change_type.lower() == "update" and not changes:
        return None  # only the platform's own bookkeeping changed (provisioningState Updating -> Succeeded)
    caller = text_or_none(attributes.get("changedBy"))
    # An update names the ARM operation behind it where Resource Graph recorded one (`Microsoft.App/jobs/write`):
    # the same operation the Activity Log names, so a job write reads as a job write whichever source saw it.
    operation = (text_or_none(attributes.get("operation")) if change_type.lower() == "update" else None) or change_type
    record = ChangeRecord(
        time=time_or_none(attributes.get("timestamp")), resource_id=target, kind=resource_kind(target),
        operation=operation, caller=caller,
        caller_kind=caller_kind(caller, text_or_none(attributes.get("changedByType"))),
        source=ChangeSource.RESOURCE_GRAPH, changes=tuple(changes), client=text_or_none(attributes.get("clientType")))
    return replace(record, what=summarise(record))


def _graph_value(value: Any) -> Any:
    # Older API versions and the docs write an absent side as the string "null".
    return None if value == "null" else value


# --- Activity Log ---------------------------------------------------------------------------------------

def _event(row: Mapping[str, Any]) -> ActivityRow | None:
    """An administrative event with its operation upper-cased and its status lower-cased (they are compared)."""
    event = activity_row(row)
    if event is None or not event.operation or event.category.lower() not in ("", "administrative"):
        return None
    return replace(event, operation=event.operation.upper(), status=event.status.lower())


def _body(event: ActivityRow, name: str) -> Any:
    """A JSON body the event carries as a string (`requestbody`, `responseBody`); None if absent or cut."""
    raw = next((v for k, v in event.properties.items() if k.lower() == name.lower()), None)
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        parsed = json.loads(raw) if isinstance(raw, str) and raw.strip() else None
    except ValueError:
        return None  # the Activity Log truncates long bodies
    return parsed if isinstance(parsed, dict) else None


def _record(event: ActivityRow, changes: Iterable[PropertyChange]) -> ChangeRecord:
    record = ChangeRecord(
        time=event.time, resource_id=event.resource_id, kind=resource_kind(event.resource_id),
        operation=event.operation, caller=event.caller, caller_kind=caller_kind(event.caller),
        source=ChangeSource.ACTIVITY_LOG, changes=tuple(_safe(c) for c in changes))
    return replace(record, what=summarise(record))


def _settled(events: list[ActivityRow]) -> Iterable[ActivityRow]:
    """One event per operation (Start/Started/Accepted/Succeeded share a correlation id), failed ones dropped.

    The body is on the Start event, the moment the change took effect on the Succeeded one: merge them.
    """
    groups: dict[tuple[str, str, str], list[ActivityRow]] = {}
    for event in events:
        key = (event.correlation_id or f"{event.time.isoformat()}", event.operation, event.resource_id.lower())
        groups.setdefault(key, []).append(event)
    for group in groups.values():
        statuses = {e.status for e in group}
        if statuses & _FAILED:
            continue
        done = next((e for e in sorted(group, key=lambda e: e.time) if e.status in _SUCCEEDED), None)
        merged: dict[str, Any] = {}
        for event in sorted(group, key=lambda e: e.time):
            merged.update({k: v for k, v in event.properties.items() if v not in (None, "")})
        base = done or min(group, key=lambda e: e.time)
        caller = base.caller or next((e.caller for e in group if e.caller), None)
        yield replace(base, caller=caller, properties=merged, properties_text=json.dumps(merged, default=str))


def _write_changes(before: Any, body: Any, complete: bool) -> tuple[PropertyChange, ...]:
    """What one write changed, given the state before it (None: not known) and whether that state is whole."""
    if body is None:
        return ()  # no body (or a truncated one): what it changed is not recorded
    if before is None:
        if not _partial(body):
            return ()  # a whole resource with nothing to compare it to
        return tuple(PropertyChange(c.path, NOT_RECORDED, c.after)
                     for c in _meaningful(diff_json(_skeleton(body), body)))
    changes = _meaningful(diff_json(before, _state_after(before, body)))
    if complete:
        return changes
    # Built only from PATCH bodies: a property missing from it was not absent, just not seen.
    return tuple(PropertyChange(c.path, NOT_RECORDED, c.after) if c.before is None else c for c in changes)


def _state_after(before: Any, body: Any) -> Any:
    """The resource after a write: None when the write's body is unknown (the chain starts again)."""
    if body is None:
        return None
    return _merge(before, body) if before is not None and _partial(body) else body


def _partial(body: Mapping[str, Any]) -> bool:
    # A PUT of a tracked resource carries its location; a PATCH (`az containerapp job update`) does not.
    return "location" not in body


def _merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386): objects merge, null removes, anything else replaces."""
    if not isinstance(base, Mapping) or not isinstance(patch, Mapping):
        return patch
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def _meaningful(changes: Iterable[PropertyChange]) -> tuple[PropertyChange, ...]:
    return tuple(c for c in changes if not _NOISE.match(c.path.lower()) and not _same_quantity(c.before, c.after))


def _same_quantity(before: Any, after: Any) -> bool:
    """`1.0Gi` and `1Gi`: the service normalises memory; not a change."""
    a, b = _QUANTITY.fullmatch(str(before)), _QUANTITY.fullmatch(str(after))
    return bool(isinstance(before, str) and isinstance(after, str) and a and b
                and float(a.group(1)) == float(b.group(1)) and a.group(2).lower() == b.group(2).lower())


def _skeleton(value: Any) -> Any:
    """Objects kept, every leaf gone: diffing a body against it lists each leaf."""
    return {k: _skeleton(v) for k, v in value.items()} if isinstance(value, Mapping) else None


def _created(body: Any) -> tuple[PropertyChange, ...]:
    props = {"properties": _properties(body)}
    return diff_json(_skeleton(props), props)


def _removed(body: Any) -> tuple[PropertyChange, ...]:
    props = {"properties": _properties(body)}
    return diff_json(props, _skeleton(props))


def _properties(body: Any) -> Mapping[str, Any]:
    # Role assignment request bodies in the Activity Log spell it `Properties` (and `PrincipalId` …).
    return as_mapping(next((v for k, v in as_mapping(body).items() if k.lower() == "properties"), None))


def _access_policy(event: ActivityRow) -> bool:
    return (resource_kind(event.resource_id) == ResourceKind.KEY_VAULT
            and "/ACCESSPOLICIES/" in (event.operation + event.resource_id).upper())


def _access_policy_changes(event: ActivityRow) -> tuple[PropertyChange, ...]:
    """…/vaults/kv/accessPolicies/{add|replace|remove}: the policies in the body were added or removed."""
    policies = {"properties": {"accessPolicies": _properties(_body(event, "requestbody")).get("accessPolicies") or []}}
    empty: dict[str, Any] = {"properties": {"accessPolicies": []}}
    if event.resource_id.lower().rstrip("/").endswith("/remove"):
        return diff_json(policies, empty)
    return diff_json(empty, policies)


def _drift(body: Mapping[str, Any], states: Mapping[str, Any], last_write: Mapping[str, ActivityRow]
           ) -> ChangeRecord | None:
    key = str(body.get("id") or "").lower()
    state, write = states.get(key), last_write.get(key)
    system = as_mapping(body.get("systemData"))
    modified_at = time_or_none(system.get("lastModifiedAt"))
    if state is None or write is None or modified_at is None \
            or (modified_at - write.time).total_seconds() <= _DRIFT_SLACK_S:
        return None
    # Only what the last write set and is now different: GET adds defaults and read-only fields, and
    # never returns secret values.
    changes = tuple(c for c in _meaningful(diff_json(state, body))
                    if c.before is not None and not _secret(c.path))
    if not changes:
        return None
    caller = text_or_none(system.get("lastModifiedBy"))
    record = ChangeRecord(
        time=modified_at, resource_id=str(body.get("id")), kind=resource_kind(key),
        operation=f"{body.get('type') or 'UNKNOWN'}/WRITE".upper(), caller=caller,
        caller_kind=caller_kind(caller, text_or_none(system.get("lastModifiedByType"))),
        source=ChangeSource.ACTIVITY_LOG, changes=tuple(_safe(c) for c in changes))
    return replace(record, what=summarise(record))


# --- shared -----------------------------------------------------------------------------------------------

def _safe(change: PropertyChange) -> PropertyChange:
    """No secret leaves here: a secret path shows only that it changed, and secrets inside values are hidden."""
    try:
        segments = parse_path(change.path)
    except ValueError:
        segments = None  # a path we cannot read might be anything: hide its values
    if segments is None or is_secret_path(segments):
        return PropertyChange(change.path, None if change.before is None else VALUE_CHANGED,
                              None if change.after is None else VALUE_CHANGED)
    return PropertyChange(change.path, redact(change.before, segments), redact(change.after, segments))


def _secret(path: str) -> bool:
    try:
        return is_secret_path(path)
    except ValueError:
        return True


def _newest_first(record: ChangeRecord) -> tuple[float, str, str]:
    stamp = record.time.timestamp() if record.time is not None else float("-inf")
    return (-stamp, record.resource_id.lower(), record.changes[0].path if record.changes else "")
