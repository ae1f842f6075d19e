"""Processing one accepted delivery: find the job and the thread, record what the alert changed.

    delivery ─ parse ─ find the job (pure) ─ group: which thread (versioned write)
             ─ new thread? route it: channel and owners (catalog, else the job's tags from ARM)
             ─ apply the alert to the thread (versioned write): deduplicated on alertId + monitorCondition
             ─ owe Slack work? nudge the thread's work timer; new thread? schedule its escalation

The Slack side (posting, triage, notes) is `work.ThreadWork`'s, driven by the thread's work timer, so a
delivery is settled in a few database writes (and, for a new thread whose channel or owners the catalog
does not give, one ARM read of the job's tags) and nothing here waits for Slack.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.alerts.render import facts_of
from bot.alerts.routing import JobTarget, choose_route, find_job, group_key
from bot.alerts.schema import Alert, parse_alert
from bot.alerts.storage import ESCALATE, WORK, AlertRecords
from bot.alerts.thread import Change, Routing, Thread, apply_alert, open_thread
from bot.alerts.tiers import first_due
from bot.clock import Clock
from bot.config import Config
from bot.errors import JobbotError, JobNotFound
from bot.evidence.sources import Readers
from bot.intake import JobSpec
from bot.owners import resolve_owners
from bot.store import Store

Audit = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outcome:
    thread: str
    change: Change
    channel: str | None
    job: str | None


class _NeedsRouting(Exception):
    """The thread did not exist when the delivery was read: route it, then try again."""


class AlertService:
    def __init__(self, *, store: Store, config: Config, readers: Readers, clock: Clock, scheduler: Clock,
                 default_channel: str | None, audit: Audit, wake: Callable[[], None] = lambda: None) -> None:
        self._store = store
        self._records = AlertRecords(store)
        self._config = config
        self._readers = readers
        self._clock = clock  # the world's: alert times, the triage window
        self._scheduler = scheduler  # timers and leases
        self._default_channel = default_channel
        self._audit = audit
        self._wake = wake

    async def process(self, payload: Mapping[str, Any], delivery: str | None = None) -> Outcome:
        """Apply one stored delivery (the webhook's decoded body under "body"); audited whatever happens.

        `delivery` is the stored delivery's id. The thread records it with the alert, in the same write, so
        when a replica dies between that write and the audit row (or before settling the delivery), the
        delivery processed again is recognised and audited with what it did ("opened", "joined" …), not
        as a duplicate: the audit trail holds every thread. Such a delivery may be audited twice, never
        not at all.
        """
        started = time.monotonic()
        alert = parse_alert(payload.get("body"))
        job = find_job(alert, self._config)
        try:
            outcome = await self._apply(alert, job, delivery)
        except Exception:
            await self._record(alert, job, None, "error", started)
            raise
        await self._record(alert, job, outcome.channel, outcome.change.value, started, outcome.thread)
        return outcome

    async def _apply(self, alert: Alert, job: JobTarget | None, delivery: str | None) -> Outcome:
        window = timedelta(minutes=self._config.alerts.group_window_min)
        fired = alert.fired_at or self._clock.now()
        thread_key = await self._records.place(group_key(alert, job), alert.alert_id, fired, window,
                                               groupable=job is not None)
        routing: Routing | None = None
        result: dict[str, Any] = {}

        def apply(current: Thread | None) -> Thread | None:
            thread = current
            if thread is None:
                routed = routing
                if routed is None:
                    raise _NeedsRouting
                thread = open_thread(thread_key, alert, routed, self._scheduler.now(), facts_of(alert))
            applied = apply_alert(thread, alert, self._clock.now(), delivery)
            # Replayed: the first attempt wrote the thread but may have died before its timers were set.
            opened = current is None or (applied.replayed and applied.change is Change.OPENED)
            result.update(change=applied.change, opened=opened)
            return None if applied.change is Change.DUPLICATE or applied.replayed else applied.thread

        while True:
            try:
                thread, _ = await self._records.change(thread_key, apply)
                break
            except _NeedsRouting:
                routing = await self.route(alert, job)
        assert thread is not None
        change: Change = result["change"]
        if change is not Change.DUPLICATE:
            await self._store.timers.schedule(WORK, thread_key, self._scheduler.now(), {})
            self._wake()
        if result.get("opened"):
            due = first_due(thread)
            if due is not None:
                await self._store.timers.schedule(ESCALATE, thread_key, due, {})
        return Outcome(thread_key, change, thread.channel or thread.routing.channel, thread.routing.job)

    async def route(self, alert: Alert, job: JobTarget | None) -> Routing:
        """Where a new thread goes and who owns it. The job's tags are read only when the catalog does not
        already give both the channel and the owners; a failed read is said in the message, not fatal."""
        notes: list[str] = []
        tags: Mapping[str, str] = {}
        entry = self._config.job(job.name) if job else None
        if job is not None and not (entry and entry.channel and entry.owners):
            try:
                found = await asyncio.wait_for(
                    self._readers.jobs.find_job(JobSpec(job.name, job.resource_group, job.subscription)),
                    timeout=self._config.check_deadline_s)
                tags = found.tags
                job = JobTarget(found.ref.name, found.ref.resource_group, found.ref.subscription, job.found_by)
            except JobNotFound:
                notes.append(f"the job {job.name} was not found in Azure")
            except (JobbotError, TimeoutError) as error:
                notes.append(f"could not read the job's tags: {str(error) or 'timed out'}")
        route = choose_route(job, tags, self._config, self._default_channel)
        owners = resolve_owners(tags, entry.owners if entry else None, self._config.directory) if job else None
        delay = (entry.owners.get("escalate_after_min") if entry else None) or self._config.alerts.escalate_after_min
        return Routing(
            channel=route.channel, channel_source=route.source,
            job=job.name if job else None, job_found_by=job.found_by if job else None,
            resource_group=job.resource_group if job else None, subscription=job.subscription if job else None,
            primary=owners.primary if owners else None, chain=owners.escalation if owners else (),
            escalate_after_s=float(delay) * 60, notes=tuple(notes),
        )

    async def _record(self, alert: Alert, job: JobTarget | None, channel: str | None, outcome: str,
                      started: float, thread: str | None = None) -> None:
        detail = f"{alert.short_id} {alert.condition.value}"
        if thread is not None and thread != alert.alert_id:
            detail += f" in thread {thread.rstrip('/').rsplit('/', 1)[-1]}"
        await self._audit(actor=f"alert:{alert.rule}"[:200], channel=channel, action="alert:delivery",
                          target=job.name if job else None, detail=detail, outcome=outcome,
                          duration_ms=int((time.monotonic() - started) * 1000))
