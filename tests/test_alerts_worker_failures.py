"""The alerts worker when things go wrong: a store that cannot be read or written, a handler that keeps
failing, more work than it may run at once. Work is never lost (a claim not settled is handed out again
when its lease runs out) and never runs wider than its caps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.worker import TimerWorker
from bot.clock import ManualClock
from bot.store import Store, Timer
from tests.support.db import sqlite_url

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE_S = 60


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture()
def store(tmp_path: Path, clock: ManualClock) -> Iterator[Store]:
    with Store.open(sqlite_url(tmp_path / "j.db"), clock=clock) as opened:
        yield opened


def failing_once(real: Callable[..., Awaitable[Any]], failures: list[str]) -> Callable[..., Awaitable[Any]]:
    """`real`, except that its first call raises as a store gone away would."""
    async def call(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append("failed")
            raise OSError("database is locked")
        return await real(*args, **kwargs)

    return call


async def until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    """Return once `condition()` holds (a background worker got that far); the test's own asserts say whether
    the outcome was right."""
    async with asyncio.timeout(timeout_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


async def pending(store: Store, clock: ManualClock, kind: str = "work") -> list[str]:
    """Keys of `kind` still waiting (due by far in the future, leases run out), without keeping the claim."""
    later = clock.now() + timedelta(days=30)
    due = await store.timers.due(later, "peek", kinds=[kind], lease_s=0)
    for timer in due:
        await store.timers.schedule(timer.kind, timer.key, timer.due_at, timer.payload)
    return sorted(t.key for t in due)


async def test_a_store_that_cannot_be_read_is_logged_and_the_worker_keeps_polling(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []

    async def handler(timer: Timer) -> None:
        handled.append(timer.key)

    failures: list[str] = []
    store.timers.due = failing_once(store.timers.due, failures)  # type: ignore[method-assign]
    await store.timers.schedule("work", "k1", clock.now(), {})
    worker = TimerWorker(store, clock, "r1", {"work": handler}, lease_s=LEASE_S, poll_s=0.01)
    with caplog.at_level(logging.ERROR, logger="bot.alerts.worker"):
        await worker.start()
        try:
            await until(lambda: bool(handled))
        finally:
            await worker.stop()
    assert failures == ["failed"]
    assert handled == ["k1"], "the next poll found the work"
    assert any("could not read its timers" in r.getMessage() for r in caplog.records)


async def test_a_timer_that_cannot_be_settled_runs_again_once_its_lease_runs_out(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[str] = []

    async def handler(timer: Timer) -> None:
        handled.append(timer.key)

    failures: list[str] = []
    store.timers.done = failing_once(store.timers.done, failures)  # type: ignore[method-assign]
    await store.timers.schedule("work", "k1", clock.now(), {})
    worker = TimerWorker(store, clock, "r1", {"work": handler}, lease_s=LEASE_S)
    with caplog.at_level(logging.ERROR, logger="bot.alerts.worker"):
        await worker.drain(5)
    assert handled == ["k1"] and failures == ["failed"]
    assert any("could not settle" in r.getMessage() for r in caplog.records)
    await worker.drain(5)
    assert handled == ["k1"], "still claimed: nobody runs it twice within the lease"
    clock.advance(timedelta(seconds=LEASE_S + 1))
    await worker.drain(5)
    assert handled == ["k1", "k1"], "the lease ran out: handed out again, not lost"
    assert await pending(store, clock) == []


async def test_a_parked_timer_that_cannot_be_removed_is_parked_again_after_its_lease(
    store: Store, clock: ManualClock
) -> None:
    async def broken(timer: Timer) -> None:
        raise RuntimeError("cannot be processed")

    failures: list[str] = []
    store.timers.done = failing_once(store.timers.done, failures)  # type: ignore[method-assign]
    await store.timers.schedule("work", "poison", clock.now(), {})
    worker = TimerWorker(store, clock, "r1", {"work": broken}, lease_s=LEASE_S, attempts={"work": 1})
    await worker.drain(5)
    assert [(p.key, p.attempts) for p in worker.parked] == [("poison", 1)]
    assert failures == ["failed"]
    clock.advance(timedelta(seconds=LEASE_S + 1))
    await worker.drain(5)
    assert [(p.key, p.attempts) for p in worker.parked] == [("poison", 1), ("poison", 1)]
    assert await pending(store, clock) == [], "parked for good the second time"


async def test_a_failing_handler_is_retried_later_with_its_payload_intact(store: Store, clock: ManualClock) -> None:
    seen: list[dict[str, Any]] = []

    async def flaky(timer: Timer) -> None:
        seen.append(timer.payload)
        if len(seen) == 1:
            raise RuntimeError("Slack answered 500")

    await store.timers.schedule("work", "k1", clock.now(), {"channel": "C0INC"})
    worker = TimerWorker(store, clock, "r1", {"work": flaky}, lease_s=LEASE_S)
    await worker.drain(5)
    assert len(seen) == 1
    clock.advance(timedelta(seconds=4))
    await worker.drain(5)
    assert len(seen) == 1, "not before its backoff"
    clock.advance(timedelta(seconds=2))
    await worker.drain(5)
    assert seen == [{"channel": "C0INC"}, {"channel": "C0INC"}], "the attempt count stays the worker's own"
    assert await pending(store, clock) == []


async def test_handlers_of_a_kind_never_run_wider_than_its_cap(store: Store, clock: ManualClock) -> None:
    running, widest = 0, 0

    async def handler(timer: Timer) -> None:
        nonlocal running, widest
        running += 1
        widest = max(widest, running)
        await asyncio.sleep(0.01)
        running -= 1

    for key in ("a", "b", "c"):
        await store.timers.schedule("work", key, clock.now(), {})
    worker = TimerWorker(store, clock, "r1", {"work": handler}, lease_s=LEASE_S, running={"work": 1})
    await worker.drain(5)
    assert widest == 1
    assert await pending(store, clock) == []


async def test_a_full_worker_claims_nothing_more_until_a_handler_ends(store: Store, clock: ManualClock) -> None:
    release = asyncio.Event()
    started: list[str] = []

    async def handler(timer: Timer) -> None:
        started.append(timer.key)
        await release.wait()

    for key in ("a", "b"):
        await store.timers.schedule("work", key, clock.now(), {})
    worker = TimerWorker(store, clock, "r1", {"work": handler}, lease_s=LEASE_S, capacity=1)
    assert await worker.claim() == 1
    assert await worker.claim() == 0, "at capacity: the second timer stays for this or another replica"
    await asyncio.sleep(0)
    assert started == ["a"]
    release.set()
    await worker.drain(5)
    assert started == ["a", "b"]
    assert await pending(store, clock) == []


async def test_a_handler_slower_than_its_lease_keeps_its_timer_while_it_runs(store: Store, clock: ManualClock) -> None:
    """A triage on a loaded replica can outlast the lease: the running replica renews its claim, so the
    timer is not handed out a second time beside itself (an alert would be processed, and audited, twice)."""
    release = asyncio.Event()
    started: list[str] = []

    async def slow(timer: Timer) -> None:
        started.append(timer.key)
        await release.wait()

    await store.timers.schedule("work", "k1", clock.now(), {})
    worker = TimerWorker(store, clock, "r1", {"work": slow}, lease_s=LEASE_S)
    other = TimerWorker(store, clock, "r2", {"work": slow}, lease_s=LEASE_S)
    assert await worker.claim() == 1
    await asyncio.sleep(0)
    clock.advance(timedelta(seconds=LEASE_S / 2))
    assert await worker.renew_leases() == 1
    clock.advance(timedelta(seconds=LEASE_S / 2 + 1))  # the first claim is older than a lease; the renewal is not
    assert await other.claim() == 0 and await worker.claim() == 0
    assert started == ["k1"]
    release.set()
    await worker.drain(5)
    assert started == ["k1"] and await pending(store, clock) == []


async def test_a_running_worker_renews_its_claims_by_itself_and_a_silent_one_loses_them(
    store: Store, clock: ManualClock
) -> None:
    release = asyncio.Event()
    started: list[str] = []

    async def slow(timer: Timer) -> None:
        started.append(timer.key)
        await release.wait()

    lease_s = 0.3  # renewed every 0.1 s of real time, with the manual clock's reading
    renewals: list[tuple[datetime, int]] = []
    extend = store.timers.extend

    async def watched(ids: Any, owner: str, now: datetime) -> int:
        held = await extend(ids, owner, now)
        renewals.append((now, held))
        return held

    store.timers.extend = watched  # type: ignore[method-assign]
    await store.timers.schedule("work", "k1", clock.now(), {})
    worker = TimerWorker(store, clock, "r1", {"work": slow}, lease_s=lease_s, poll_s=0.01)
    other = TimerWorker(store, clock, "r2", {"work": slow}, lease_s=lease_s)
    await worker.start()
    try:
        await until(lambda: bool(started))
        renewed_at = clock.now() + timedelta(seconds=0.2)
        clock.advance(timedelta(seconds=0.2))
        for _ in range(1000):  # until the worker's own beat has written the renewal
            claim = await store.timers.due(clock.now() + timedelta(days=1), "peek", kinds=["work"])
            assert claim == [], "still held by r1"
            if (renewed_at, 1) in renewals:
                break
            await asyncio.sleep(0.01)
        clock.advance(timedelta(seconds=0.2))  # 0.4 s after the claim, 0.2 s after the renewal
        assert await other.claim() == 0
    finally:
        await worker.stop()
    # r1 is gone (as if killed): nobody renews, and once its lease runs out r2 takes the work over.
    clock.advance(timedelta(seconds=lease_s + 0.1))
    assert await other.claim() == 1
    release.set()
    await other.drain(5)
    assert started == ["k1", "k1"]

