"""A revert of configuration or access: what the suspected change set outside the image, the commands that
put it back, and whether jobbot can check it is back. Pure.

An image rollback restores what execution templates hold; a timeout, a scale rule, an identity, a role
assignment or the environment's workload profile needs its own revert (issue 10). The commands come from
`bot.evidence.change_revert` (for a person to run: jobbot only reads Azure); this module decides whether a
checklist can be built on them and what the bot re-reads to verify.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.checklists.model import Revert
from bot.evidence.change_diff import Index, Item, Key, parse_path
from bot.evidence.change_kinds import NOT_RECORDED, is_deletion, record_tags, resource_kind
from bot.evidence.change_match import CAUSE_TAGS
from bot.evidence.change_records import VALUE_CHANGED, ChangeRecord, ChangeSource
from bot.evidence.change_revert import TEMPLATE, revert_commands_for
from bot.evidence.payloads import SuspectedChange
from bot.model import Cause

ROLE_ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments/"


def record_of(change: SuspectedChange, job_id: str) -> ChangeRecord:
    """The suspected change as a change record of what it touched (the job unless it names a resource)."""
    resource = change.resource or job_id
    return ChangeRecord(time=change.time, resource_id=resource, kind=resource_kind(resource),
                        operation=change.operation or "", caller=change.caller, caller_kind=change.caller_kind,
                        source=change.source or ChangeSource.EXECUTIONS, changes=change.changes)


def reverts_for(change: SuspectedChange, job_id: str) -> tuple[Revert, ...]:
    """The properties to put back (outside the template), with the value each had before the change. A
    deleted resource with no recorded properties is one revert of the resource itself (it exists again)."""
    resource = change.resource or job_id
    found = tuple(Revert(resource, c.path, c.before, c.after) for c in change.changes
                  if not c.path.startswith(TEMPLATE) and c.before != NOT_RECORDED)
    if not found and change.resource and is_deletion(record_of(change, job_id)):
        return (Revert(resource, "", "exists", None),)
    return found


def explains(cause: Cause, change: SuspectedChange, job_id: str) -> bool:
    """The change is of the kind that best explains this failure mode (capacity <-> workload profile …)."""
    tiers = CAUSE_TAGS.get(cause.value) or ()
    return bool(tiers) and bool(record_tags(record_of(change, job_id)) & tiers[0])


def config_refusal(change: SuspectedChange, job_id: str) -> str | None:
    """Why no configuration revert can be guided for this change (None when one can): nothing recorded to go
    back to, or no command that puts it back."""
    commands = revert_commands_for(change, job_id)
    unrecorded = any(c.before == NOT_RECORDED for c in change.changes)
    if not reverts_for(change, job_id) and (unrecorded or commands):
        how = (" and run " + " ; ".join(f"`{c}`" for c in commands)) if commands else ""
        return (f"the value before the change is not recorded ({change.what}): take it from infrastructure-as-code"
                f"{how}")
    if not commands or not reverts_for(change, job_id):
        return (f"no command puts this change back ({change.what}): undo it where it was made (a rotated key or a "
                "regenerated credential cannot be restored: give what reads it the new one)")
    return None


# --- verification: is the value back? ---------------------------------------------------------------------


def value_at(body: Any, path: str) -> Any:
    """The value at `path` in an ARM body (None when absent), reading keys, positions and named items."""
    current = body
    for segment in parse_path(path):
        if isinstance(segment, Key):
            if not isinstance(current, Mapping):
                return None
            current = _key(current, segment.name)
        elif isinstance(segment, Index):
            if not isinstance(current, list) or not -len(current) <= segment.position < len(current):
                return None
            current = current[segment.position]
        elif isinstance(segment, Item):
            if not isinstance(current, list):
                return None
            current = next((i for i in current if isinstance(i, Mapping)
                            and str(i.get(segment.field, "")).lower() == segment.value.lower()), None)
        if current is None:
            return None
    return current


def is_back(current: Any, before: Any) -> bool:
    """The resource holds `before` again: the same scalar (1800 and "1800" alike, case and spaces aside), and
    for objects and lists every part of `before` (Azure adds read-only fields such as principalId)."""
    if before is None:
        return current is None or current in ({}, [])
    if isinstance(before, Mapping):
        return isinstance(current, Mapping) and all(
            is_back(_key(current, str(k)), v) for k, v in before.items() if v is not None or _has(current, str(k)))
    if isinstance(before, list):
        return isinstance(current, list) and all(any(is_back(c, b) for c in current) for b in before)
    return current is not None and _plain(current) == _plain(before)


def unreadable_value(revert: Revert) -> bool:
    """A secret or env value: jobbot never reads those, so it cannot check them."""
    return VALUE_CHANGED in (revert.before, revert.after)


def is_role_assignment(resource: str) -> bool:
    return ROLE_ASSIGNMENTS in resource.lower()


def deleted_assignment(reverts: Sequence[Revert]) -> tuple[str, str, str] | None:
    """(principal id, role definition id, scope) of a deleted role assignment, from its recorded properties."""
    values = {r.path.rsplit(".", 1)[-1].lower(): r.before for r in reverts if r.before is not None}
    principal, role = values.get("principalid"), values.get("roledefinitionid")
    if not reverts or not principal or not role:
        return None
    resource = reverts[0].resource
    at = resource.lower().find(ROLE_ASSIGNMENTS)
    scope = values.get("scope") or (resource[:at] if at > 0 else "")
    return str(principal), str(role), str(scope)


def assignment_found(assignments: Sequence[Mapping[str, Any]], principal: str, role: str, scope: str) -> bool:
    """An assignment of `role` to `principal` at `scope` or above it (inherited) exists."""
    want_role = role.rstrip("/").rsplit("/", 1)[-1].lower()
    for item in assignments:
        props = item.get("properties") if isinstance(item.get("properties"), Mapping) else item
        assert isinstance(props, Mapping)
        if str(props.get("principalId", "")).lower() != principal.lower():
            continue
        if str(props.get("roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1].lower() != want_role:
            continue
        at = str(props.get("scope") or "").rstrip("/").lower()
        if not scope or not at or scope.lower() == at or scope.lower().startswith(at + "/"):
            return True
    return False


def _key(mapping: Mapping[str, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    lowered = name.lower()  # ARM is case-insensitive about resource ids used as keys
    return next((v for k, v in mapping.items() if str(k).lower() == lowered), None)


def _has(mapping: Mapping[str, Any], name: str) -> bool:
    return any(str(k).lower() == name.lower() for k in mapping)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return "".join(text.split()).lower()
