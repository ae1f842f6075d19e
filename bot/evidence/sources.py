"""Per-triage access to upstream data, each source fetched at most once however many checks need it.

Checks start together; the first to ask for a source starts its fetch and the others await the same
task. So a triage costs the chain job -> environment -> everything else, not the sum of the calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import NotApplicable
from bot.evidence.ports import JobsReader, LogsReader, QueueReader
from bot.kql import load_query
from bot.model import Execution, Job, LogSetup, MetricSeries, QueryResult, QueueDepth, Window

# Changes that broke a job often land well before its failures start.
CHANGE_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Readers:
    jobs: JobsReader
    logs: LogsReader
    queues: QueueReader


class Sources:
    """Memoised upstream reads for one job and one window."""

    def __init__(self, job: Job, window: Window, now: datetime, readers: Readers) -> None:
        self.job = job
        self.window = window
        self.now = now
        self._readers = readers
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def _once(self, key: str, fetch: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(fetch())
            self._tasks[key] = task
        return task

    async def executions(self) -> Sequence[Execution]:
        result: Sequence[Execution] = await asyncio.shield(
            self._once("executions", lambda: self._readers.jobs.executions(self.job.ref))
        )
        return result

    async def log_setup(self) -> LogSetup:
        result: LogSetup = await asyncio.shield(
            self._once("log_setup", lambda: self._readers.jobs.log_setup(self.job))
        )
        return result

    async def query(self, name: str, **extra: object) -> QueryResult:
        """Rows of the canned query `name`, given the values it declares (job, window, ids …)."""

        async def fetch() -> QueryResult:
            setup = await self.log_setup()
            window = self._query_window(name)
            available: dict[str, object] = {
                "job": self.job.ref.name,
                "start": window.start,
                "end": window.end,
                "resource_ids": [i.lower() for i in (self.job.ref.id, self.job.environment_id) if i],
                "subscription_id": self.job.ref.subscription,
                **extra,
            }
            params = {p: available[p] for p, _ in load_query(name).params}
            return await self._readers.logs.query(setup.workspace_id, name, params, window)

        key = f"query:{name}:{sorted(extra.items())}"
        result: QueryResult = await asyncio.shield(self._once(key, fetch))
        return result

    async def queue_depth(self) -> QueueDepth:
        async def fetch() -> QueueDepth:
            if not self.job.rules:
                raise NotApplicable("the job has no event scale rule")
            return await self._readers.queues.depth(self.job, self.job.rules[0])

        result: QueueDepth = await asyncio.shield(self._once("queue", fetch))
        return result

    async def metric(self, name: str) -> MetricSeries:
        result: MetricSeries = await asyncio.shield(
            self._once(f"metric:{name}", lambda: self._readers.jobs.metric(self.job.ref, name, self.window))
        )
        return result

    def _query_window(self, name: str) -> Window:
        if name == "config_changes":
            return Window(self.window.start - CHANGE_LOOKBACK, self.window.end)
        return self.window

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()
