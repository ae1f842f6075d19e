"""Plain typed data that flows through the core: job, executions, window, check results, verdict.

Raw JSON (ARM, Log Analytics rows, scenario files) is parsed once at the edges into these types;
nothing in here knows about Slack or the Azure SDKs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

# SuspectedChange is change evidence; re-exported here because the verdict carries it.
from bot.evidence.payloads import Evidence
from bot.evidence.payloads import SuspectedChange as SuspectedChange

E = TypeVar("E")


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"  # the check itself could not run (upstream fault, timeout)
    SKIPPED = "skipped"


class Cause(StrEnum):
    HEALTHY = "healthy"
    APP_ERROR = "app-error"
    OOM = "oom"
    TIMEOUT = "timeout"
    IMAGE_PULL = "image-pull"
    SCALER_FAILURE = "scaler-failure"
    SATURATION = "saturation"
    POISON_MESSAGE = "poison-message"
    STUCK_EXECUTION = "stuck-execution"
    DEPENDENCY = "dependency"
    IDENTITY = "identity"
    CAPACITY = "capacity"
    PLATFORM = "platform"
    UNKNOWN = "unknown"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# A rollback cannot help when the cause lies outside the job's own definition.
NO_ROLLBACK_CAUSES = frozenset({Cause.DEPENDENCY, Cause.PLATFORM, Cause.CAPACITY, Cause.HEALTHY})


@dataclass(frozen=True, slots=True)
class JobRef:
    name: str
    resource_group: str
    subscription: str
    id: str


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str
    cpu: float | None = None
    memory: str | None = None
    env_names: tuple[str, ...] = ()
    # Names of env vars given as a plain `value` (not a `secretRef`); the values themselves are never kept.
    plain_env_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScaleRule:
    name: str
    type: str  # azure-queue | azure-servicebus | …
    metadata: Mapping[str, str] = field(default_factory=dict)
    uses_identity: bool = False
    auth_secret_refs: tuple[str, ...] = ()  # secrets named by the rule's `auth[]` (a connection string or key)


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A job secret by name: whether it is a Key Vault reference (`keyVaultUrl`). Never its value."""

    name: str
    key_vault: bool = False
    identity: str | None = None
    vault: str | None = None  # the Key Vault's name, from `keyVaultUrl` (https://<vault>.vault.azure.net/…)


@dataclass(frozen=True, slots=True)
class RegistryRef:
    """A registry the job pulls from, and how it authenticates (identity, or a password secret's name)."""

    server: str
    identity: str | None = None
    username: str | None = None
    password_secret_ref: str | None = None


SYSTEM_ASSIGNED = "system-assigned"  # the name jobbot gives a job's system-assigned identity


@dataclass(frozen=True, slots=True)
class Identity:
    """One managed identity of the job: `name` is the user-assigned identity's name, or "system-assigned"."""

    name: str
    principal_id: str
    resource_id: str | None = None  # the user-assigned identity's ARM id; None for the system-assigned one


class AccessKind(StrEnum):
    """What the job reaches with an identity, each needing a role that grants its own data action."""

    KEY_VAULT = "key-vault"  # a secret reference (keyVaultUrl)
    REGISTRY = "registry"  # an image pull
    STORAGE_QUEUE = "storage-queue"  # an azure-queue scale rule
    SERVICE_BUS = "service-bus"  # an azure-servicebus scale rule


@dataclass(frozen=True, slots=True)
class Access:
    """The job reaches `name` (a vault, registry, storage account or namespace) with the identity whose principal
    is `principal_id`; `item` narrows it where a role can be scoped below the resource (the secret, the queue)."""

    kind: AccessKind
    name: str
    principal_id: str
    item: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    ref: JobRef
    location: str
    environment_id: str
    trigger_type: str
    replica_timeout_s: int | None
    replica_retry_limit: int | None
    parallelism: int
    max_executions: int
    polling_interval_s: int
    rules: tuple[ScaleRule, ...]
    containers: tuple[Container, ...]
    tags: Mapping[str, str]
    running_state: str | None = None
    last_modified_by: str | None = None
    last_modified_at: datetime | None = None
    # Names of what the job depends on (key vaults, registries, queue accounts, its identities' principal
    # ids): access changes on these show up in the Activity Log away from the job's own resource id.
    dependencies: tuple[str, ...] = ()
    identities: tuple[Identity, ...] = ()
    access: tuple[Access, ...] = ()  # what it reaches with which identity (the roles it needs)
    # Read by the review (issue 12); defaults keep older callers and fakes valid.
    identity_type: str | None = None  # None, SystemAssigned, UserAssigned, "SystemAssigned,UserAssigned"
    identity_principals: tuple[str, ...] = ()
    secrets: tuple[SecretRef, ...] = ()
    registries: tuple[RegistryRef, ...] = ()
    min_executions: int | None = None
    replica_completion_count: int | None = None
    workload_profile: str | None = None
    provisioning_state: str | None = None
    last_modified_by_type: str | None = None  # systemData: User | Application | ManagedIdentity | Key


class ExecutionStatus(StrEnum):
    RUNNING = "Running"
    PROCESSING = "Processing"
    STOPPED = "Stopped"
    DEGRADED = "Degraded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"
    SUCCEEDED = "Succeeded"

    @classmethod
    def parse(cls, value: str | None) -> ExecutionStatus:
        for status in cls:
            if value and status.value.lower() == value.lower():
                return status
        return cls.UNKNOWN


ACTIVE_STATUSES = frozenset({ExecutionStatus.RUNNING, ExecutionStatus.PROCESSING})
FAILED_STATUSES = frozenset({ExecutionStatus.FAILED, ExecutionStatus.DEGRADED})


@dataclass(frozen=True, slots=True)
class Execution:
    name: str
    status: ExecutionStatus
    start: datetime | None
    end: datetime | None
    containers: tuple[Container, ...] = ()
    reason: str | None = None
    message: str | None = None

    @property
    def image(self) -> str | None:
        return self.containers[0].image if self.containers else None


@dataclass(frozen=True, slots=True)
class LogSetup:
    """Where a job's logs land, found from its managed environment."""

    workspace_id: str
    destination: str  # log-analytics | azure-monitor
    workspace_resource_id: str | None = None  # the workspace's ARM id, when known (for portal links)


@dataclass(frozen=True, slots=True)
class QueueDepth:
    source_type: str  # azure-queue | azure-servicebus
    namespace: str  # storage account or Service Bus namespace
    entity: str  # queue, or topic/subscription
    depth: int
    dead_letter: int | None = None
    # Service Bus only (read with the entity; review REL-04, REL-05): None for Storage queues.
    lock_duration_s: float | None = None
    max_delivery_count: int | None = None


@dataclass(frozen=True, slots=True)
class MetricSeries:
    name: str
    unit: str
    points: tuple[tuple[datetime, float], ...]

    @property
    def peak(self) -> float | None:
        return max((value for _, value in self.points), default=None)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of a canned query; `partial` carries the service's reason when some data is missing."""

    rows: tuple[Mapping[str, Any], ...]
    partial: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: CheckStatus
    summary: str
    evidence: Evidence | None = None  # what the check found; None when it could not run or was skipped
    error: str | None = None  # why the check could not (fully) run
    partial: tuple[str, ...] = ()  # Log Analytics' reasons when it answered only part of a query

    def found(self, kind: type[E]) -> E | None:
        """The evidence as `kind` when the check ran to the end (not error, not skipped), else None."""
        if self.status in (CheckStatus.ERROR, CheckStatus.SKIPPED) or not isinstance(self.evidence, kind):
            return None
        return self.evidence


@dataclass(frozen=True, slots=True)
class RollbackCandidate:
    image: str
    last_success: datetime | None
    execution: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    cause: Cause
    confidence: Confidence
    summary: str
    suspected_change: SuspectedChange | None = None
    rollback_candidate: RollbackCandidate | None = None
    missing_evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Runbook:
    id: str
    title: str
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Owners:
    primary: str | None
    escalation: tuple[str, ...] = ()
    fallback: str | None = None  # with no owner: the channel alerts go to instead (config alert_channel)


@dataclass(frozen=True, slots=True)
class TriageReport:
    job: JobRef
    window: Window
    verdict: Verdict
    checks: tuple[CheckResult, ...]
    runbook: Runbook | None = None
    owners: Owners | None = None
    # The KQL each check ran (name -> text) and where, so a reader can re-run it in Log Analytics.
    queries: Mapping[str, str] = field(default_factory=dict)
    workspace_resource_id: str | None = None
    # When the oldest answer the report rests on was read: reads are shared and briefly reused between
    # triages (bot.evidence.shared_reads), so it may be a little before the report was made.
    evidence_read_at: datetime | None = None

    @property
    def evidence_complete(self) -> bool:
        return all(check.status is not CheckStatus.ERROR for check in self.checks)

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.name == name), None)
