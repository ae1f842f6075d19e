"""jobbot's own queue (the Log Analytics limiter) is neither a failure nor unfair (issue 18, items 3 and 4)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.clock import FixedClock, ManualClock
from bot.evidence.limiter import Priority, PriorityLimiter, Ticket, priority, start_read
from bot.evidence.shared_reads import SharedReads
from bot.intake import JobSpec
from bot.model import Cause, CheckStatus, QueryResult, Window
from bot.triage import triage
from tests.fakes import NOW, FakeJobs, FakeLogs, make_job, readers
from tests.test_triage_core import oom_history, oom_logs

HOUR = timedelta(hours=1)


@dataclass
class QueuedLogs:
    """Log Analytics behind jobbot's limiter, as `bot.azure.logs` has it."""

    inner: FakeLogs
    limiter: PriorityLimiter
    upstream_delay_s: float = 0.0

    async def query(self, workspace_id: str, query_name: str, params: Mapping[str, object],
                    window: Window) -> QueryResult:
        async with self.limiter.slot():
            await asyncio.sleep(self.upstream_delay_s)
            return await self.inner.query(workspace_id, query_name, params, window)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_check_queued_in_jobbots_limiter_past_its_deadline_is_not_an_error() -> None:
    limiter = PriorityLimiter(1, "Log Analytics")
    logs = QueuedLogs(oom_logs(), limiter)
    jobs = FakeJobs([make_job()], oom_history())
    async with limiter.slot():  # another triage's query holds the only slot
        triaging = asyncio.ensure_future(triage(JobSpec("orders-processor"), HOUR, readers(jobs, logs),
                                                FixedClock(NOW), deadline_s=0.05))
        await asyncio.sleep(0.3)  # well past every check's deadline, all of it in jobbot's own queue
        assert not triaging.done()
    report = await triaging
    assert [c.name for c in report.checks if c.status is CheckStatus.ERROR] == []
    assert report.verdict.cause is Cause.OOM


async def test_an_upstream_call_past_the_deadline_is_still_an_error_with_its_reason() -> None:
    logs = QueuedLogs(oom_logs(), PriorityLimiter(5, "Log Analytics"), upstream_delay_s=5)
    jobs = FakeJobs([make_job()], oom_history())
    report = await triage(JobSpec("orders-processor"), HOUR, readers(jobs, logs), FixedClock(NOW), deadline_s=0.05)
    exit_codes = report.check("exit_codes")
    assert exit_codes is not None and exit_codes.status is CheckStatus.ERROR
    assert "no answer within 0.05 s" in exit_codes.summary


async def test_people_go_before_alert_triages_and_each_class_in_arrival_order() -> None:
    limiter = PriorityLimiter(1, "Log Analytics")
    served: list[str] = []

    async def read(name: str, level: Priority) -> None:
        with priority(level):
            async def fetch() -> None:
                async with limiter.slot():
                    served.append(name)
            await start_read(fetch)

    async with limiter.slot():
        tasks = []
        for name, level in [("alert-1", Priority.ALERT), ("alert-2", Priority.ALERT),
                            ("person-1", Priority.INTERACTIVE), ("alert-3", Priority.ALERT),
                            ("person-2", Priority.INTERACTIVE)]:
            tasks.append(asyncio.ensure_future(read(name, level)))
            await settle()
        assert limiter.queue_length == 5
    await asyncio.gather(*tasks)
    assert served == ["person-1", "person-2", "alert-1", "alert-2", "alert-3"]


async def test_a_person_joining_a_queued_alert_read_moves_it_ahead_of_other_alert_reads() -> None:
    clock = ManualClock(NOW)
    shared = SharedReads(clock)
    limiter = PriorityLimiter(1, "Log Analytics")
    logs = readers(FakeJobs([make_job()]), QueuedLogs(FakeLogs(), limiter)).behind(shared).logs
    window = Window(NOW - HOUR, NOW)
    served: list[str] = []

    async def query(job: str, level: Priority) -> None:
        with priority(level), shared.triage(JobSpec(job), clock):
            await start_read(lambda: logs.query("ws-1", "exit_codes", {"job": job}, window))
            served.append(f"{job}:{level.name.lower()}")

    async with limiter.slot():
        alerts = [asyncio.ensure_future(query(job, Priority.ALERT)) for job in ("a", "b")]
        await settle()
        person = asyncio.ensure_future(query("b", Priority.INTERACTIVE))  # joins the alert's read of b
        await settle()
    await asyncio.gather(*alerts, person)
    assert served[0].startswith("b:") and served[-1] == "a:alert"


async def test_a_waiter_that_gives_up_leaves_the_queue_and_the_slot_goes_on() -> None:
    limiter = PriorityLimiter(1, "Log Analytics")
    async with limiter.slot():
        quitter = asyncio.ensure_future(limiter.slot().__aenter__())
        await settle()
        quitter.cancel()
        await settle()
        assert limiter.queue_length == 0
    async with limiter.slot():  # free again: nothing leaked
        assert limiter.queue_length == 0


async def test_the_queue_length_and_wait_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    limiter = PriorityLimiter(1, "Log Analytics")
    with caplog.at_level(logging.INFO, logger="bot.evidence.limiter"):
        async with limiter.slot():
            waiting = [asyncio.ensure_future(start_read(lambda: _hold(limiter))) for _ in range(3)]
            await settle()
        await asyncio.gather(*waiting)
    records = [r for r in caplog.records if r.getMessage() == "read waited in jobbot's Log Analytics queue"]
    assert [(r.queued_ahead, r.priority) for r in records] == [(0, "interactive"), (1, "interactive"),  # type: ignore[attr-defined]
                                                               (2, "interactive")]
    assert all(r.wait_ms >= 0 for r in records)  # type: ignore[attr-defined]


async def _hold(limiter: PriorityLimiter) -> None:
    async with limiter.slot():
        await asyncio.sleep(0)


def test_a_ticket_following_a_shared_read_sees_its_wait_and_lends_it_priority() -> None:
    shared, mine = Ticket(Priority.ALERT), Ticket(Priority.INTERACTIVE)
    mine.follow(shared)
    shared.enter_queue(10.0)
    assert mine.queued() and mine.queued_s(12.5) == 2.5
    assert shared.priority is Priority.INTERACTIVE
    shared.leave_queue(13.0)
    assert not mine.queued() and mine.queued_s(20.0) == 3.0
