"""What each check found, as typed data: one frozen dataclass per check (and the small records inside).

The verdict, the Slack report, the terminal text and the checklists read these attributes; the JSON
report is made from them in one place (`bot.respond.report_json`), field by field in declaration order,
so the field names and their order here ARE the report's `checks[].data` contract. This module imports
nothing of the bot's: the model, the verdict and every renderer import it. A field declared with
`omitted_when_none()` is left out of the JSON when it is None (today's report omits, rather than nulls,
those keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.evidence.change_records import CallerKind, ChangeRecord, ChangeSource, PropertyChange


def omitted_when_none() -> Any:
    return field(default=None, metadata={"omit_none": True})


# --- failures --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """One execution of the window as the failures check describes it (with its system-log facts)."""

    name: str
    status: str
    start: datetime | None
    end: datetime | None
    image: str | None
    reason: str | None = omitted_when_none()
    # From the system logs; None when the logs had no row for this execution.
    reasons: tuple[str, ...] | None = omitted_when_none()
    exit_codes: tuple[int, ...] | None = omitted_when_none()
    attempts: int | None = omitted_when_none()

    @property
    def finished_badly(self) -> bool:
        return self.status not in ("Succeeded", "Running", "Processing")


@dataclass(frozen=True, slots=True)
class FailuresEvidence:
    total: int
    failed: int
    succeeded: int
    running: int
    first_failure: datetime | None
    last_success: datetime | None
    executions: tuple[ExecutionSummary, ...]
    logs_error: str | None = omitted_when_none()
    # Stopped executions are not successes: how many, and who stopped the job where the Activity Log says.
    stopped: int | None = omitted_when_none()
    stopped_by: str | None = omitted_when_none()


# --- retries ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetriedExecution:
    execution: str
    attempts: int
    failed_attempts: int


@dataclass(frozen=True, slots=True)
class RetriesEvidence:
    retry_limit: int | None
    executions_retried: int
    executions_out_of_retries: int
    max_attempts: int
    by_execution: tuple[RetriedExecution, ...]


# --- exit codes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExitCodeCount:
    code: int
    count: int
    executions: int
    meaning: str
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class ExitCodesEvidence:
    codes: tuple[ExitCodeCount, ...]  # most executions first

    @property
    def dominant_error(self) -> ExitCodeCount | None:
        """The non-zero code seen in the most executions."""
        return next((c for c in self.codes if c.code != 0), None)


# --- queue depth -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueEvidence:
    source: str  # azure-queue | azure-servicebus
    namespace: str
    entity: str
    depth: int
    dead_letter: int | None
    target_per_execution: int
    max_executions: int
    capacity: int  # target_per_execution x max_executions: what one full round of executions takes
    running: int | None


# --- config changes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """An Activity Log event on the job or what it depends on, as listed in the report."""

    time: datetime | None
    operation: str
    caller: str | None
    status: str
    resource: str

    @property
    def lifecycle_action(self) -> str | None:
        """'start', 'stop', 'suspend' or 'resume' for a manual lifecycle action, else None."""
        parts = self.operation.upper().split("/")
        if len(parts) >= 2 and parts[-1] == "ACTION" and parts[-2] in {"START", "STOP", "SUSPEND", "RESUME"}:
            return parts[-2].lower()
        return None


@dataclass(frozen=True, slots=True)
class LastGood:
    """The last execution that succeeded before the trouble (the rollback target's source)."""

    execution: str
    image: str | None
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class ConfigChangesEvidence:
    changes: tuple[ChangeEvent, ...]  # newest first, at most 10
    template_diff: tuple[str, ...]
    last_good: LastGood | None
    suspected_change: SuspectedChange | None  # the likeliest change whatever the failure mode
    # Property-level changes of the job and what it depends on, newest first; the verdict picks among them
    # the one that best explains the failure mode.
    records: tuple[ChangeRecord, ...] = ()
    trouble_began: datetime | None = None
    unread: tuple[str, ...] = ()  # "what: why" for change sources that could not be read

    @property
    def memory_changed(self) -> bool:
        return any("memory" in line for line in self.template_diff)


# --- stuck executions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StuckExecution:
    execution: str
    status: str
    running_for_s: int
    replica_timeout_s: int


@dataclass(frozen=True, slots=True)
class StuckEvidence:
    replica_timeout_s: int
    stuck: tuple[StuckExecution, ...]


# --- platform signatures (scaler, image pulls, capacity, identity) ---------------------------------


@dataclass(frozen=True, slots=True)
class PlatformEvent:
    """One platform signature from the system logs, grouped by reason."""

    reason: str | None
    count: int
    executions: int
    first_seen: datetime | None
    last_seen: datetime | None
    message: str


@dataclass(frozen=True, slots=True)
class SignatureEvidence:
    events: tuple[PlatformEvent, ...]


@dataclass(frozen=True, slots=True)
class ScalerEvidence:
    events: tuple[PlatformEvent, ...]
    executions_in_window: int | None  # None: the execution history could not be read in time
    depth: int | None  # None: the queue could not be read in time


# --- identity: signatures, and the roles the job's identities hold now ---------------------------


class AccessStatus(StrEnum):
    GRANTED = "granted"  # a role assignment grants the identity what the job does with the dependency
    MISSING = "missing"  # none does (the roles it holds, if any, are elsewhere or too narrow)
    UNKNOWN = "unknown"  # one might (a custom role, or a resource group whose members are not known)


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """One role assignment of the identity, as it bears on one dependency."""

    role: str  # "Key Vault Secrets User", or the role definition's id when its name is not known
    scope: str  # the assignment's scope (ARM id)
    # resource: on the dependency itself; inherited: on a resource group, subscription or management group above
    # it; item: on the very secret or queue the job uses; narrower: on another secret or queue of it; other: on
    # another resource of the same kind; no-data-access: on the dependency, but the role grants no data access
    reach: str
    created_on: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccessFinding:
    """Whether the identity the job uses for a dependency holds a role that lets it do what the job does."""

    dependency: str  # kv-tax-docs
    kind: str  # an AccessKind value: key-vault | registry | storage-queue | service-bus
    item: str | None  # the secret or queue the job uses, where a role can be scoped to it
    identity: str  # id-tax-docs, or system-assigned
    principal_id: str
    status: AccessStatus
    grants: tuple[RoleGrant, ...] = ()  # assignments that grant it (or, when unknown, might)
    elsewhere: tuple[RoleGrant, ...] = ()  # the identity's roles that do not reach it


@dataclass(frozen=True, slots=True)
class IdentityEvidence:
    events: tuple[PlatformEvent, ...]
    # Read when the check found access errors: the roles the job's identities hold now, per dependency.
    access: tuple[AccessFinding, ...] | None = omitted_when_none()
    access_error: str | None = omitted_when_none()  # why the role assignments could not be read


# --- platform health -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HealthEvent:
    time: datetime | None
    category: str
    operation: str
    status: str
    resource: str
    title: str | None = omitted_when_none()
    tracking_id: str | None = omitted_when_none()


@dataclass(frozen=True, slots=True)
class PlatformHealthEvidence:
    active: tuple[HealthEvent, ...]


# --- console errors --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsoleSignature:
    signature: str
    kind: str  # an ErrorKind value: dependency | identity | application
    count: int
    executions: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class ConsoleEvidence:
    signatures: tuple[ConsoleSignature, ...]  # most executions first, at most 15

    def widespread(self, kind: str) -> list[ConsoleSignature]:
        """Signatures of `kind` seen in at least two executions: a pattern, not a one-off."""
        return [s for s in self.signatures if s.executions >= 2 and s.kind == kind]


# --- memory ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemoryEvidence:
    peak_bytes: float
    limit_bytes: float | None
    ratio: float | None


@dataclass(frozen=True, slots=True)
class SuspectedChange:
    """The change most likely behind the trouble (the verdict carries it; the change check finds it)."""

    time: datetime | None
    caller: str | None
    operation: str | None
    what: str  # one line naming the property: "replicaTimeout 1800 → 300"
    changes: tuple[PropertyChange, ...] = ()  # before -> after per path; secret values never shown
    source: ChangeSource | None = None  # where the change was read: resource-graph, activity-log, executions
    resource: str | None = None  # what changed, when it is not the job itself
    caller_kind: CallerKind = CallerKind.UNKNOWN
    also: tuple[SuspectedChange, ...] = ()  # other changes in the window, most likely first
    # The caller of most of the job's writes in the history read, when it is not this change's caller.
    usual_deployer: str | None = omitted_when_none()
    # For a role assignment change: whether the job's identity holds the role on that dependency now.
    access_now: AccessFinding | None = omitted_when_none()  # noqa: RUF009 (a field spec, not a shared value)


Evidence = (
    FailuresEvidence | RetriesEvidence | ExitCodesEvidence | QueueEvidence | ConfigChangesEvidence | StuckEvidence
    | SignatureEvidence | IdentityEvidence | ScalerEvidence | PlatformHealthEvidence | ConsoleEvidence | MemoryEvidence
)
