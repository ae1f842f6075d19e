"""What changed: template diffs between executions, and the Activity Log event that made them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.model import Container, Execution, Job, SuspectedChange

SUCCESS_STATUSES = frozenset({"success", "succeeded"})
# Operations that can break a job without touching it: access to what it reads, and lifecycle actions
# after which event scaling has been seen to stop silently.
IDENTITY_OPERATIONS = ("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/", "MICROSOFT.KEYVAULT/VAULTS/ACCESSPOLICIES/",
                       "MICROSOFT.KEYVAULT/VAULTS/WRITE")
LIFECYCLE_OPERATIONS = ("/START/ACTION", "/STOP/ACTION", "/SUSPEND/ACTION", "/RESUME/ACTION")


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    time: datetime
    category: str
    operation: str
    status: str
    caller: str | None
    resource_id: str
    correlation_id: str | None
    properties: str

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


def parse_activity(rows: Iterable[Mapping[str, Any]]) -> list[ActivityEvent]:
    events = [
        ActivityEvent(
            time=row["TimeGenerated"],
            category=str(row.get("CategoryValue") or ""),
            operation=str(row.get("OperationNameValue") or ""),
            status=str(row.get("ActivityStatusValue") or ""),
            caller=row.get("Caller") or None,
            resource_id=str(row.get("ResourceId") or ""),
            correlation_id=row.get("CorrelationId") or None,
            properties=str(row.get("Properties") or ""),
        )
        for row in rows
        if row.get("TimeGenerated") is not None
    ]
    return sorted(events, key=lambda e: e.time, reverse=True)


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
            changes.append(f"{prefix}image {a.image} -> {b.image}")
        if a.memory != b.memory and a.memory and b.memory:
            changes.append(f"{prefix}memory {a.memory} -> {b.memory}")
        if a.cpu != b.cpu and a.cpu is not None and b.cpu is not None:
            changes.append(f"{prefix}cpu {a.cpu:g} -> {b.cpu:g}")
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


def suspect(
    job: Job,
    events: Sequence[ActivityEvent],
    diff: Sequence[str],
    trouble_began: datetime | None,
) -> SuspectedChange | None:
    """The change most likely behind trouble that began at `trouble_began` (None: no trouble seen)."""
    before = [e for e in events if e.succeeded and (trouble_began is None or e.time <= trouble_began)]
    job_write = next((e for e in before if e.is_job_write and e.resource_id.lower() == job.ref.id.lower()), None)
    # Access changes are read subscription-wide; only those touching what this job depends on count.
    deps = [d for d in job.dependencies if d]
    identity = next((e for e in before if e.is_identity_change
                     and any(d in (e.resource_id + " " + e.properties).lower() for d in deps)), None)
    lifecycle = next((e for e in before if e.is_lifecycle), None)
    what = "; ".join(diff)
    if job_write is not None:
        return SuspectedChange(job_write.time, job_write.caller, job_write.operation,
                               what or "job configuration changed (scale rules, secrets and timeouts are not "
                               "recorded in execution templates: compare with infrastructure-as-code)")
    if identity is not None:
        verb = "removed" if identity.operation.upper().endswith("/DELETE") else "changed"
        target = identity.resource_id.rsplit("/providers/", 1)[-1] or identity.resource_id
        return SuspectedChange(identity.time, identity.caller, identity.operation, f"access {verb} on {target}")
    if lifecycle is not None:
        return SuspectedChange(lifecycle.time, lifecycle.caller, lifecycle.operation,
                               "job started/stopped/suspended/resumed by hand: event scaling can stop silently "
                               "after this")
    if what:
        modified_at = job.last_modified_at
        if modified_at is not None and (trouble_began is None or modified_at <= trouble_began):
            return SuspectedChange(modified_at, job.last_modified_by, "MICROSOFT.APP/JOBS/WRITE", what)
        return SuspectedChange(None, None, None, what)
    return None


def template_diff_between(last_good: Execution | None, reference: Sequence[Container]) -> list[str]:
    return container_diff(last_good.containers, reference) if last_good else []
