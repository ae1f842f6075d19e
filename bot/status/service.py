"""The board's use case: list the jobs in scope, triage them all at once (bounded), one row each.

Every triage runs inside the shared readers (`SharedReads.triage`, via `bot.triage`), so triages started
together share a window end and their canned queries go to Log Analytics as one batch per kind
(`bot.evidence.batched_logs`); the environment's log setup and the ARM reads are single-flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Config
from bot.errors import JobbotError, JobNotFound
from bot.evidence.sources import Readers
from bot.intake import JobSpec
from bot.model import Job
from bot.status.board import Board, Row, could_not_check, ordered, row_from_report
from bot.triage import describe_window, triage

log = logging.getLogger(__name__)
CONCURRENT_JOBS = 64  # triages in flight at once (a board of 50 in one wave); the upstream limiters bound the rest


class ScopeNotFound(JobNotFound):
    """No environment or resource group of that name among the jobs jobbot can list."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        super().__init__(name, suggestions)
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        self.args = (f"No environment or resource group '{name}' among the jobs jobbot can see.{hint}",)


def environment_name(job: Job) -> str:
    """The job's Container Apps environment's name: the last segment of its id."""
    return job.environment_id.rstrip("/").rsplit("/", 1)[-1]


def may_be_in_scope(job: Job, scope: str | None, config: Config) -> bool:
    """Whether `in_scope` could choose this job (its environment or group is the scope, or it is in the catalog)."""
    if not scope:
        return not config.jobs or job.ref.name.lower() in {name.lower() for name in config.jobs}
    return scope.lower() in (environment_name(job).lower(), job.ref.resource_group.lower())


def in_scope(jobs: Sequence[Job], scope: str | None, config: Config) -> tuple[str, list[Job]]:
    """(how the board names its scope, the jobs in it). No scope: every job, or the config's catalog
    when it names jobs. Raises ScopeNotFound with close names."""
    if not scope:
        catalog = {name.lower() for name in config.jobs} if config.jobs else None
        chosen = [j for j in jobs if catalog is None or j.ref.name.lower() in catalog]
        return "all jobs", chosen
    wanted = scope.lower()
    by_environment = [j for j in jobs if environment_name(j).lower() == wanted]
    if by_environment:
        return f"environment {environment_name(by_environment[0])}", by_environment
    by_group = [j for j in jobs if j.ref.resource_group.lower() == wanted]
    if by_group:
        return f"resource group {by_group[0].ref.resource_group}", by_group
    names = sorted({environment_name(j) for j in jobs} | {j.ref.resource_group for j in jobs})
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(wanted, list(lowered), n=3, cutoff=0.5)
    raise ScopeNotFound(scope, [lowered[c] for c in close])


def surely_in_scope(job: Job, scope: str | None, config: Config) -> bool:
    """Whether `in_scope` will choose this job whatever the rest of the listing holds: any job of the catalog
    (or any job) with no scope, or a job of the environment named (an environment match always wins)."""
    if not scope:
        return may_be_in_scope(job, None, config)
    return environment_name(job).lower() == scope.lower()


async def status_board(scope: str | None, since: timedelta, readers: Readers, clock: Clock, config: Config,
                       *, concurrency: int = CONCURRENT_JOBS) -> Board:
    """The board for `scope` (an environment or resource group name; None for every job)."""
    warming: list[asyncio.Task[Any]] = []
    rows: dict[str, asyncio.Task[Row]] = {}  # by job id: triages started while the listing goes on
    gate = asyncio.Semaphore(concurrency)

    def found(job: Job) -> None:
        # As each page of the listing arrives, a job surely on the board is triaged at once, and any job
        # that may be is warmed: the environment's log setup (the queries wait for it) and the event source
        # (a Service Bus queue is found by listing namespaces first). Inside the shared reads, the triages
        # join those reads, so a later page of the listing costs no round trip of its own.
        if readers.shared is None or not may_be_in_scope(job, scope, config):
            return
        with readers.shared.ahead(clock):
            setup = asyncio.ensure_future(_quietly(readers.jobs.log_setup(job)))
            queues = [asyncio.ensure_future(_quietly(readers.queues.depth(job, rule))) for rule in job.rules]
            warming.extend([setup, *queues])
        if surely_in_scope(job, scope, config):
            # The triage starts once the environment has answered: its queries wait for that anyway, and
            # 50 triages starting at once would hold up the environment's own request on this event loop.
            rows.setdefault(job.ref.id.lower(), asyncio.ensure_future(
                _after(setup, lambda: _row(job, since, readers, clock, config, gate))))

    try:
        label, jobs = in_scope(await readers.jobs.list_jobs(found), scope, config)
        for job in jobs:
            rows.setdefault(job.ref.id.lower(), asyncio.ensure_future(_row(job, since, readers, clock, config, gate)))
        board = await asyncio.gather(*(rows[job.ref.id.lower()] for job in jobs))
        return Board(label, describe_window(since), ordered(board))
    finally:
        for task in [*warming, *rows.values()]:
            task.cancel()


async def _row(job: Job, since: timedelta, readers: Readers, clock: Clock, config: Config,
               gate: asyncio.Semaphore) -> Row:
    spec = JobSpec(job.ref.name, job.ref.resource_group, job.ref.subscription)
    async with gate:
        try:
            # The job as just listed: looking each one up again would cost one read per job.
            report = await triage(spec, since, readers, clock, deadline_s=config.check_deadline_s,
                                  config=config, listed=job)
        except JobbotError as error:
            return could_not_check(job.ref, str(error))
        except Exception as error:  # one job's bug must not take the board down
            log.exception("status: triage of %s failed", job.ref.name)
            return could_not_check(job.ref, f"internal error ({type(error).__name__})")
    return row_from_report(report)


async def _after(first: Awaitable[Any], then: Callable[[], Awaitable[Row]]) -> Row:
    await asyncio.shield(first)  # a row given up on must not cancel a warm-up other jobs share
    return await then()  # made only now: a row cancelled while it waits leaves no coroutine unawaited


async def _quietly(read: Awaitable[Any]) -> None:
    # A warm-up that fails is read again, and reported, by the job's own triage.
    with contextlib.suppress(Exception):
        await read
