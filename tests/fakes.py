"""In-memory implementations of the evidence ports, for unit tests of the core."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.errors import JobNotFound, NotApplicable, ResourceNotFound
from bot.evidence.sources import Readers
from bot.intake import JobSpec
from bot.model import (
    Container,
    Execution,
    ExecutionStatus,
    Job,
    JobRef,
    LogSetup,
    MetricSeries,
    QueryResult,
    QueueDepth,
    ScaleRule,
    Window,
)

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def make_job(name: str = "orders-processor", **overrides: Any) -> Job:
    job_id = f"/subscriptions/sub-1/resourceGroups/rg-orders/providers/Microsoft.App/jobs/{name}"
    ref = JobRef(name, "rg-orders", "sub-1", job_id)
    values: dict[str, Any] = dict(
        ref=ref, location="westeurope",
        environment_id="/subscriptions/sub-1/resourceGroups/rg-orders/providers/Microsoft.App/managedEnvironments/env",
        trigger_type="Event", replica_timeout_s=600, replica_retry_limit=2, parallelism=1, max_executions=10,
        polling_interval_s=30,
        rules=(ScaleRule("queue", "azure-queue", {"accountName": "st", "queueName": "orders", "queueLength": "5"}),),
        containers=(Container("worker", "contoso.azurecr.io/orders:1.5.0", 0.5, "1Gi"),), tags={},
    )
    values.update(overrides)
    return Job(**values)


def execution(name: str, status: str, minutes_ago: int, image: str = "contoso.azurecr.io/orders:1.5.0",
              duration_min: int = 2, memory: str = "1Gi") -> Execution:
    start = NOW - timedelta(minutes=minutes_ago)
    parsed = ExecutionStatus.parse(status)
    active = parsed in (ExecutionStatus.RUNNING, ExecutionStatus.PROCESSING)
    end = None if active else start + timedelta(minutes=duration_min)
    return Execution(name, parsed, start, end, (Container("worker", image, 0.5, memory),))


@dataclass
class FakeJobs:
    jobs: list[Job]
    history: Sequence[Execution] = ()
    setup: LogSetup = field(default_factory=lambda: LogSetup("ws-1", "log-analytics"))
    metrics: Mapping[str, MetricSeries] = field(default_factory=dict)
    delay_s: float = 0.0
    calls: list[str] = field(default_factory=list)

    async def find_job(self, spec: JobSpec) -> Job:
        self.calls.append("find_job")
        for job in self.jobs:
            if job.ref.name.lower() == spec.name.lower():
                return job
        raise JobNotFound(spec.name, [])

    def recall(self, spec: JobSpec) -> Job | None:
        return None

    async def list_jobs(self, as_found: Callable[[Job], None] | None = None) -> Sequence[Job]:
        for job in self.jobs if as_found is not None else ():
            as_found(job)
        return self.jobs

    async def executions(self, job: JobRef) -> Sequence[Execution]:
        self.calls.append("executions")
        await asyncio.sleep(self.delay_s)
        return self.history

    async def log_setup(self, job: Job) -> LogSetup:
        self.calls.append("log_setup")
        return self.setup

    async def metric(self, job: JobRef, name: str, window: Window) -> MetricSeries:
        self.calls.append(f"metric:{name}")
        return self.metrics.get(name, MetricSeries(name, "Bytes", ()))


@dataclass
class FakeLogs:
    results: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    failures: Mapping[str, Exception] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def query(
        self, workspace_id: str, query_name: str, params: Mapping[str, object], window: Window
    ) -> QueryResult:
        self.calls.append(query_name)
        if query_name in self.failures:
            raise self.failures[query_name]
        rows = tuple(self.results.get(query_name, ()))
        jobs = params.get("jobs")
        if isinstance(jobs, list) and jobs:
            # As the service answers a batched query: each row says its job (rows given without one are
            # the first asked job's), and only the asked jobs' rows come back.
            asked = {str(j).lower() for j in jobs}
            tagged = ({"JobName": jobs[0], **row} for row in rows)
            rows = tuple(row for row in tagged if str(row["JobName"]).lower() in asked)
        return QueryResult(rows)


@dataclass
class FakeQueues:
    depth_value: QueueDepth | None = None

    async def depth(self, job: Job, rule: ScaleRule) -> QueueDepth:
        if self.depth_value is None:
            raise NotApplicable("no queue in this test")
        return self.depth_value


@dataclass
class FakeChanges:
    """The ChangesReader port in memory: Resource Graph rows, role assignments and resources as ARM JSON."""

    rows: Sequence[Mapping[str, Any]] = ()
    assignments: Sequence[Mapping[str, Any]] = ()
    definitions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # id (lower-cased) -> body
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # id (lower-cased) -> body
    workspaces: Mapping[str, str] = field(default_factory=dict)  # customer id (lower-cased) -> ARM id
    usages: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)  # env id (lower) -> Usage items
    failures: Mapping[str, Exception] = field(default_factory=dict)  # method name -> what it raises
    delay_s: float = 0.0
    calls: list[str] = field(default_factory=list)

    async def _call(self, name: str) -> None:
        self.calls.append(name)
        await asyncio.sleep(self.delay_s)
        if name in self.failures:
            raise self.failures[name]

    async def resource_changes(
        self, resource_ids: Sequence[str], since: datetime, related: Sequence[str] = ()
    ) -> Sequence[Mapping[str, Any]]:
        await self._call("resource_changes")
        return list(self.rows)

    async def role_assignments(
        self, principal_ids: Sequence[str], scopes: Sequence[str]
    ) -> Sequence[Mapping[str, Any]]:
        await self._call("role_assignments")
        return list(self.assignments)

    async def role_definition(self, definition_id: str) -> Mapping[str, Any]:
        await self._call("role_definition")
        if definition_id.lower() not in self.definitions:
            raise ResourceNotFound(definition_id)
        return self.definitions[definition_id.lower()]

    async def resource(self, resource_id: str) -> Mapping[str, Any]:
        await self._call("resource")
        if resource_id.lower() not in self.resources:
            raise ResourceNotFound(resource_id)
        return self.resources[resource_id.lower()]

    async def alert_rules(self, resource_group_id: str) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        await self._call("alert_rules")
        return {}

    async def action_group(self, group_id: str) -> Mapping[str, Any]:
        await self._call("action_group")
        raise ResourceNotFound(group_id)

    async def workspace(self, customer_id: str) -> str | None:
        await self._call("workspace")
        return self.workspaces.get(customer_id.lower())

    async def workspace_resource(self, customer_id: str) -> Mapping[str, Any] | None:
        await self._call("workspace_resource")
        found = self.workspaces.get(customer_id.lower())
        return self.resources.get(found.lower(), {"id": found, "properties": {}}) if found else None

    async def environment_usages(self, environment_id: str) -> Sequence[Mapping[str, Any]]:
        await self._call("environment_usages")
        if environment_id.lower() not in self.usages:
            raise ResourceNotFound(environment_id)
        return list(self.usages[environment_id.lower()])


def readers(jobs: FakeJobs, logs: FakeLogs | None = None, queues: FakeQueues | None = None,
            changes: FakeChanges | None = None) -> Readers:
    return Readers(jobs=jobs, logs=logs or FakeLogs(), queues=queues or FakeQueues(), changes=changes or FakeChanges())
