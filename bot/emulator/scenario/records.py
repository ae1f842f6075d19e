"""What a loaded scenario is: typed, frozen records the emulator serves (the output of `load`).

ARM resources (`jobs`, `resources`, `role_assignments`, `role_definitions`) and rows (`tables`,
`resource_changes`) are kept exactly as the file wrote them: real payloads carry more than jobbot
reads, and the emulator serves them as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bot.emulator.scenario.fields import (
    AccessStatusName,
    CallerKindName,
    CauseName,
    ChangeSourceName,
    CheckStatusName,
    ConfidenceName,
    Flag,
    PillarName,
    RuleId,
    Score,
    Text,
)
from bot.errors import InvalidRequest

LogDestination = Literal["log-analytics", "azure-monitor"]
QueueType = Literal["azure-queue", "azure-servicebus"]
FaultTarget = Literal["arm", "logs", "queue"]

LOG_DESTINATIONS: tuple[LogDestination, ...] = ("log-analytics", "azure-monitor")
QUEUE_TYPES: tuple[QueueType, ...] = ("azure-queue", "azure-servicebus")
FAULT_TARGETS: tuple[FaultTarget, ...] = ("arm", "logs", "queue")
METRIC_NAMES = ("Executions", "Usage Bytes", "UsageNanoCores")
# ARM's JobExecutionRunningState, as GET …/executions returns it.
EXECUTION_STATUSES = ("Running", "Processing", "Stopped", "Degraded", "Failed", "Unknown", "Succeeded")
# Resource Graph `resourcechanges`: properties.changeType.
CHANGE_TYPES = ("Create", "Update", "Delete")
# Role assignments: properties.principalType (Microsoft.Authorization 2022-04-01).
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
DEFAULT_WORKSPACE_ID = "00000000-0000-0000-0000-000000000000"


class ScenarioError(InvalidRequest, ValueError):
    """A scenario file is invalid: bad input, so the CLI exits 2. `problems` holds one "key.path: what
    is wrong" per error.

    The message has one line per problem, each "<file>: <key path>: <what is wrong>".
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """An event source named by a scale rule, and how many messages it holds now."""

    type: QueueType
    account: str  # storage account (azure-queue) or Service Bus namespace (azure-servicebus)
    name: str  # queue name, or "topic/subscription" for a Service Bus topic rule
    depth: int = 0
    dead_letter: int = 0
    resource_group: str | None = None
    lock_duration: str | None = None  # Service Bus: ISO 8601 (the emulator serves PT1M when unset)
    max_delivery_count: int | None = None  # Service Bus (10 when unset, as Azure defaults)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """An injected upstream fault; `times=None` means every matching request."""

    target: FaultTarget
    path: str = "/"
    latency_ms: float = 0
    status: int = 0
    retry_after: float | None = None
    partial: bool = False
    drop: bool = False
    times: int | None = None


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """Azure Monitor metric points of one job: (timestamp, value) pairs."""

    job: str
    name: str
    points: tuple[tuple[datetime, float], ...]


class _Fields(BaseModel):
    """A typed record that also reads like the mapping the file wrote: `"key" in x`, `x["key"]`,
    `x.get("key")` see only the keys the file set, and it compares equal to that mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)

    def __contains__(self, key: object) -> bool:
        return key in self.model_fields_set

    def __getitem__(self, key: str) -> Any:
        if key not in self.model_fields_set:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.model_fields_set else default

    def keys(self) -> list[str]:
        return [k for k in type(self).model_fields if k in self.model_fields_set]

    def items(self) -> Iterator[tuple[str, Any]]:
        return ((k, getattr(self, k)) for k in self.keys())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Fields):
            return type(self) is type(other) and self.as_dict() == other.as_dict()
        if isinstance(other, dict):
            return self.as_dict() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(repr(sorted(self.as_dict().items())))


class ExpectedChange(_Fields):
    """What the triage must say changed (issue 10): the property, before -> after, who, from where."""

    what: Text | None = None  # the one-line summary, e.g. "replicaTimeout 1800 → 300"
    path: Text | None = None  # properties.configuration.replicaTimeout
    before: Any = None
    after: Any = None
    caller: Text | None = None
    caller_kind: CallerKindName | None = None  # person | pipeline | unknown
    source: ChangeSourceName | None = None  # resource-graph | activity-log | executions
    resource: Text | None = None  # the id of what changed when it is not the job
    access: AccessStatusName | None = None  # a deleted role: does the identity hold it now? granted | missing | unknown


class ExpectedReview(_Fields):
    """What `jobbot review` of this scenario must say (issue 12): each pillar's score (null: n/a) and the
    status of each rule listed."""

    scores: dict[PillarName, Score | None] | None = None
    findings: dict[RuleId, CheckStatusName] | None = None


class Expect(_Fields):
    """What a triage of this scenario must conclude (tests, `jobbot demo`). Every field is optional."""

    job: Text | None = None
    cause: CauseName | None = None
    confidence: ConfidenceName | None = None
    suspected_change: Flag | None = None
    rollback_image: Text | None = None
    evidence_complete: Flag | None = None
    checks: dict[str, CheckStatusName] | None = None  # check name -> status
    change: ExpectedChange | None = None
    review: ExpectedReview | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    now: datetime
    subscription: str
    jobs: list[dict[str, Any]]
    description: str = ""
    workspace_id: str = DEFAULT_WORKSPACE_ID
    log_destination: LogDestination = "log-analytics"
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    absent_tables: tuple[str, ...] = ()  # tables the workspace does not have
    metrics: tuple[MetricSeries, ...] = ()
    queues: tuple[QueueSpec, ...] = ()
    faults: tuple[FaultSpec, ...] = ()
    expect: Expect | None = None
    # From 0.2 (issue 10): change evidence and what the job depends on, as Azure serves them.
    resources: list[dict[str, Any]] = field(default_factory=list)  # ARM JSON of non-job resources
    role_assignments: list[dict[str, Any]] = field(default_factory=list)  # ARM JSON roleAssignments
    role_definitions: list[dict[str, Any]] = field(default_factory=list)  # ARM JSON roleDefinitions
    resource_changes: list[dict[str, Any]] = field(default_factory=list)  # rows of Resource Graph's resourcechanges
    # From issue 12: alert rules by kind (metric, scheduled_query, activity_log) and action groups, as ARM JSON.
    alert_rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    action_groups: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The scenario in file form (JSON-ready): `parse_scenario(s.to_dict()) == s`."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "now": format_time(self.now),
            "subscription": self.subscription,
            "workspace_id": self.workspace_id,
            "log_destination": self.log_destination,
            "jobs": self.jobs,
            "tables": self.tables,
            "metrics": [
                {"job": m.job, "name": m.name, "points": [[format_time(t), v] for t, v in m.points]}
                for m in self.metrics
            ],
            "queues": [_drop_none(asdict(q)) for q in self.queues],
            "faults": [_drop_none(asdict(f)) for f in self.faults],
        }
        if self.absent_tables:
            out["absent_tables"] = list(self.absent_tables)
        for key in ("resources", "role_assignments", "role_definitions", "resource_changes", "alert_rules",
                    "action_groups"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.expect is not None:
            out["expect"] = self.expect.as_dict()
        return out


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a zone ("Z" or an offset), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with a "Z", as Azure writes timestamps."""
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return f"{text}Z"


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
