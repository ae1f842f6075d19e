"""Acknowledging an alert thread, and calling the owners' chain tier by tier until someone does.

Each thread has at most one escalation timer in the store (`alerts.escalate`, keyed by the thread), due
when its next tier is. Whichever replica's poller claims it decides from the stored thread alone
(`tiers.escalation_step`): acknowledged or resolved threads escalate no further, and a thread whose
timer fires late (jobbot was down) calls the tier due now. The note itself is a thread effect, so it is
posted once however many replicas race. Acknowledging records who and when (the first click stands) and
cancels the timer; a timer that fires anyway finds the acknowledgement and stops.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.alerts.storage import ESCALATE, WORK, AlertRecords
from bot.alerts.thread import Ack, Thread, acknowledge, escalate
from bot.alerts.tiers import escalation_step
from bot.clock import Clock
from bot.store import Store
from bot.telemetry.metrics import ALERT_ESCALATIONS as ESCALATIONS

Audit = Callable[..., Awaitable[None]]
_USER_ID = re.compile(r"\A[UW][A-Z0-9]{2,}\Z")


@dataclass(frozen=True, slots=True)
class AckOutcome:
    thread: Thread | None  # None: no such thread
    recorded: bool  # this click was the acknowledgement (False: someone acknowledged first)

    @property
    def ack(self) -> Ack | None:
        return self.thread.ack if self.thread else None


class Escalations:
    def __init__(self, *, store: Store, records: AlertRecords, clock: Clock, scheduler: Clock,
                 wake: Callable[[], None] = lambda: None) -> None:
        self._timers = store.timers
        self._records = records
        self._clock = clock
        self._scheduler = scheduler
        self._wake = wake

    async def on_timer(self, key: str) -> int | None:
        """The escalation timer of thread `key` fired: owe the due tier's note, set the timer for the next.
        Returns the tier called now, if any."""
        now = self._scheduler.now()

        def step(thread: Thread | None) -> Thread | None:
            tier = escalation_step(thread, now).tier if thread else None
            return escalate(thread, tier) if thread and tier else None

        thread, called = await self._records.change(key, step)
        if thread is None:
            return None
        if called:
            ESCALATIONS.inc()
            await self._timers.schedule(WORK, key, now, {})
            self._wake()
        after = escalation_step(thread, now).next_at
        if after is not None:
            await self._timers.schedule(ESCALATE, key, after, {})
        return thread.escalated if called else None

    async def acknowledge(self, key: str, user: str) -> AckOutcome:
        """`user` acknowledged thread `key`: record it, stop the escalation, show it."""
        if not _USER_ID.match(user):
            raise ValueError(f"not a Slack user id: {user[:40]!r}")
        at = self._clock.now()
        thread, recorded = await self._records.change(key, lambda t: acknowledge(t, user, at) if t else None)
        if recorded:
            await self._timers.cancel(ESCALATE, key)
            await self._timers.schedule(WORK, key, self._scheduler.now(), {})
            self._wake()
        return AckOutcome(thread, recorded)
