"""The scenario file format as pydantic models: what `load` validates a document against.

The scenario's own levels (top level, `queues[]`, `faults[]`, `metrics[]`, `expect`) forbid unknown
keys. ARM resources and rows are open (real payloads carry more than jobbot reads) but must have
what Azure always sends: a job its `id`, `name`, `type` and `properties`; an execution its `name` and
a `properties.status` in ARM's vocabulary; a log row a parsable `TimeGenerated`; a `resourcechanges`
row its `properties.targetResourceId`, `changeType` and `changeAttributes.timestamp`; a role
assignment its principal, role and scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from bot.emulator.scenario.fields import (
    ArmId,
    AwareTime,
    Count,
    Flag,
    JobId,
    NonEmpty,
    Number,
    RowTime,
    Text,
    job_id_match,
    one_of,
)
from bot.emulator.scenario.records import (
    CHANGE_TYPES,
    EXECUTION_STATUSES,
    FAULT_TARGETS,
    LOG_DESTINATIONS,
    METRIC_NAMES,
    PRINCIPAL_TYPES,
    QUEUE_TYPES,
    Expect,
)

LogDestinationName = Annotated[str, AfterValidator(one_of(*LOG_DESTINATIONS))]
QueueTypeName = Annotated[str, AfterValidator(one_of(*QUEUE_TYPES))]
FaultTargetName = Annotated[str, AfterValidator(one_of(*FAULT_TARGETS))]
MetricName = Annotated[str, AfterValidator(one_of(*METRIC_NAMES))]
ExecutionStatusName = Annotated[str, AfterValidator(one_of(*EXECUTION_STATUSES))]
ChangeTypeName = Annotated[str, AfterValidator(one_of(*CHANGE_TYPES))]
PrincipalTypeName = Annotated[str, AfterValidator(one_of(*PRINCIPAL_TYPES))]


class Closed(BaseModel):
    """A level of the scenario's own: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Open(BaseModel):
    """An Azure payload: extra keys are kept, as real bodies carry them."""

    model_config = ConfigDict(extra="allow", strict=True)


# --- jobs ----------------------------------------------------------------------------------------


class ExecutionProperties(Open):
    status: ExecutionStatusName


class ExecutionModel(Open):
    name: NonEmpty
    properties: ExecutionProperties


class JobModel(Open):
    id: JobId
    name: NonEmpty
    type: NonEmpty
    properties: dict[str, Any]
    executions: list[ExecutionModel] = []

    @field_validator("name")
    @classmethod
    def _name_matches_id(cls, name: str, info: ValidationInfo) -> str:
        job_id = info.data.get("id")
        match = job_id_match(job_id) if isinstance(job_id, str) else None
        if match is not None and match["name"].lower() != name.lower():
            raise PydanticCustomError(
                "name_mismatch", "'{name}' does not match the id's job '{job}'", {"name": name, "job": match["name"]}
            )
        return name


# --- log rows, metrics, queues, faults --------------------------------------------------------------


class Row(Open):
    TimeGenerated: RowTime


class MetricModel(Closed):
    job: NonEmpty
    name: MetricName
    points: list[Annotated[tuple[AwareTime, Number], Strict(False)]]


class QueueModel(Closed):
    type: QueueTypeName
    account: NonEmpty
    resource_group: Text | None = None
    name: NonEmpty
    depth: Annotated[Count, Field(ge=0)] | None = None
    dead_letter: Annotated[Count, Field(ge=0)] | None = None
    lock_duration: Annotated[Text, Field(pattern=r"^P(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)$")] | None = None  # ISO 8601
    max_delivery_count: Annotated[Count, Field(ge=1)] | None = None

    @field_validator("lock_duration", "max_delivery_count")
    @classmethod
    def _service_bus_only(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and info.data.get("type") == "azure-queue":
            raise PydanticCustomError("service_bus_only", "only Service Bus entities have it")
        return value

    @field_validator("dead_letter")
    @classmethod
    def _storage_has_no_dead_letters(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value and info.data.get("type") == "azure-queue":
            raise PydanticCustomError("dead_letter", "Storage queues have no dead-letter queue")
        return value


class FaultModel(Closed):
    target: FaultTargetName
    path: Text | None = None
    latency_ms: Annotated[Number, Field(ge=0)] | None = None
    status: Annotated[Count, Field(ge=0)] | None = None
    retry_after: Annotated[Number, Field(ge=0)] | None = None
    drop: Flag | None = None
    partial: Flag | None = None
    times: Annotated[Count, Field(ge=1)] | None = None

    @field_validator("status")
    @classmethod
    def _an_error_status(cls, value: int | None) -> int | None:
        if value and not 400 <= value <= 599:
            raise PydanticCustomError(
                "status", "must be 0 (succeed) or an error status 400-599, not {status}", {"status": value}
            )
        return value

    @field_validator("partial")
    @classmethod
    def _partial_logs_only(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        target = info.data.get("target")
        if value and target is not None and target != "logs":
            raise PydanticCustomError("partial", "only a logs fault can be partial")
        if value and (info.data.get("status") or info.data.get("drop")):
            raise PydanticCustomError("partial", "cannot be combined with status or drop")
        return value


# --- what the job depends on, and how it changed (0.2) -------------------------------------------------


class ResourceModel(Open):
    """ARM JSON of a non-job resource (environment, identity, Key Vault, registry, storage account …)."""

    id: ArmId
    name: NonEmpty
    type: NonEmpty


class RoleAssignmentProperties(Open):
    roleDefinitionId: ArmId
    principalId: NonEmpty
    scope: NonEmpty
    principalType: PrincipalTypeName | None = None


class RoleAssignmentModel(Open):
    id: ArmId
    name: NonEmpty
    properties: RoleAssignmentProperties


class RoleDefinitionProperties(Open):
    roleName: NonEmpty


class RoleDefinitionModel(Open):
    id: ArmId
    name: NonEmpty
    properties: RoleDefinitionProperties


class ChangeAttributes(Open):
    timestamp: RowTime


class ChangeProperties(Open):
    targetResourceId: ArmId
    changeType: ChangeTypeName
    changeAttributes: ChangeAttributes
    changes: dict[str, Any] | None = None


class ResourceChangeModel(Open):
    """One row of Resource Graph's `resourcechanges` table (the `properties` bag is the change)."""

    properties: ChangeProperties


# --- alerting (review OPS-02 / OPS-04) ---------------------------------------------------------------


class AlertRuleModel(Open):
    """ARM JSON of a metric alert, scheduled query rule or activity log alert (served as written)."""

    id: ArmId
    name: NonEmpty
    properties: dict[str, Any]


class AlertRulesModel(Closed):
    """`alert_rules`, by the API that lists them: a kind not listed here is refused."""

    metric: list[AlertRuleModel] | None = None
    scheduled_query: list[AlertRuleModel] | None = None
    activity_log: list[AlertRuleModel] | None = None


class ActionGroupModel(Open):
    id: ArmId
    name: NonEmpty
    properties: dict[str, Any]


# --- the document -----------------------------------------------------------------------------------


class ScenarioModel(Closed):
    name: NonEmpty
    description: Text | None = None
    now: AwareTime
    subscription: NonEmpty
    workspace_id: Text | None = None
    log_destination: LogDestinationName | None = None
    jobs: list[JobModel]
    tables: dict[str, list[Row]] | None = None
    # Tables the workspace does not have at all (a diagnostic setting never created them): queries that
    # name them fail as the service's do, `union isfuzzy=true` legs drop out. Names from kql/schema.json.
    absent_tables: list[NonEmpty] | None = None
    metrics: list[MetricModel] | None = None
    queues: list[QueueModel] | None = None
    faults: list[FaultModel] | None = None
    resources: list[ResourceModel] | None = None
    role_assignments: list[RoleAssignmentModel] | None = None
    role_definitions: list[RoleDefinitionModel] | None = None
    resource_changes: list[ResourceChangeModel] | None = None
    alert_rules: AlertRulesModel | None = None
    action_groups: list[ActionGroupModel] | None = None
    expect: Expect | None = None
