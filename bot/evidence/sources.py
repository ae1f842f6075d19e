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
from bot.evidence.activity_scope import rows_concerning
from bot.evidence.batched_changes import BatchedChanges
from bot.evidence.batched_logs import BatchedLogs, rows_of
from bot.evidence.combined_logs import query_combined
from bot.evidence.limiter import awaiting, current_ticket, new_ticket, start_read
from bot.evidence.ports import ChangesReader, JobsReader, LogsReader, QueueReader
from bot.evidence.shared_reads import SharedChanges, SharedJobs, SharedLogs, SharedQueues, SharedReads
from bot.kql import load_query, render
from bot.kql_combined import compatible
from bot.model import Execution, Job, LogSetup, MetricSeries, QueryResult, QueueDepth, ScaleRule, Window

# Changes that broke a job often land well before its failures start.
CHANGE_LOOKBACK = timedelta(hours=24)
# Resource Graph keeps 14 days of change history: read all of it (a job has few writes), so the last change
# before the window and the job's usual deployer are known too.
RESOURCE_GRAPH_LOOKBACK = timedelta(days=14)
# A review judges secret reads and access changes over 30 days, whatever its window (review.md SEC-08).
AUDIT_LOOKBACK = timedelta(days=30)

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

    async def alert_rules(self, resource_group_id: str) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        raise NotApplicable("alert rules are not read in this setup")

    async def action_group(self, group_id: str) -> Mapping[str, Any]:
        raise NotApplicable("action groups are not read in this setup")

    async def workspace(self, customer_id: str) -> str | None:
        raise NotApplicable("workspaces are not located in this setup")

    async def workspace_resource(self, customer_id: str) -> Mapping[str, Any] | None:
        raise NotApplicable("workspaces are not located in this setup")

    async def environment_usages(self, environment_id: str) -> Sequence[Mapping[str, Any]]:
        raise NotApplicable("environment usages are not read in this setup")


NO_CHANGES: ChangesReader = NoChanges()


@dataclass(frozen=True, slots=True)
class Readers:
    jobs: JobsReader
    logs: LogsReader
    queues: QueueReader
    changes: ChangesReader = NO_CHANGES
    shared: SharedReads | None = None  # the process-wide shared reads these go through, if any

    def behind(self, shared: SharedReads) -> Readers:
        """These readers behind the process-wide shared reads (the Azure wiring does this once)."""
        batched = BatchedLogs(self.logs, window_s=shared.batch_window_s, crowded=shared.crowded)
        changes = BatchedChanges(self.changes, window_s=shared.batch_window_s, crowded=shared.crowded)
        return Readers(jobs=SharedJobs(self.jobs, shared), logs=SharedLogs(batched, shared),
                       queues=SharedQueues(self.queues, shared), changes=SharedChanges(changes, shared),
                       shared=shared)


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
            task = start_read(fetch)  # with a ticket: its time in jobbot's own queue is not the check's
            self._tasks[key] = task
        return task

    async def _get(self, key: tuple[Any, ...], fetch: Callable[[], Awaitable[Any]]) -> Any:
        task = self._once(key, fetch)
        awaiting(task)
        # shield: one check hitting its deadline must not cancel a read other checks still wait for.
        return await asyncio.shield(task)

    async def executions(self) -> Sequence[Execution]:
        result: Sequence[Execution] = await self._get(
            ("executions", self.job.ref.id), lambda: self._readers.jobs.executions(self.job.ref))
        return result

    async def log_setup(self) -> LogSetup:
        result: LogSetup = await self._get(
            ("log_setup", self.job.environment_id), lambda: self._readers.jobs.log_setup(self.job))
        return result

    def _query_ask(self, name: str, extra: Mapping[str, object]) -> tuple[Window, dict[str, object], tuple[Any, ...]]:
        """The window, parameter values and memo key of the canned query `name` for this job."""
        window = self._query_window(name)
        available: dict[str, object] = {
            "job": self.job.ref.name,
            "jobs": [self.job.ref.name],  # a batched query: this job's rows are picked out below
            "start": window.start,
            "end": window.end,
            "resource_ids": [i.lower() for i in (self.job.ref.id, self.job.environment_id) if i],
            "related": [d for d in self.job.dependencies if not _is_guid(d)],
            "subscription_id": self.job.ref.subscription,
            "subscription_ids": [self.job.ref.subscription],
            **extra,
        }
        params = {p: available[p] for p, _ in load_query(name).params}
        return window, params, ("query", name, self.job.environment_id, repr(sorted(params.items())))

    async def query(self, name: str, **extra: object) -> QueryResult:
        """Rows of the canned query `name`, given the values it declares (job, window, ids …)."""
        canned = load_query(name)
        window, params, key = self._query_ask(name, extra)
        self.rendered[name] = render(name, **params)

        async def fetch() -> QueryResult:
            setup = await self.log_setup()
            return await self._readers.logs.query(setup.workspace_id, name, params, window)

        result: QueryResult = await self._get(key, fetch)
        if canned.batched:
            result = rows_of(result, self.job.ref.name)
        elif canned.batch == "lists":  # config_changes: the Activity Log rows of this job's ids and names
            result = rows_concerning(result, params["resource_ids"], params["related"],  # type: ignore[arg-type]
                                     self.job.ref.subscription)
        if result.partial:
            self.partial[name] = result.partial
        return result

    def query_together(self, asks: Mapping[str, Mapping[str, object]]) -> None:
        """Start the canned queries `asks` (name -> extra values, as `query` takes them) in as few Log Analytics
        requests as their windows and values allow (`bot.kql_combined`), without waiting. `query` then finds
        each one's rows already on their way; a query started before is left as it is."""
        groups: list[tuple[Window, list[tuple[str, dict[str, object], tuple[Any, ...]]]]] = []
        for name, extra in asks.items():
            window, params, key = self._query_ask(name, extra)
            if key in self._tasks:
                continue
            for group_window, members in groups:
                if group_window == window and compatible([*(n for n, _, _ in members), name],
                                                         [*(p for _, p, _ in members), params]):
                    members.append((name, params, key))
                    break
            else:
                groups.append((window, [(name, params, key)]))
        for window, members in groups:
            if len(members) > 1:
                self._combine(window, members)

    def _combine(self, window: Window, members: list[tuple[str, dict[str, object], tuple[Any, ...]]]) -> None:
        parts = [(name, params) for name, params, _ in members]

        async def fetch() -> list[QueryResult]:
            setup = await self.log_setup()
            return await query_combined(self._readers.logs, setup.workspace_id, parts, window)

        ticket = new_ticket()
        combined = self._tasks[("combined", *(key for _, _, key in members))] = start_read(fetch, ticket)
        combined.add_done_callback(_consumed)  # each query's reader sees the error, if any
        for index, (name, params, key) in enumerate(members):
            self.rendered[name] = render(name, **params)

            async def mine(index: int = index) -> QueryResult:
                if (own := current_ticket()) is not None:
                    own.follow(ticket)  # its time in jobbot's queue is the combined request's
                # shield: one query's reader giving up must not cancel the request the others wait for.
                answers: list[QueryResult] = await asyncio.shield(combined)
                return answers[index]

            self._once(key, mine).add_done_callback(_consumed)

    async def queue_depth(self, rule_index: int = 0) -> QueueDepth:
        """Messages waiting at the event source of the job's scale rule `rule_index` (the first by default)."""
        rule = self.job.rules[rule_index] if len(self.job.rules) > rule_index else None

        async def fetch() -> QueueDepth:
            if rule is None:
                raise NotApplicable("the job has no event scale rule")
            return await self._readers.queues.depth(self.job, rule)

        key = ("queue", self.job.ref.id, None if rule is None else (rule.type, tuple(sorted(rule.metadata.items()))))
        result: QueueDepth = await self._get(key, fetch)
        return result

    async def queue_depth_of(self, rule: ScaleRule) -> QueueDepth:
        """Messages waiting at the event source `rule` names (a queue beside the scale rule's own, e.g. its
        poison queue: same account, another queue name)."""
        key = ("queue", self.job.ref.id, (rule.type, tuple(sorted(rule.metadata.items()))))
        result: QueueDepth = await self._get(key, lambda: self._readers.queues.depth(self.job, rule))
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

    async def alert_rules(self) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        """The alert rules of the job's resource group, by kind (metric, scheduled_query, activity_log)."""
        group = f"/subscriptions/{self.job.ref.subscription}/resourceGroups/{self.job.ref.resource_group}"
        result: Mapping[str, Sequence[Mapping[str, Any]]] = await self._get(
            ("alert_rules", group.lower()), lambda: self._readers.changes.alert_rules(group))
        return result

    async def action_group(self, group_id: str) -> Mapping[str, Any]:
        result: Mapping[str, Any] = await self._get(
            ("action_group", group_id.lower()), lambda: self._readers.changes.action_group(group_id))
        return result

    async def environment_usages(self) -> Sequence[Mapping[str, Any]]:
        """The job's environment's quota usages (ARM JSON `Usage` items), e.g. its Consumption cores."""
        if not self.job.environment_id:
            raise NotApplicable("the job names no managed environment")
        result: Sequence[Mapping[str, Any]] = await self._get(
            ("environment_usages", self.job.environment_id.lower()),
            lambda: self._readers.changes.environment_usages(self.job.environment_id))
        return result

    def prefetch(self, needs: Iterable[str]) -> None:
        """Start the reads named like 'executions', 'queue', 'query:<name>', 'metric:<name>',
        'changes:resourcegraph', 'changes:roles', 'resource:environment', 'resource:job', 'resource:<id>',
        'usages' or 'workspace' without waiting."""
        for need in needs:
            kind, _, arg = need.partition(":")
            read: Awaitable[Any]
            if kind == "executions":
                read = self.executions()
            elif kind == "queue":
                # Every scale rule's event source, each read once, all in the same round.
                reads = [self.queue_depth(i) for i in range(max(1, len(self.job.rules)))]
                read = asyncio.gather(*reads)
            elif kind == "query":
                read = self.query(arg)
            elif kind == "metric":
                read = self.metric(arg)
            elif need == "changes:resourcegraph":
                read = self.resource_changes()
            elif need == "changes:roles":
                read = self.role_assignments()
            elif need == "workspace":
                read = self.workspace()
            elif need == "usages":
                read = self.environment_usages()
            elif kind == "resource" and arg:
                special = {"environment": self.job.environment_id, "job": self.job.ref.id}
                read = self.resource(special.get(arg, arg))
            else:
                raise ValueError(f"unknown upstream read {need!r}")
            self._prefetches.add(task := asyncio.ensure_future(_quietly(read)))
            task.add_done_callback(self._prefetches.discard)

    async def workspace(self) -> str | None:
        """The workspace's ARM id, for portal links: as the log setup found it, else located by its customer id
        (config, then Resource Graph). Off the queries' path: they wait for the log setup only."""
        setup = await self.log_setup()
        if setup.workspace_resource_id:
            return setup.workspace_resource_id
        result: str | None = await self._get(("workspace", setup.workspace_id.lower()),
                                             lambda: self._readers.changes.workspace(setup.workspace_id))
        return result

    async def workspace_resource(self) -> Mapping[str, Any] | None:
        """The workspace the job's logs land in (ARM JSON): by GET when the log setup names its id, else as
        Resource Graph has it (one query gives id and properties: the review's third round, no fourth)."""
        setup = await self.log_setup()
        if setup.workspace_resource_id:
            return await self.resource(setup.workspace_resource_id)
        # The portal links' read first: its Resource Graph query answers this too (the reader keeps the
        # row), so there is one query, and none left in flight to be cancelled when the review ends.
        if await self.workspace() is None:
            return None
        result: Mapping[str, Any] | None = await self._get(
            ("workspace_resource", setup.workspace_id.lower()),
            lambda: self._readers.changes.workspace_resource(setup.workspace_id))
        return result

    def workspace_resource_id(self) -> str | None:
        """The workspace's ARM id if it is known by now (without waiting): links render from what resolved."""
        setup = _done(self._tasks.get(("log_setup", self.job.environment_id)))
        if not isinstance(setup, LogSetup):
            return None
        located = _done(self._tasks.get(("workspace", setup.workspace_id.lower())))
        return setup.workspace_resource_id or (located if isinstance(located, str) else None)

    def _query_window(self, name: str) -> Window:
        if name == "config_changes":
            return Window(self.window.start - CHANGE_LOOKBACK, self.window.end)
        if name == "audit_activity":
            return Window(min(self.window.start, self.window.end - AUDIT_LOOKBACK), self.window.end)
        return self.window

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()


def _consumed(task: asyncio.Task[Any]) -> None:
    # A read nobody awaited in the end (a reader that gave up) must not log "exception never retrieved".
    if not task.cancelled():
        task.exception()


def _done(task: asyncio.Task[Any] | None) -> Any:
    """A finished task's result; None while it runs, or when it failed or was cancelled."""
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


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
