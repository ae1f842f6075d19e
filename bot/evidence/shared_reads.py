"""One read, many readers: identical upstream reads made once for every triage in the process.

An incident is when several people triage the same job at once, and an alert storm triages many jobs:
without this, every triage makes the same reads for the same window and they queue behind each other in
Log Analytics' limiter until checks miss their deadlines. Here, in front of the readers (the same ports,
so the evidence core does not change):

- **single flight**: a read asked for while the same read is in flight (same query text, parameters and
  window; same ARM GET; same Resource Graph query) joins it. Its answer, or its error, goes to every
  waiter; a waiter that gives up (its check's deadline) does not cancel the read for the others;
- **reuse**: a completed answer serves the same read again for `reuse_s` seconds (0: never), measured on
  an injected timer clock. Errors are never kept;
- **a shared window end**: reads are only identical if the windows are, and a triage's window ends at
  its own "now". So a triage of a job started while an earlier triage of it is running, or within
  `reuse_s` after that one ended, ends its window where that one did (`Reading.now`). The evidence it
  gets is then at most `reuse_s` (plus one triage) old — the same bound as reusing the answers, and the
  report says when its evidence was read. Only the triage that took a window end can keep it alive: a
  steady stream of joiners never holds a job's window in the past. A `fresh` triage takes its own now;
- **one window for a storm**: a triage of another job, started while triages that took their window end at
  most `STORM_S` ago are running, ends its window there too, so the same query for both jobs can go to Log
  Analytics once (`bot.evidence.batched_logs`, which `crowded()` tells whether to wait for company).

Only reads inside a triage share (`SharedReads.triage`): anything else (a checklist verifying a
rollback, `/jobbot jobs`) reads straight through, as it wants the world as it is now.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.clock import Clock
from bot.evidence.combined_logs import query_combined
from bot.evidence.limiter import Ticket, current_ticket, new_ticket, start_read
from bot.evidence.ports import ChangesReader, JobsReader, LogsReader, QueueReader
from bot.intake import JobSpec
from bot.kql_combined import Part
from bot.model import Execution, Job, JobRef, LogSetup, MetricSeries, QueryResult, QueueDepth, ScaleRule, Window

T = TypeVar("T")
DEFAULT_REUSE_S = 30.0
_PRUNE_EVERY = timedelta(seconds=1)
STORM_S = 5.0  # triages of different jobs started this close together share a window end


@dataclass(slots=True)
class Reading:
    """One triage's reads: the window end it uses, and when each answer it used was read."""

    now: datetime  # the triage's window end (world clock)
    clock: Clock  # the world's clock: "evidence from …" is on it (the scenario's in scenario mode)
    fresh_since: datetime | None = None  # timer instant: no reuse, and no joining a read started before
    read_at: list[datetime] = field(default_factory=list)

    def evidence_read_at(self) -> datetime:
        """When the oldest answer this triage used was read (its own now if it used none)."""
        return min(self.read_at, default=self.now)


_READING: contextvars.ContextVar[Reading | None] = contextvars.ContextVar("jobbot_reading", default=None)


@contextmanager
def reading(now: datetime, clock: Clock) -> Iterator[Reading]:
    """A triage's reads without a shared layer (tests on fakes): its own window end, nothing shared."""
    current = Reading(now, clock)
    token = _READING.set(current)
    try:
        yield current
    finally:
        _READING.reset(token)


@dataclass(slots=True)
class _Flight:
    task: asyncio.Task[tuple[Any, datetime]]
    started: datetime  # timer
    ticket: Ticket  # the shared read's place in jobbot's queues, which every waiter's ticket follows


@dataclass(frozen=True, slots=True)
class _Kept:
    value: Any
    read_at: datetime  # world clock, shown in the report
    at: datetime  # timer, for expiry
    started: datetime  # timer: a slower, older read never replaces a newer answer


@dataclass(slots=True)
class _Anchor:
    end: datetime  # the window end triages of this job share
    taken: datetime  # timer: when a triage first took this end (for any job)
    running: bool = True  # the triage that took it is still running
    released: datetime | None = None  # timer: when it finished


class SharedReads:
    """The process-wide single-flight and reuse table, and the shared window ends."""

    def __init__(self, timer: Clock, reuse_s: float = DEFAULT_REUSE_S, batch_window_s: float = 0.05) -> None:
        if reuse_s < 0 or batch_window_s < 0:
            raise ValueError("reuse_s and batch_window_s must be 0 (off) or more")
        self._timer = timer
        self._reuse = timedelta(seconds=reuse_s)
        self.batch_window_s = batch_window_s
        self._running = 0  # triages inside `triage()` now
        self._flights: dict[tuple[Any, ...], _Flight] = {}
        self._kept: dict[tuple[Any, ...], _Kept] = {}
        self._pruned: datetime | None = None  # timer: when expired answers were last dropped
        self._anchors: dict[tuple[str, ...], _Anchor] = {}

    @contextmanager
    def triage(self, spec: JobSpec, clock: Clock, *, fresh: bool = False) -> Iterator[Reading]:
        """The scope of one triage of `spec`: its window end (`Reading.now`), and its reads shared."""
        now = self._timer.now()
        self._anchors = {k: a for k, a in self._anchors.items() if a.running or not self._expired(a.released, now)}
        key = (spec.name.lower(), (spec.resource_group or "").lower(), (spec.subscription or "").lower())
        anchor = None if fresh else self._anchors.get(key)
        owner = anchor is None
        if anchor is None:
            storm = None if fresh or not self.batch_window_s else self._storm(now)
            anchor = self._anchors[key] = _Anchor(storm.end, storm.taken) if storm else _Anchor(clock.now(), now)
        current = Reading(anchor.end, clock, fresh_since=now if fresh else None)
        token = _READING.set(current)
        self._running += 1
        try:
            yield current
        finally:
            self._running -= 1
            _READING.reset(token)
            if owner:
                anchor.running, anchor.released = False, self._timer.now()

    @contextmanager
    def ahead(self, clock: Clock) -> Iterator[None]:
        """Reads started inside are shared with the triages that follow (single flight, then reuse), without
        taking a window end: for reads that have no window (an environment's log setup, a queue's depth)
        started before the triages themselves (`jobbot status`, while the jobs are still being listed)."""
        token = _READING.set(Reading(clock.now(), clock))
        try:
            yield
        finally:
            _READING.reset(token)

    def crowded(self) -> bool:
        """More than one triage is running: a query may find company if it waits a moment."""
        return self._running > 1

    def _storm(self, now: datetime) -> _Anchor | None:
        """The newest running window end taken at most STORM_S ago, for any job."""
        recent = [a for a in self._anchors.values() if a.running and now - a.taken <= timedelta(seconds=STORM_S)]
        return max(recent, key=lambda a: a.taken, default=None)

    async def read(self, key: tuple[Any, ...], fetch: Callable[[], Awaitable[T]]) -> T:
        """`fetch()`'s answer, shared with every triage asking for `key` at the same time or shortly after."""
        current = _READING.get()
        if current is None:
            return await fetch()
        now = self._timer.now()
        kept = self._kept.get(key)
        if kept is not None and current.fresh_since is None and not self._expired(kept.at, now):
            current.read_at.append(kept.read_at)
            value: T = kept.value
            return value
        flight = self._flights.get(key)
        if flight is None or (current.fresh_since is not None and flight.started < current.fresh_since):
            flight = self._start(key, fetch, now, current.clock)
        if (mine := current_ticket()) is not None:
            mine.follow(flight.ticket)  # its queue time is this read's too; a person's triage promotes it
        # shield: a waiter giving up (its deadline, its triage cancelled) must not cancel the others' read.
        value, read_at = await asyncio.shield(flight.task)
        current.read_at.append(read_at)
        return value

    def in_flight(self) -> int:
        return len(self._flights)

    async def close(self) -> None:
        tasks = [f.task for f in self._flights.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, key: tuple[Any, ...], fetch: Callable[[], Awaitable[T]], now: datetime,
               clock: Clock) -> _Flight:
        async def run() -> tuple[T, datetime]:
            value = await fetch()
            return value, clock.now()

        ticket = new_ticket()
        flight = _Flight(start_read(run, ticket), now, ticket)
        self._flights[key] = flight
        flight.task.add_done_callback(lambda task: self._landed(key, flight))
        return flight

    def _landed(self, key: tuple[Any, ...], flight: _Flight) -> None:
        if self._flights.get(key) is flight:  # a fresh read may have taken the key over meanwhile
            del self._flights[key]
        task = flight.task
        if task.cancelled() or task.exception() is not None or not self._reuse:
            return  # errors go to the waiters only: the next triage asks again
        now = self._timer.now()
        if self._pruned is None or now - self._pruned >= _PRUNE_EVERY:
            # Not on every landing: a board of 50 jobs lands hundreds of reads at once.
            self._kept = {k: v for k, v in self._kept.items() if not self._expired(v.at, now)}
            self._pruned = now
        previous = self._kept.get(key)
        if previous is None or previous.started <= flight.started:
            value, read_at = task.result()
            self._kept[key] = _Kept(value, read_at, now, flight.started)

    def _expired(self, at: datetime | None, now: datetime) -> bool:
        return at is None or now - at >= self._reuse


# -- the ports, shared ------------------------------------------------------------------------------------


def _ids(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({v.lower() for v in values if v}))


def _params(params: Mapping[str, object]) -> str:
    return repr(sorted((k, repr(v)) for k, v in params.items()))


class SharedJobs:
    """JobsReader: the job, its executions, log setup and metrics shared; listing and recall straight through."""

    def __init__(self, inner: JobsReader, shared: SharedReads) -> None:
        self._inner, self._shared = inner, shared

    async def find_job(self, spec: JobSpec) -> Job:
        key = ("job", spec.name.lower(), (spec.resource_group or "").lower(), (spec.subscription or "").lower())
        return await self._shared.read(key, lambda: self._inner.find_job(spec))

    def recall(self, spec: JobSpec) -> Job | None:
        return self._inner.recall(spec)

    async def server_date(self) -> datetime | None:
        """Azure's clock, for `jobbot doctor`, straight through (never shared: it is about now)."""
        probe = getattr(self._inner, "server_date", None)
        result: datetime | None = await probe() if probe is not None else None
        return result

    async def list_jobs(self, as_found: Callable[[Job], None] | None = None) -> Sequence[Job]:
        return await self._inner.list_jobs(as_found)

    async def executions(self, job: JobRef) -> Sequence[Execution]:
        return await self._shared.read(("executions", job.id.lower()), lambda: self._inner.executions(job))

    async def log_setup(self, job: Job) -> LogSetup:
        # Where an environment's logs go is the environment's setting: one read for all its jobs.
        return await self._shared.read(("log_setup", job.environment_id.lower() or job.ref.id.lower()),
                                       lambda: self._inner.log_setup(job))

    async def metric(self, job: JobRef, name: str, window: Window) -> MetricSeries:
        return await self._shared.read(("metric", job.id.lower(), name, window.start, window.end),
                                       lambda: self._inner.metric(job, name, window))


class SharedLogs:
    """LogsReader: one Log Analytics query per workspace, query, parameters and window (several jobs'
    batched queries then go out together below this, `bot.evidence.batched_logs`)."""

    def __init__(self, inner: LogsReader, shared: SharedReads) -> None:
        self._inner, self._shared = inner, shared

    async def query(
        self, workspace_id: str, query_name: str, params: Mapping[str, object], window: Window
    ) -> QueryResult:
        key = ("query", workspace_id.lower(), query_name, _params(params), window.start, window.end)
        return await self._shared.read(key, lambda: self._inner.query(workspace_id, query_name, params, window))

    async def query_combined(self, workspace_id: str, parts: Sequence[Part], window: Window) -> list[QueryResult]:
        key = ("combined", workspace_id.lower(), tuple((n, _params(p)) for n, p in parts), window.start, window.end)
        return await self._shared.read(key, lambda: query_combined(self._inner, workspace_id, parts, window))


class SharedQueues:
    def __init__(self, inner: QueueReader, shared: SharedReads) -> None:
        self._inner, self._shared = inner, shared

    async def depth(self, job: Job, rule: ScaleRule) -> QueueDepth:
        key = ("queue", job.ref.id.lower(), rule.type, tuple(sorted(rule.metadata.items())))
        return await self._shared.read(key, lambda: self._inner.depth(job, rule))


class SharedChanges:
    def __init__(self, inner: ChangesReader, shared: SharedReads) -> None:
        self._inner, self._shared = inner, shared

    async def resource_changes(
        self, resource_ids: Sequence[str], since: datetime, related: Sequence[str] = ()
    ) -> Sequence[Mapping[str, Any]]:
        key = ("resource_changes", _ids(resource_ids), since, _ids(related))
        return await self._shared.read(key, lambda: self._inner.resource_changes(resource_ids, since, related))

    async def role_assignments(
        self, principal_ids: Sequence[str], scopes: Sequence[str]
    ) -> Sequence[Mapping[str, Any]]:
        key = ("role_assignments", _ids(principal_ids), _ids(scopes))
        return await self._shared.read(key, lambda: self._inner.role_assignments(principal_ids, scopes))

    async def role_definition(self, definition_id: str) -> Mapping[str, Any]:
        return await self._shared.read(("role_definition", definition_id.lower()),
                                       lambda: self._inner.role_definition(definition_id))

    async def resource(self, resource_id: str) -> Mapping[str, Any]:
        return await self._shared.read(("resource", resource_id.lower()), lambda: self._inner.resource(resource_id))

    async def alert_rules(self, resource_group_id: str) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        return await self._shared.read(("alert_rules", resource_group_id.lower()),
                                       lambda: self._inner.alert_rules(resource_group_id))

    async def action_group(self, group_id: str) -> Mapping[str, Any]:
        return await self._shared.read(("action_group", group_id.lower()), lambda: self._inner.action_group(group_id))

    async def environment_usages(self, environment_id: str) -> Sequence[Mapping[str, Any]]:
        return await self._shared.read(("environment_usages", environment_id.lower()),
                                       lambda: self._inner.environment_usages(environment_id))

    async def workspace_resource(self, customer_id: str) -> Mapping[str, Any] | None:
        result: Mapping[str, Any] | None = await self._shared.read(
            ("workspace_resource", customer_id.lower()), lambda: self._inner.workspace_resource(customer_id))
        return result

    async def workspace(self, customer_id: str) -> str | None:
        # The reader caches its answer for its own lifetime already; sharing still joins concurrent asks.
        result: str | None = await self._shared.read(("workspace", customer_id.lower()),
                                                     lambda: self._inner.workspace(customer_id))
        return result

