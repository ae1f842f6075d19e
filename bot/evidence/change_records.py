"""What changed, as typed records: one property-level change of one resource, from whichever source knew it.

Sources (Resource Graph change history, Activity Log request bodies, execution templates) are parsed at
the edge into these records; the change check, the verdict and every renderer read only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

# Shown instead of a value on secret-bearing paths (secrets, env values, keys, passwords).
VALUE_CHANGED = "value changed"


class ChangeSource(StrEnum):
    RESOURCE_GRAPH = "resource-graph"
    ACTIVITY_LOG = "activity-log"
    EXECUTIONS = "executions"


class CallerKind(StrEnum):
    PERSON = "person"
    PIPELINE = "pipeline"
    UNKNOWN = "unknown"


class ResourceKind(StrEnum):
    """What a changed resource is to the job."""

    JOB = "job"
    ENVIRONMENT = "environment"
    IDENTITY = "identity"
    ROLE_ASSIGNMENT = "role-assignment"
    KEY_VAULT = "key-vault"
    REGISTRY = "registry"
    EVENT_SOURCE = "event-source"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class PropertyChange:
    """One property, before -> after. `path` uses the resource's own JSON names
    (`properties.configuration.replicaTimeout`, `…scale.rules[0].metadata.queueName`); None is absent."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    time: datetime | None
    resource_id: str  # what changed: the job, or something it depends on
    kind: ResourceKind
    operation: str  # ARM operation (MICROSOFT.APP/JOBS/WRITE …) or Resource Graph changeType (Create/Update/Delete)
    caller: str | None  # UPN, service principal display name or app id
    caller_kind: CallerKind
    source: ChangeSource
    changes: tuple[PropertyChange, ...] = ()
    client: str | None = None  # how: portal, CLI, pipeline (Resource Graph clientType, Activity Log claims)
    what: str = ""  # one line naming the property: "replicaTimeout 1800 → 300"
