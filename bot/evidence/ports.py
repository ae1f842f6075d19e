"""The boundaries the evidence core reads through. Adapters in `bot.azure` implement them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.intake import JobSpec
from bot.model import Execution, Job, JobRef, LogSetup, MetricSeries, QueryResult, QueueDepth, ScaleRule, Window


class JobsReader(Protocol):
    async def find_job(self, spec: JobSpec) -> Job:
        """The job named by `spec` (looked up in the catalog or the subscriptions, or by its ARM id).

        Raises JobNotFound (with suggestions) when there is none."""
        ...

    def recall(self, spec: JobSpec) -> Job | None:
        """The job as this reader last saw it, if recently (lets a triage start reads early)."""
        ...

    async def list_jobs(self, as_found: Callable[[Job], None] | None = None) -> Sequence[Job]:
        """Every job in the subscriptions. `as_found`: called with each job as its page arrives, so a caller can
        start the reads it will make for that job while the rest of the listing comes."""
        ...

    async def executions(self, job: JobRef) -> Sequence[Execution]: ...

    async def log_setup(self, job: Job) -> LogSetup: ...

    async def metric(self, job: JobRef, name: str, window: Window) -> MetricSeries: ...


class LogsReader(Protocol):
    async def query(
        self, workspace_id: str, query_name: str, params: Mapping[str, object], window: Window
    ) -> QueryResult: ...


class QueueReader(Protocol):
    async def depth(self, job: Job, rule: ScaleRule) -> QueueDepth:
        """Messages waiting at the rule's event source. Raises NotApplicable when it cannot be found."""
        ...


class ChangesReader(Protocol):
    """Change evidence as Azure serves it (raw JSON; `bot.evidence.change_diff` and friends parse it)."""

    async def resource_changes(
        self, resource_ids: Sequence[str], since: datetime, related: Sequence[str] = ()
    ) -> Sequence[Mapping[str, Any]]:
        """Rows of Resource Graph's `resourcechanges` table whose target is one of `resource_ids` (or a child
        of one), or a resource named one of `related` (Key Vault, registry, storage account, Service Bus
        namespace names), at or after `since`, newest first: `properties.targetResourceId`, `changeType`,
        `changes{path: {previousValue, newValue}}`, `changeAttributes{timestamp, changedBy, changedByType,
        clientType, operation}`, plus `ChangeTime`. Raises UpstreamError when Resource Graph cannot answer."""
        ...

    async def role_assignments(
        self, principal_ids: Sequence[str], scopes: Sequence[str]
    ) -> Sequence[Mapping[str, Any]]:
        """Role assignments (ARM JSON) of any of `principal_ids` in the scopes' subscriptions, and those at or
        above each of `scopes`, deduplicated, sorted by id."""
        ...

    async def role_definition(self, definition_id: str) -> Mapping[str, Any]:
        """One role definition (ARM JSON: `properties.roleName` …). Raises ResourceNotFound on a 404."""
        ...

    async def resource(self, resource_id: str) -> Mapping[str, Any]:
        """The resource's ARM JSON as a GET returns it. Raises ResourceNotFound when it does not exist,
        NotApplicable for a type jobbot does not read."""
        ...

    async def alert_rules(self, resource_group_id: str) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """The alert rules of a resource group (ARM JSON) by kind: `metric`, `scheduled_query`, `activity_log`."""
        ...

    async def action_group(self, group_id: str) -> Mapping[str, Any]:
        """One action group (ARM JSON: `properties.enabled`, its receivers). Raises ResourceNotFound on a 404."""
        ...

    async def workspace(self, customer_id: str) -> str | None:
        """The ARM id of the Log Analytics workspace with this customer id (for portal links): from config,
        else Resource Graph, cached; None when there is none. Raises UpstreamError when it cannot be asked."""
        ...

    async def workspace_resource(self, customer_id: str) -> Mapping[str, Any] | None:
        """The Log Analytics workspace with this customer id (ARM JSON: `id`, `properties`): as Resource Graph
        has it, or by GET when config names its id; None when there is none. Raises UpstreamError when it
        cannot be asked."""
        ...

    async def environment_usages(self, environment_id: str) -> Sequence[Mapping[str, Any]]:
        """The managed environment's quota usages (ARM JSON `Usage` items: `name.value`, `currentValue`,
        `limit`, `unit`), e.g. `ManagedEnvironmentConsumptionCores`. Raises ResourceNotFound on a 404."""
        ...
