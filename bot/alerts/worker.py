"""The alerts' background worker: claims due timers of its kinds from the store and runs their handlers.

Each replica runs one. `Timers.due` hands every due timer to exactly one poller (row locks with SKIP
LOCKED on PostgreSQL), and one claimed `lease_s` ago and never finished (its replica died) is handed out
again. A handler returns when its timer should fire again, or None when it is done with it.

The webhook wakes the worker at once, so an accepted alert does not wait for the next poll; the poll
catches the rest (other replicas' work, retries, leases run out). While the webhook is answering, the
worker gives way (`give_way`, see `pressure`) before each claim and each handler it starts. In-flight
handlers are capped, and `stop` cancels them: their leases run out and another replica (or this one,
restarted) takes over. While a handler runs, its claim is renewed every third of a lease, so a slow
handler (a triage on a loaded machine, a post waiting out Retry-After) is never handed out a second time
beside itself; only a replica that stopped renewing (it died) loses its work.

`idle` says when the work this replica was woken for is done: nothing in flight, and nothing found due
since the last wake-up. Everything that makes work due now (an accepted delivery, a nudge, a handler that
owes more) wakes the worker after writing its timer, so a check that finds nothing after the last wake has
seen it all. Timers due later (a watchdog, an escalation tier) and other replicas' work are not covered.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.store import Store, Timer
from bot.telemetry.metrics import ALERT_WORK_IN_FLIGHT, ALERT_WORK_QUEUE

log = logging.getLogger(__name__)

Handler = Callable[[Timer], Awaitable[datetime | None]]
GiveWay = Callable[[], Awaitable[None]]


async def _go_on() -> None:
    return None

POLL_S = 0.5
CAPACITY = 256  # handlers in flight per replica: most wait on Slack's pacing, not on the CPU
_RETRY_S = 5.0
MAX_BACKOFF_S = 300.0  # a failing handler is retried after 5 s, 10 s, 20 s … at most 5 min apart
_ATTEMPTS = "_attempts"  # failed attempts so far, kept in the timer's payload (durable across replicas)
PARKED_KEPT = 100


@dataclasses.dataclass(frozen=True, slots=True)
class Parked:
    """A timer given up on after its kind's attempt cap: logged, shown in /readyz, never retried."""

    kind: str
    key: str
    attempts: int
    at: datetime


class TimerWorker:
    def __init__(self, store: Store, scheduler: Clock, owner: str, handlers: Mapping[str, Handler], *,
                 lease_s: float, poll_s: float = POLL_S, capacity: int = CAPACITY,
                 running: Mapping[str, int] | None = None, attempts: Mapping[str, int] | None = None,
                 give_way: GiveWay = _go_on) -> None:
        self._timers = store.timers
        self._give_way = give_way
        self._scheduler = scheduler
        self._owner = owner
        self._handlers = dict(handlers)
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._capacity = capacity
        self._wake = asyncio.Event()
        self._wakes = 0  # wake-ups so far
        self._quiet_since = -1  # `_wakes` when a claim last found nothing due with nothing in flight
        self._quiet = asyncio.Event()
        # Each handler in flight → the id of the timer it claimed (renewed while the handler runs).
        self._inflight: dict[asyncio.Task[None], str] = {}
        self._loop: asyncio.Task[None] | None = None
        self._renewing: asyncio.Task[None] | None = None
        # Per kind, how many handlers may run at once (the rest of the claimed ones wait their turn).
        self._running = {kind: asyncio.Semaphore(n) for kind, n in (running or {}).items()}
        # Per kind, how many failed attempts before the timer is parked (absent: retried, with backoff, forever).
        self._attempts = dict(attempts or {})
        self.parked: collections.deque[Parked] = collections.deque(maxlen=PARKED_KEPT)

    def wake(self) -> None:
        self._wakes += 1
        self._quiet.clear()
        self._wake.set()

    @property
    def idle(self) -> bool:
        """Running, nothing in flight and nothing due since the last wake-up (see the module notes).
        A plain read: another thread (a test driving the served app) may poll it."""
        return self._loop is not None and not self._inflight and self._quiet_since == self._wakes

    async def wait_idle(self, timeout_s: float = 30) -> None:
        """Return once `idle` (in the worker's own event loop); TimeoutError after `timeout_s`."""
        if self._loop is None:
            raise RuntimeError("the worker is not running: it will never be idle")
        async with asyncio.timeout(timeout_s):
            while not self.idle:
                await self._quiet.wait()

    async def start(self) -> None:
        if self._loop is None:
            self._loop = asyncio.create_task(self._run(), name="alerts-worker")
            self._renewing = asyncio.create_task(self._renew_every(self._lease_s / 3), name="alerts-leases")

    async def stop(self) -> None:
        loop, self._loop = self._loop, None
        renewing, self._renewing = self._renewing, None
        tasks = [*([loop] if loop else []), *([renewing] if renewing else []), *self._inflight]
        # A cancel can be swallowed (3.11's asyncio.wait_for drops one that arrives as its wait ends), and
        # SIGTERM must still end the process: ask again until every task has ended.
        while pending := [task for task in tasks if not task.done()]:
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.1)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()

    async def _run(self) -> None:
        while True:
            await self._give_way()
            try:
                claimed = await self.claim()
            except Exception:
                log.exception("alerts worker could not read its timers")
                claimed = 0
            if claimed:
                continue  # there may be more due right away
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._wake.wait()
            self._wake.clear()

    async def claim(self) -> int:
        """Claim what is due (up to the free capacity) and start a handler for each; returns how many."""
        room = self._capacity - len(self._inflight)
        if room <= 0:
            return 0  # the queue was measured when the worker became full
        wakes = self._wakes
        # Only this worker's kinds: other features' timers in the same store are theirs to claim.
        due = await self._timers.due(self._scheduler.now(), self._owner, limit=room, lease_s=self._lease_s,
                                     kinds=self._handlers)
        if due:
            self._quiet.clear()
        for timer in due:
            task = asyncio.create_task(self._handle(timer), name=f"{timer.kind}:{timer.key[-12:]}")
            self._inflight[task] = timer.id
            task.add_done_callback(self._settled)
        ALERT_WORK_IN_FLIGHT.set(len(self._inflight))
        if len(due) < room:
            ALERT_WORK_QUEUE.set(0)  # everything due was taken: nothing waits
        else:
            await self._measure_queue()  # full: what is due beyond this worker's room waits
        if not due and not self._inflight and wakes == self._wakes:
            self._quiet_since = wakes
            self._quiet.set()
        return len(due)

    async def _measure_queue(self) -> None:
        """Work due and not taken by any replica (asked only when this worker is full, so a quiet bot makes
        no extra query)."""
        try:
            ALERT_WORK_QUEUE.set(await self._timers.waiting(self._scheduler.now(), self._handlers))
        except Exception:  # a metric never stops the worker
            log.debug("could not count the waiting work", exc_info=True)

    async def renew_leases(self) -> int:
        """Renew the claims of the handlers in flight (one write for all); returns how many were held."""
        held = list(self._inflight.values())
        return await self._timers.extend(held, self._owner, self._scheduler.now()) if held else 0

    async def _renew_every(self, period_s: float) -> None:
        while True:
            await asyncio.sleep(period_s)
            try:
                await self.renew_leases()
            except Exception:  # the next beat tries again: the lease has two more periods to run
                log.warning("could not renew the alert worker's leases", exc_info=True)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        ALERT_WORK_IN_FLIGHT.set(len(self._inflight))
        if not self._inflight:
            self._wake.set()  # look once more now: if nothing is due, the worker is idle

    async def drain(self, timeout_s: float = 30) -> None:
        """Run until nothing is due and nothing is in flight (for tests and benchmarks)."""
        async with asyncio.timeout(timeout_s):
            while True:
                claimed = await self.claim()
                if self._inflight:
                    await asyncio.wait(set(self._inflight))
                elif not claimed:
                    return

    async def _handle(self, timer: Timer) -> None:
        failed = int(timer.payload.get(_ATTEMPTS, 0))
        payload = {k: v for k, v in timer.payload.items() if k != _ATTEMPTS}
        gate = self._running.get(timer.kind)
        handler = self._handlers[timer.kind]
        given = dataclasses.replace(timer, payload=payload)  # handlers never see the attempt count
        try:
            await self._give_way()
            if gate is None:
                again = await handler(given)
            else:
                async with gate:
                    again = await handler(given)
        except asyncio.CancelledError:
            raise
        except Exception:
            failed += 1
            cap = self._attempts.get(timer.kind)
            if cap is not None and failed >= cap:
                await self._park(timer, failed)
                return
            log.exception("alert timer failed, retrying", extra={"timer": timer.kind, "key": timer.key,
                                                                  "attempt": failed})
            backoff = min(MAX_BACKOFF_S, _RETRY_S * 2 ** (failed - 1))
            again, payload = self._scheduler.now() + timedelta(seconds=backoff), {**payload, _ATTEMPTS: failed}
        try:
            if again is None:
                await self._timers.done(timer.id)
            else:
                await self._timers.schedule(timer.kind, timer.key, again, payload)
        except Exception:  # left claimed: the lease hands it out again
            log.exception("could not settle an alert timer", extra={"timer": timer.kind, "key": timer.key})

    async def _park(self, timer: Timer, failed: int) -> None:
        log.exception("alert timer failed %d times: parked, not retried", failed,
                      extra={"timer": timer.kind, "key": timer.key})
        self.parked.append(Parked(timer.kind, timer.key, failed, self._scheduler.now()))
        try:
            await self._timers.done(timer.id)
        except Exception:  # left claimed: the lease hands it out again, and it is parked then
            log.exception("could not park an alert timer", extra={"timer": timer.kind, "key": timer.key})
