"""Per-triage access to upstream data, each source fetched at most once however many checks need it.

Checks start together; the first to ask for a source starts its fetch and the others await the same
task. So a triage costs the chain job -> environment -> everything else, not the sum of the calls.

Fetches are memoised by the values they depend on (job id, environment id, query parameters), not by
name. That makes prefetching safe: a triage may start reads for the job as it was last seen while the
job itself is still being looked up, and a read whose inputs turn out different is simply not used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import NotApplicable
from bot.evidence.ports import JobsReader, LogsReader, QueueReader
from bot.kql import load_query, render
from bot.model import Execution, Job, LogSetup, MetricSeries, QueryResult, QueueDepth, Window

# Changes that broke a job often land well before its failures start.
CHANGE_LOOKBACK = timedelta(hours=24)

Tasks = dict[tuple[Any, ...], "asyncio.Task[Any]"]


@dataclass(frozen=True, slots=True)
class Readers:
    jobs: JobsReader
    logs: LogsReader
    queues: QueueReader


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

    def prefetch(self, needs: Iterable[str]) -> None:
        """Start the reads named like 'executions', 'queue', 'query:<name>', 'metric:<name>' without waiting."""
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
