"""Alert state in the store: versioned records per thread, per rule+job group and per alert; timer kinds.

Every change is a pure function of the record as read, written with a version check (`Store.records`):
of two replicas changing one thread at once, one write wins and the other reads again and re-decides.
Nothing here is held in process memory, so any replica can pick up any thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.alerts.codec import thread_from_dict, thread_to_dict
from bot.alerts.flapping import Event, FlapPolicy, Flaps, Verdict, flaps_from_dict, flaps_to_dict, observe
from bot.alerts.grouping import group_from_dict, group_to_dict, place
from bot.alerts.incidents import (
    Fleet,
    IncidentPolicy,
    OpenIncident,
    Seen,
    close,
    fleet_from_dict,
    fleet_to_dict,
    record,
    reopen,
)
from bot.alerts.thread import Thread
from bot.model import TriageReport
from bot.respond.report_store import report_from_store, report_to_store
from bot.store import StaleVersion, Store
from bot.store.records import after_lost_race

THREAD_KIND = "alerts.thread"
GROUP_KIND = "alerts.group"
ALERT_KIND = "alerts.alert"  # alert id -> its thread, written once
FLAPS_KIND = "alerts.flaps"  # rule+job -> its recent firings and resolves (see `flapping`)
REPORT_KIND = "alerts.report"  # thread -> the triage report's blocks
INCIDENTS_KIND = "alerts.incidents"  # FLEET -> recent failing alerts and open incidents (see `incidents`)
FLEET = "fleet"
# Timer kinds, each keyed by delivery or thread:
DELIVERY = "alerts.delivery"  # a stored delivery to process
WORK = "alerts.work"  # a nudge, always due now: the thread owes Slack work that nobody may be doing
RECOVER = "alerts.recover"  # a watchdog: look again when a lease held elsewhere runs out or a retry is due
ESCALATE = "alerts.escalate"  # the thread's next escalation tier
TIMER_KINDS = frozenset({DELIVERY, WORK, RECOVER, ESCALATE})

_RETRIES = 25  # busy threads see many writers at once (a storm of repeated deliveries); each retry is cheap


def member_report_key(thread: str, alert_id: str) -> str:
    return f"{thread}|{alert_id}"


class AlertRecords:
    def __init__(self, store: Store) -> None:
        self._records = store.records

    async def flaps(self, key: str) -> Flaps | None:
        stored = await self._records.get(FLAPS_KIND, key)
        return None if stored is None else flaps_from_dict(stored.value)

    async def observe(self, key: str, event: Event, policy: FlapPolicy, thread: str,
                      known: Flaps | None) -> Verdict:
        """Record `event` in the flapping history of rule+job `key` (`known`: as just read). A repeated
        event is not written again; of replicas recording at once, each re-decides on what the other wrote."""
        verdict = observe(known, event, policy, thread)
        if not verdict.changed:
            return verdict
        decided: dict[str, Verdict] = {}

        def record(current: dict[str, Any] | None) -> dict[str, Any]:
            decided["verdict"] = observe(flaps_from_dict(current), event, policy, thread)
            return flaps_to_dict(decided["verdict"].flaps)

        await self._records.update(FLAPS_KIND, key, record, retries=_RETRIES)
        return decided["verdict"]

    async def place(self, key: str, alert_id: str, fired_at: datetime, window: timedelta, *,
                    groupable: bool, flapping_in: str | None = None) -> str:
        """The thread `alert_id` belongs to: the one it was placed in before, else the one the group `key`
        chooses now (see `grouping`). The choice is written once per alert; of two replicas placing the
        same alert at once, the first write stands and the other uses it."""
        known = await self._records.get(ALERT_KIND, alert_id)
        if known is not None:
            return str(known.value["thread"])
        chosen: dict[str, str] = {}

        def decide(current: dict[str, Any] | None) -> dict[str, Any]:
            group, chosen["thread"] = place(group_from_dict(current), alert_id, fired_at, window, groupable=groupable,
                                            flapping_in=flapping_in)
            return group_to_dict(group)

        await self._records.update(GROUP_KIND, key, decide, retries=_RETRIES)
        try:
            await self._records.put(ALERT_KIND, alert_id, {"thread": chosen["thread"], "group": key}, None)
        except StaleVersion:
            placed = await self._records.get(ALERT_KIND, alert_id)
            assert placed is not None  # records are never deleted
            return str(placed.value["thread"])
        return chosen["thread"]

    async def fleet(self) -> Fleet | None:
        stored = await self._records.get(INCIDENTS_KIND, FLEET)
        return None if stored is None else fleet_from_dict(stored.value)

    async def record_failing(self, seen: Seen, policy: IncidentPolicy) -> tuple[Fleet, OpenIncident | None, bool]:
        """Record a failing alert in the fleet record; the incident it belongs to and whether it opened it.
        Of replicas recording at once, each re-decides on what the other wrote."""
        decided: dict[str, tuple[Fleet, OpenIncident | None, bool]] = {}

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            decided["it"] = record(fleet_from_dict(current), seen, policy)
            return fleet_to_dict(decided["it"][0])

        await self._records.update(INCIDENTS_KIND, FLEET, change, retries=_RETRIES)
        return decided["it"]

    async def close_incident(self, key: str) -> None:
        """Incident `key` is over (all its alerts resolved): later failures make a new one."""
        if close(await self.fleet(), key) is None:
            return

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            fleet = fleet_from_dict(current) or Fleet()
            return fleet_to_dict(close(fleet, key) or fleet)

        await self._records.update(INCIDENTS_KIND, FLEET, change, retries=_RETRIES)

    async def reopen_incident(self, incident: OpenIncident) -> None:
        """Incident `incident.key` is open again: an alert joined its thread while it was being closed."""
        if reopen(await self.fleet(), incident) is None:
            return

        def change(current: dict[str, Any] | None) -> dict[str, Any]:
            fleet = fleet_from_dict(current) or Fleet()
            return fleet_to_dict(reopen(fleet, incident) or fleet)

        await self._records.update(INCIDENTS_KIND, FLEET, change, retries=_RETRIES)

    async def placed(self, alert_id: str) -> str | None:
        """The thread `alert_id` was placed in, if it was."""
        known = await self._records.get(ALERT_KIND, alert_id)
        return None if known is None else str(known.value["thread"])

    async def place_in(self, alert_id: str, thread: str) -> str:
        """Place `alert_id` in `thread` (an incident's) unless it was placed already: the first placement stands."""
        try:
            await self._records.put(ALERT_KIND, alert_id, {"thread": thread, "group": None}, None)
        except StaleVersion:
            return await self.placed(alert_id) or thread
        return thread

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
                await after_lost_race(attempt)
        raise AssertionError("unreachable")

    async def save_report(self, key: str, report: TriageReport) -> None:
        """The triage report for thread `key`, as data (a later triage, after a takeover, replaces it)."""
        stored = report_to_store(report)
        await self._records.update(REPORT_KIND, key, lambda _: {"report": stored}, retries=_RETRIES)

    async def save_member_report(self, thread: str, alert_id: str, report: TriageReport) -> None:
        """In incident `thread`, the triage report of the job `alert_id` fired on (see `shared_cause`)."""
        await self.save_report(member_report_key(thread, alert_id), report)

    async def member_reports(self, thread: Thread) -> dict[str, TriageReport]:
        """The stored triage reports of an incident's jobs, by job (of a job's several alerts, the first)."""
        found: dict[str, TriageReport] = {}
        for member in sorted(thread.members, key=lambda m: m.alert_id):
            if member.job is None or member.job in found:
                continue
            stored = await self.report(member_report_key(thread.key, member.alert_id))
            if isinstance(stored, TriageReport):
                found[member.job] = stored
        return found

    async def report(self, key: str) -> TriageReport | list[dict[str, Any]] | None:
        """The stored report; Block Kit for threads stored before reports were kept as data; None if none."""
        stored = await self._records.get(REPORT_KIND, key)
        if stored is None:
            return None
        if "report" in stored.value:
            return report_from_store(stored.value["report"])
        return list(stored.value.get("blocks") or [])
