"""Alert state in the store: versioned records per thread, per rule+job group and per alert; timer kinds.

Every change is a pure function of the record as read, written with a version check (`Store.records`):
of two replicas changing one thread at once, one write wins and the other reads again and re-decides.
Nothing here is held in process memory, so any replica can pick up any thread.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.alerts.codec import thread_from_dict, thread_to_dict
from bot.alerts.grouping import group_from_dict, group_to_dict, place
from bot.alerts.thread import Thread
from bot.model import TriageReport
from bot.respond.report_store import report_from_store, report_to_store
from bot.store import StaleVersion, Store

# Retry jitter from a generator of its own: the global `random` state belongs to whoever seeded it.
_JITTER = random.Random()

THREAD_KIND = "alerts.thread"
GROUP_KIND = "alerts.group"
ALERT_KIND = "alerts.alert"  # alert id -> its thread, written once
REPORT_KIND = "alerts.report"  # thread -> the triage report's blocks
# Timer kinds, each keyed by delivery or thread:
DELIVERY = "alerts.delivery"  # a stored delivery to process
WORK = "alerts.work"  # a nudge, always due now: the thread owes Slack work that nobody may be doing
RECOVER = "alerts.recover"  # a watchdog: look again when a lease held elsewhere runs out or a retry is due
ESCALATE = "alerts.escalate"  # the thread's next escalation tier
TIMER_KINDS = frozenset({DELIVERY, WORK, RECOVER, ESCALATE})

_RETRIES = 25  # busy threads see many writers at once (a storm of repeated deliveries); each retry is cheap


class AlertRecords:
    def __init__(self, store: Store) -> None:
        self._records = store.records

    async def place(self, key: str, alert_id: str, fired_at: datetime, window: timedelta, *,
                    groupable: bool) -> str:
        """The thread `alert_id` belongs to: the one it was placed in before, else the one the group `key`
        chooses now (see `grouping`). The choice is written once per alert; of two replicas placing the
        same alert at once, the first write stands and the other uses it."""
        known = await self._records.get(ALERT_KIND, alert_id)
        if known is not None:
            return str(known.value["thread"])
        chosen: dict[str, str] = {}

        def decide(current: dict[str, Any] | None) -> dict[str, Any]:
            group, chosen["thread"] = place(group_from_dict(current), alert_id, fired_at, window, groupable=groupable)
            return group_to_dict(group)

        await self._records.update(GROUP_KIND, key, decide, retries=_RETRIES)
        try:
            await self._records.put(ALERT_KIND, alert_id, {"thread": chosen["thread"], "group": key}, None)
        except StaleVersion:
            placed = await self._records.get(ALERT_KIND, alert_id)
            assert placed is not None  # records are never deleted
            return str(placed.value["thread"])
        return chosen["thread"]

    async def thread(self, key: str) -> Thread | None:
        read = await self.read(key)
        return None if read is None else read[0]

    async def read(self, key: str) -> tuple[Thread, int] | None:
        """The thread and its version (for `change(..., read=…)`)."""
        stored = await self._records.get(THREAD_KIND, key)
        return None if stored is None else (thread_from_dict(stored.value), stored.version)

    async def change(self, key: str, fn: Callable[[Thread | None], Thread | None], *,
                     read: tuple[Thread, int] | None = None) -> tuple[Thread | None, bool]:
        """Apply `fn` to the thread as stored (None if there is none) and write what it returns.

        `fn` returns None (or the thread it was given) to leave it as it is: nothing is written. It may run
        several times, so it must be a pure function of what it is given. `read` is the thread as the
        caller just read it, tried first instead of reading again. Returns the thread as it now is, and
        whether this call changed it.
        """
        for attempt in range(_RETRIES + 1):
            current: Thread | None
            version: int | None
            if read is not None:
                current, version = read
                read = None
            else:
                stored = await self._records.get(THREAD_KIND, key)
                current = None if stored is None else thread_from_dict(stored.value)
                version = None if stored is None else stored.version
            changed = fn(current)
            if changed is None or changed is current:  # nothing to write
                return current, False
            try:
                await self._records.put(THREAD_KIND, key, thread_to_dict(changed), version)
                return changed, True
            except StaleVersion:
                if attempt == _RETRIES:
                    raise
                # Jittered backoff, so racing writers stop colliding in lockstep.
                await asyncio.sleep(_JITTER.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        raise AssertionError("unreachable")

    async def save_report(self, key: str, report: TriageReport) -> None:
        """The triage report for thread `key`, as data (a later triage, after a takeover, replaces it)."""
        stored = report_to_store(report)
        await self._records.update(REPORT_KIND, key, lambda _: {"report": stored}, retries=_RETRIES)

    async def report(self, key: str) -> TriageReport | list[dict[str, Any]] | None:
        """The stored report; Block Kit for threads stored before reports were kept as data; None if none."""
        stored = await self._records.get(REPORT_KIND, key)
        if stored is None:
            return None
        if "report" in stored.value:
            return report_from_store(stored.value["report"])
        return list(stored.value.get("blocks") or [])
