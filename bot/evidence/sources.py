"""Per-triage access to upstream data, each source fetched at most once however many checks need it.

Checks start together; the first to ask for a source starts its fetch and the others await the same
task. So a triage costs the chain job -> environment -> everything else, not the sum of the calls.

Fetches are memoised by the values they depend on (job id, environment id, query parameters), not by
name. That makes prefetching safe: a triage may start reads for the job as it was last seen while the
job itself is still being looked up, and a read whose inputs turn out different is simply not used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import NotApplicable
from bot.evidence.ports import ChangesReader, JobsReader, LogsReader, QueueReader
from bot.kql import load_query, render
from bot.model import Execution, Job, LogSetup, MetricSeries, QueryResult, QueueDepth, Window

# Changes that broke a job often land well before its failures start.
CHANGE_LOOKBACK = timedelta(hours=24)
# Resource Graph keeps 14 days of change history: read all of it (a job has few writes), so the last change
# before the window and the job's usual deployer are known too.
RESOURCE_GRAPH_LOOKBACK = timedelta(days=14)

Tasks = dict[tuple[Any, ...], "asyncio.Task[Any]"]


class NoChanges:
    """The ChangesReader of a setup that reads no change history: every read is not applicable."""

    async def resource_changes(
        self, resource_ids: Sequence[str], since: datetime, related: Sequence[str] = ()
    ) -> Sequence[Mapping[str, Any]]:
        raise NotApplicable("change history (Resource Graph) is not read in this setup")

    async def role_assignments(
        self, principal_ids: Sequence[str], scopes: Sequence[str]
    ) -> Sequence[Mapping[str, Any]]:
        raise NotApplicable("role assignments are not read in this setup")

    async def role_definition(self, definition_id: str) -> Mapping[str, Any]:
        raise NotApplicable("role definitions are not read in this setup")

    async def resource(self, resource_id: str) -> Mapping[str, Any]:
        raise NotApplicable("resources other than the job are not read in this setup")


NO_CHANGES: ChangesReader = NoChanges()


@dataclass(frozen=True, slots=True)
class Readers:
    jobs: JobsReader
    logs: LogsReader
    queues: QueueReader
    changes: ChangesReader = NO_CHANGES


class Sources:
    """Memoised upstream reads for one job and one window."""

    def __init__(self, job: Job, window: Window, now: datetime, readers: Readers, tasks: Tasks | None = None) -> None:
        self.job = job
        self.window = window
        self.now = now
        self._readers = readers
        self._tasks: Tasks = {} if tasks is None else tasks
        self._prefetches: set[asyncio.Task[None]] = set()
        self.partial: dict[str, str] = {}  # query name -> why Log Analytics answered only part of it
        self.rendered: dict[str, str] = {}  # query name -> the KQL text it ran, for links in the report

    def _once(self, key: tuple[Any, ...], fetch: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(fetch())
            self._tasks[key] = task
        return task

    async def _get(self, key: tuple[Any, ...], fetch: Callable[[], Awaitable[Any]]) -> Any:
        # shield: one check hitting its deadline must not cancel a read other checks still wait for.
        return await asyncio.shield(self._once(key, fetch))

    async def executions(self) -> Sequence[Execution]:
        result: Sequence[Execution] = await self._get(
            ("executions", self.job.ref.id), lambda: self._readers.jobs.executions(self.job.ref))
        return result

    async def log_setup(self) -> LogSetup:
        result: LogSetup = await self._get(
            ("log_setup", self.job.environment_id), lambda: self._readers.jobs.log_setup(self.job))
        return result

    async def query(self, name: str, **extra: object) -> QueryResult:
        """Rows of the canned query `name`, given the values it declares (job, window, ids …)."""
        window = self._query_window(name)
        available: dict[str, object] = {
            "job": self.job.ref.name,
            "start": window.start,
            "end": window.end,
            "resource_ids": [i.lower() for i in (self.job.ref.id, self.job.environment_id) if i],
            "related": [d for d in self.job.dependencies if not _is_guid(d)],
            "subscription_id": self.job.ref.subscription,
            **extra,
        }
        params = {p: available[p] for p, _ in load_query(name).params}
        self.rendered[name] = render(name, **params)

        async def fetch() -> QueryResult:
            setup = await self.log_setup()
            return await self._readers.logs.query(setup.workspace_id, name, params, window)

        key = ("query", name, self.job.environment_id, repr(sorted(params.items())))
        result: QueryResult = await self._get(key, fetch)
        if result.partial:
            self.partial[name] = result.partial
        return result

    async def queue_depth(self) -> QueueDepth:
        async def fetch() -> QueueDepth:
            if not self.job.rules:
                raise NotApplicable("the job has no event scale rule")
            return await self._readers.queues.depth(self.job, self.job.rules[0])

        rule = self.job.rules[0] if self.job.rules else None
        key = ("queue", self.job.ref.id, None if rule is None else (rule.type, tuple(sorted(rule.metadata.items()))))
        result: QueueDepth = await self._get(key, fetch)
        return result

    async def metric(self, name: str) -> MetricSeries:
        result: MetricSeries = await self._get(
            ("metric", name, self.job.ref.id),
            lambda: self._readers.jobs.metric(self.job.ref, name, self.window))
        return result

    # -- change evidence (issue 10) ---------------------------------------------------------------------

    def change_targets(self) -> tuple[list[str], list[str]]:
        """(lower-cased ids, lower-cased names) whose changes count: the job, its environment, and what it
        depends on by name (Key Vaults, registries, the scale rule's storage account or namespace)."""
        ids = [i.lower() for i in (self.job.ref.id, self.job.environment_id) if i]
        names = sorted({d for d in self.job.dependencies if not _is_guid(d)})
        return ids, names

    def identity_principals(self) -> list[str]:
        """The principal ids of the job's managed identities (system- and user-assigned)."""
        return sorted({d for d in self.job.dependencies if _is_guid(d)})

    async def resource_changes(self, extra_ids: Sequence[str] = ()) -> Sequence[Mapping[str, Any]]:
        """Resource Graph `resourcechanges` rows (raw) of the job and what it depends on, over the 14 days
        Resource Graph keeps up to the window's end, newest first. `extra_ids`: more resources to include."""
        ids, names = self.change_targets()
        ids = sorted({*ids, *(i.lower() for i in extra_ids if i)})
        since = self.window.end - RESOURCE_GRAPH_LOOKBACK
        key = ("changes:resourcegraph", tuple(ids), tuple(names), since)
        result: Sequence[Mapping[str, Any]] = await self._get(
            key, lambda: self._readers.changes.resource_changes(ids, since, names))
        return result

    async def role_assignments(self, scopes: Sequence[str] = ()) -> Sequence[Mapping[str, Any]]:
        """Role assignments (ARM JSON) of the job's identities, and those at or above each of `scopes`
        (ids of what the job depends on). NotApplicable when the job has no identity and no scope is given."""
        principals = self.identity_principals()
        wanted = sorted({s for s in scopes if s})
        if not principals and not wanted:
            raise NotApplicable("the job has no managed identity")
        key = ("changes:roles", tuple(principals), tuple(s.lower() for s in wanted))
        result: Sequence[Mapping[str, Any]] = await self._get(
            key, lambda: self._readers.changes.role_assignments(principals, wanted))
        return result

    async def role_definition(self, definition_id: str) -> Mapping[str, Any]:
        """A role definition (ARM JSON: `properties.roleName`), by the id an assignment names."""
        result: Mapping[str, Any] = await self._get(
            ("role_definition", definition_id.lower()), lambda: self._readers.changes.role_definition(definition_id))
        return result

    async def resource(self, resource_id: str) -> Mapping[str, Any]:
        """Any resource's ARM JSON by id (environment, identity, Key Vault, registry, storage account …).
        Raises ResourceNotFound (a NotApplicable) when it does not exist."""
        result: Mapping[str, Any] = await self._get(
            ("resource", resource_id.lower()), lambda: self._readers.changes.resource(resource_id))
        return result

    def prefetch(self, needs: Iterable[str]) -> None:
        """Start the reads named like 'executions', 'queue', 'query:<name>', 'metric:<name>',
        'changes:resourcegraph', 'changes:roles', 'resource:environment' or 'resource:<id>' without waiting."""
        for need in needs:
            kind, _, arg = need.partition(":")
            read: Awaitable[Any]
            if kind == "executions":
                read = self.executions()
            elif kind == "queue":
                read = self.queue_depth()
            elif kind == "query":
                read = self.query(arg)
            elif kind == "metric":
                read = self.metric(arg)
            elif need == "changes:resourcegraph":
                read = self.resource_changes()
            elif need == "changes:roles":
                read = self.role_assignments()
            elif kind == "resource" and arg:
                read = self.resource(self.job.environment_id if arg == "environment" else arg)
            else:
                raise ValueError(f"unknown upstream read {need!r}")
            self._prefetches.add(task := asyncio.ensure_future(_quietly(read)))
            task.add_done_callback(self._prefetches.discard)

    def workspace_resource_id(self) -> str | None:
        """The workspace's ARM id if the log setup has been read (without waiting for it)."""
        task = self._tasks.get(("log_setup", self.job.environment_id))
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        setup: LogSetup = task.result()
        return setup.workspace_resource_id

    def _query_window(self, name: str) -> Window:
        if name == "config_changes":
            return Window(self.window.start - CHANGE_LOOKBACK, self.window.end)
        return self.window

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()


async def _quietly(awaitable: Awaitable[Any]) -> None:
    # A prefetch that fails is reported by the check that needs it, not here.
    try:
        await awaitable
    except Exception:
        return


def _is_guid(text: str) -> bool:
    # Principal ids are dependencies too, but they name no resource: they are matched in event properties.
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12]
