"""What changed: template diffs between executions, and the Activity Log event that made them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.evidence.activity_rows import ActivityRow, activity_rows
from bot.model import Container, Job, SuspectedChange

NOT_RECORDED_WHAT = ("job configuration changed (scale rules, secrets and timeouts are not recorded in execution "
                     "templates: compare with infrastructure-as-code)")
# A write of the job this close before the trouble is a suspect even when no log kept what it changed.
UNRECORDED_WRITE_LOOKBACK = timedelta(hours=24)

# The verdict's view of an Activity Log event is the one reading of its row.
ActivityEvent = ActivityRow
parse_activity = activity_rows


def container_diff(before: Sequence[Container], after: Sequence[Container]) -> list[str]:
    """Human-readable differences between two container templates (image, cpu/memory, env names)."""
    changes: list[str] = []
    old = {c.name.lower(): c for c in before}
    new = {c.name.lower(): c for c in after}
    single = len(old) == 1 and len(new) == 1
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            changes.append(f"container {(a or b).name} {'added' if a is None else 'removed'}")  # type: ignore[union-attr]
            continue
        prefix = "" if single else f"{a.name}: "
        if a.image != b.image:
            changes.append(f"{prefix}image {a.image} → {b.image}")
        if a.memory != b.memory and a.memory and b.memory:
            changes.append(f"{prefix}memory {a.memory} → {b.memory}")
        if a.cpu != b.cpu and a.cpu is not None and b.cpu is not None:
            changes.append(f"{prefix}cpu {a.cpu:g} → {b.cpu:g}")
        # A template without any env list says nothing about env (some payloads omit it): compare only
        # when both sides list their variables.
        both = bool(a.env_names) and bool(b.env_names)
        added = sorted(set(b.env_names) - set(a.env_names)) if both else []
        removed = sorted(set(a.env_names) - set(b.env_names)) if both else []
        if added:
            changes.append(f"{prefix}env added {', '.join(added)}")
        if removed:
            changes.append(f"{prefix}env removed {', '.join(removed)}")
    return changes


def job_write_before(job: Job, events: Sequence[ActivityEvent], moment: datetime | None) -> ActivityEvent | None:
    """The newest successful write of the job itself at or before `moment` (None: any time)."""
    return next((e for e in events if e.succeeded and e.is_job_write and e.resource_id.lower() == job.ref.id.lower()
                 and (moment is None or e.time <= moment)), None)


def suspect(
    job: Job,
    events: Sequence[ActivityEvent],
    diff: Sequence[str],
    trouble_began: datetime | None,
) -> SuspectedChange | None:
    """The change most likely behind trouble that began at `trouble_began` (None: no trouble seen).

    In order: a write of the job itself; an access change on what the job depends on; any other change on
    what it depends on (a key rotation on the scale rule's storage account); a manual start/stop/suspend.
    """
    before = [e for e in events if e.succeeded and (trouble_began is None or e.time <= trouble_began)]
    job_write = job_write_before(job, events, trouble_began)
    own_ids = {job.ref.id.lower(), job.environment_id.lower()}
    deps = [d for d in job.dependencies if d]

    def touches_dependency(event: ActivityEvent) -> bool:
        text = (event.resource_id + " " + event.properties_text).lower()
        return event.resource_id.lower() not in own_ids and any(d in text for d in deps)

    identity = next((e for e in before if e.is_identity_change and touches_dependency(e)), None)
    dependency = next((e for e in before if e.category.lower() == "administrative" and touches_dependency(e)), None)
    lifecycle = next((e for e in before if e.is_lifecycle), None)
    what = "; ".join(diff)
    if job_write is not None:
        return SuspectedChange(job_write.time, job_write.caller, job_write.operation, what or NOT_RECORDED_WHAT)
    if identity is not None:
        verb = "removed" if identity.operation.upper().endswith("/DELETE") else "changed"
        who = " for the job's managed identity" if _names_principal(identity, deps) else ""
        return SuspectedChange(identity.time, identity.caller, identity.operation,
                               f"role assignment {verb} on {_parent(identity.resource_id)}{who}")
    if dependency is not None:
        return SuspectedChange(dependency.time, dependency.caller, dependency.operation,
                               f"{_verb(dependency.operation)} on {_parent(dependency.resource_id)}, which the job "
                               "depends on")
    if lifecycle is not None:
        return SuspectedChange(lifecycle.time, lifecycle.caller, lifecycle.operation,
                               "job started/stopped/suspended/resumed by hand: event scaling can stop silently "
                               "after this")
    modified_at = job.last_modified_at
    if what:
        if modified_at is not None and (trouble_began is None or modified_at <= trouble_began):
            return SuspectedChange(modified_at, job.last_modified_by, "MICROSOFT.APP/JOBS/WRITE", what)
        return SuspectedChange(None, None, None, what)
    if (modified_at is not None and trouble_began is not None
            and timedelta(0) <= trouble_began - modified_at <= UNRECORDED_WRITE_LOOKBACK):
        # The job says it was written shortly before the trouble, and no log kept what changed: say so.
        return SuspectedChange(modified_at, job.last_modified_by, "MICROSOFT.APP/JOBS/WRITE", NOT_RECORDED_WHAT)
    return None


def is_job_definition_change(change: SuspectedChange) -> bool:
    """Only a change of the job's own definition can be undone by rolling the job back."""
    return change.operation is None or change.operation.upper() == "MICROSOFT.APP/JOBS/WRITE"


def _parent(resource_id: str) -> str:
    """'…/vaults/kv-x/providers/microsoft.authorization/roleassignments/1' -> 'vaults/kv-x'."""
    marker = "/providers/microsoft.authorization/"
    lowered = resource_id.lower()
    base = resource_id[: lowered.index(marker)] if marker in lowered else resource_id
    parts = [p for p in base.split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else base


def _verb(operation: str) -> str:
    """'MICROSOFT.STORAGE/STORAGEACCOUNTS/REGENERATEKEY/ACTION' -> 'regeneratekey'; '…/WRITE' -> 'write'."""
    parts = [p for p in operation.lower().split("/") if p]
    if len(parts) >= 2 and parts[-1] == "action":
        return parts[-2]
    return parts[-1] if parts else operation


def _names_principal(event: ActivityEvent, deps: Sequence[str]) -> bool:
    guids = [d for d in deps if len(d) == 36 and d.count("-") == 4]
    return any(g in event.properties_text.lower() for g in guids)
