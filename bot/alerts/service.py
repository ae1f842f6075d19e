"""Processing one accepted delivery: find the job and the thread, record what the alert changed.

    delivery ─ parse ─ find the job (pure) ─ flapping? (the rule+job's history, see `flapping`)
             ─ group: which thread (versioned write; a flapping alert joins the thread it flaps in)
             ─ environment-wide incident? (a firing alert whose job shares a dependency with other failing jobs, see
      `incidents`): it joins the incident's thread instead, and earlier alerts' threads are folded into it
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

from bot.alerts.flapping import Event, FlapPolicy, still_flapping
from bot.alerts.incidents import (
    CATCH_ALL,
    Failing,
    Incident,
    IncidentPolicy,
    Kind,
    OpenIncident,
    Resource,
    Seen,
    dependencies_of,
)
from bot.alerts.render import facts_of
from bot.alerts.routing import JobTarget, choose_route, find_job, group_key
from bot.alerts.schema import Alert, Condition, parse_alert
from bot.alerts.storage import ESCALATE, WORK, AlertRecords
from bot.alerts.thread import (
    Change,
    Flapping,
    IncidentFacts,
    Routing,
    Thread,
    add_member,
    apply_alert,
    fold,
    open_incident,
    open_thread,
    resolve_member,
)
from bot.alerts.tiers import first_due
from bot.clock import Clock
from bot.config import Config
from bot.errors import JobbotError, JobNotFound
from bot.evidence.sources import Readers
from bot.intake import JobSpec
from bot.model import Job
from bot.owners import mention
from bot.store import Store
from bot.telemetry.metrics import ALERT_DELIVERIES

Audit = Callable[..., Awaitable[None]]

# An incident's thread and the fleet record settle in one or two rounds; more means they keep changing under
# us, and the next delivery settles them again.
_SETTLE_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    thread: str
    change: Change
    channel: str | None
    job: str | None
    flapping: bool = False


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
            ALERT_DELIVERIES.labels("error").inc()
            await self._record(alert, job, None, "error", started)
            raise
        ALERT_DELIVERIES.labels(outcome.change.value).inc()
        await self._record(alert, job, outcome.channel, outcome.change.value, started, outcome.thread,
                           flapping=outcome.flapping)
        return outcome

    async def _apply(self, alert: Alert, job: JobTarget | None, delivery: str | None) -> Outcome:
        window = timedelta(minutes=self._config.alerts.group_window_min)
        fired = alert.fired_at or self._clock.now()
        key = group_key(alert, job)
        policy = FlapPolicy(self._config.alerts.flap_count, timedelta(minutes=self._config.alerts.flap_window_min))
        happened = (alert.resolved_at if alert.condition is Condition.RESOLVED else alert.fired_at) or self._clock.now()
        known = await self._records.flaps(key)
        flaps = still_flapping(known, happened, policy)
        found, resources, incident, opened = await self._incident(alert, job, fired)
        if incident is not None:
            thread_key = await self._records.place_in(alert.alert_id, incident.key)
        else:
            thread_key = await self._records.place(key, alert.alert_id, fired, window, groupable=job is not None,
                                                   flapping_in=flaps.thread if flaps and flaps.flapping else None)
        verdict = await self._records.observe(key, Event(alert.alert_id, alert.condition.value, happened), policy,
                                              thread_key, known)
        flapping = None
        if verdict.flapping and verdict.flaps.thread == thread_key and verdict.flaps.since is not None:
            flapping = Flapping(verdict.fired, self._config.alerts.flap_window_min, verdict.flaps.since)
        routing: Routing | None = None
        about: IncidentFacts | None = None
        result: dict[str, Any] = {}

        def apply(current: Thread | None) -> Thread | None:
            thread = current
            if thread is None:
                routed = routing
                if routed is None:
                    raise _NeedsRouting
                if about is not None:
                    thread = open_incident(thread_key, facts_of(alert), about, routed, self._scheduler.now())
                else:
                    thread = open_thread(thread_key, alert, routed, self._scheduler.now(), facts_of(alert))
            applied = apply_alert(thread, alert, self._clock.now(), delivery, flapping=flapping,
                                  job=job.name if job else None)
            # Replayed: the first attempt wrote the thread but may have died before its timers were set.
            opened = current is None or (applied.replayed and applied.change is Change.OPENED)
            result.update(change=applied.change, opened=opened)
            return None if applied.change is Change.DUPLICATE or applied.replayed else applied.thread

        while True:
            try:
                thread, _ = await self._records.change(thread_key, apply)
                break
            except _NeedsRouting:
                if incident is not None and thread_key == incident.key:
                    routing, about = self._incident_routing(incident, found)
                else:
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
        if opened and incident is not None:
            await self._fold_earlier(incident)
        elif incident is None and resources and job is not None and change is not Change.DUPLICATE:
            await self._fold_if_late(alert.alert_id, job.name, resources, thread_key)
        if thread.part_of is not None and alert.condition is Condition.RESOLVED:
            await self._resolve_in_incident(thread.part_of, alert, job)
        elif thread.incident is not None and change is not Change.DUPLICATE:
            # Joined or resolved (or opened, perhaps by a Resolved delivery: the firing alerts folded into
            # it since keep it open).
            await self._settle_incident(thread.key)
        return Outcome(thread_key, change, thread.channel or thread.routing.channel, thread.routing.job,
                       flapping is not None)

    # --- environment-wide incidents ----------------------------------------------------------------------

    async def _incident(self, alert: Alert, job: JobTarget | None, fired: Any,
                        ) -> tuple[Job | None, frozenset[Resource], OpenIncident | None, bool]:
        """For a new alert on a known job: the job as read (the same shared read routing and triage make),
        what it shares with other jobs, the open incident it belongs to, and whether it opened it.

        New means never placed in a thread. Its first delivery may be the Resolved one (deliveries overtake
        each other in a storm): it still says when it fired, so it is one of the incident's alerts too (a
        resolved line there), not a thread of its own beside the incident."""
        # An incident thread goes to the alert channel: with none, its alerts would be posted nowhere, so
        # they stay in their jobs' own threads.
        fired_first = alert.condition is Condition.FIRED or alert.fired_at is not None
        if not self._config.alerts.incidents or not fired_first or job is None \
                or not self._incident_channel() or await self._records.placed(alert.alert_id):
            return None, frozenset(), None, False
        found = await self._read_job(job)
        resources = dependencies_of(found) if found is not None else frozenset()
        if not resources:
            return found, resources, None, False
        policy = IncidentPolicy(self._config.alerts.incident_min_jobs,
                                timedelta(minutes=self._config.alerts.incident_window_min))
        seen = Seen(alert.alert_id, Failing(job.name, fired, resources), alert.severity)
        _, incident, opened = await self._records.record_failing(seen, policy)
        return found, resources, incident, opened

    async def _read_job(self, job: JobTarget) -> Job | None:
        """The job from ARM; None when it cannot be read (the alert is then handled on its own, as before)."""
        try:
            return await asyncio.wait_for(
                self._readers.jobs.find_job(JobSpec(job.name, job.resource_group, job.subscription)),
                timeout=self._config.check_deadline_s)
        except (JobbotError, TimeoutError):
            return None

    def _incident_routing(self, incident: OpenIncident, found: Job | None) -> tuple[Routing, IncidentFacts]:
        """The incident thread goes to the alert channel and pages the environment's platform owner (else the
        catch-all `*`, else the owner of the job at hand); it has no escalation chain: the page is the one call."""
        environment = found.environment_id.rstrip("/").rsplit("/", 1)[-1].lower() if found else ""
        owners = self._config.alerts.platform_owners
        owner = owners.get(environment) or owners.get(CATCH_ALL)
        page = mention(owner) if owner else None
        if page is None and found is not None:
            # No platform owner configured: the incident holds the jobs' own escalations, so someone must
            # still be paged: the owner of the job whose alert opened it (`jobbot doctor` warns about this).
            job_owners = self._config.owners_for(found.ref.name, found.tags)
            page = job_owners.primary if job_owners else None
        resource = incident.incident.resource
        about = IncidentFacts(resource.kind.value, resource.name, incident.incident.jobs, page)
        channel = self._incident_channel()
        routing = Routing(channel=channel, channel_source="default" if channel else "none",
                          primary=about.owner, escalate_after_s=self._config.alerts.escalate_after_min * 60)
        return routing, about

    def _incident_channel(self) -> str | None:
        return self._default_channel or self._config.alert_channel

    async def _fold_earlier(self, incident: OpenIncident) -> None:
        """The incident just opened: alerts of its jobs that came before it have threads of their own;
        fold each into the incident (a line there, no escalation of its own)."""
        fleet = await self._records.fleet()
        for seen in fleet.failing if fleet else ():
            if seen.failing.job in incident.incident.jobs and incident.incident.resource in seen.failing.resources:
                placed = await self._records.placed(seen.alert_id)
                if placed is not None and placed != incident.key:
                    await self._fold(placed, incident.key, seen)

    async def _fold_if_late(self, alert_id: str, job: str, resources: frozenset[Resource], thread_key: str) -> None:
        """An incident that opened while this alert was being placed in a thread of its own did not see that
        thread: fold it now."""
        fleet = await self._records.fleet()
        incident = fleet.incident_of(job, resources) if fleet else None
        if incident is not None and incident.key != thread_key:
            seen = next((s for s in fleet.failing if s.alert_id == alert_id), None) if fleet else None
            if seen is not None:
                await self._fold(thread_key, incident.key, seen)

    async def _fold(self, own: str, incident_key: str, seen: Seen) -> None:
        folded, _ = await self._records.change(own, lambda t: fold(t, incident_key) if t else None)
        if folded is None:
            return
        alert_id, job, at, severity = seen.alert_id, seen.failing.job, seen.failing.fired_at, seen.severity
        await self._records.change(incident_key, lambda t: add_member(t, alert_id, job, at, severity) if t else None)
        own_member = folded.member(alert_id)
        if own_member is not None and own_member.resolved:  # it resolved before it was folded: say so there too
            ended = own_member.resolved_at
            await self._records.change(incident_key, lambda t: resolve_member(t, alert_id, ended) if t else None)
        for key in (own, incident_key):
            await self._store.timers.schedule(WORK, key, self._scheduler.now(), {})
        self._wake()
        await self._settle_incident(incident_key)  # a firing alert folded in keeps it open

    async def _resolve_in_incident(self, incident_key: str, alert: Alert, job: JobTarget | None) -> None:
        """A folded thread's alert resolved: it resolves in the incident too; all resolved closes it."""
        now = self._clock.now()
        incident, changed = await self._records.change(
            incident_key, lambda t: apply_alert(t, alert, now, job=job.name if job else None).thread if t else None)
        if changed:
            await self._store.timers.schedule(WORK, incident_key, self._scheduler.now(), {})
            self._wake()
        if incident is not None:
            await self._settle_incident(incident_key)

    async def _settle_incident(self, key: str) -> None:
        """Make the fleet record agree with incident thread `key`: open while any of its alerts is, closed once
        all are resolved. The thread and the fleet record are two records, so an alert can join the thread
        while another's resolve is closing the incident: each writer re-reads the thread after its fleet
        write and settles again if the thread changed, so whichever settles last leaves them agreeing."""
        thread = await self._records.thread(key)
        for _ in range(_SETTLE_ROUNDS):
            if thread is None or thread.incident is None:
                return
            if thread.resolved:
                await self._records.close_incident(key)
            else:
                about = thread.incident
                await self._records.reopen_incident(
                    OpenIncident(key, Incident(Resource(Kind(about.kind), about.name), about.jobs)))
            again = await self._records.thread(key)
            if again is None or again.resolved == thread.resolved:
                return
            thread = again

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
        owners = self._config.owners_for(job.name, tags) if job else None
        delay = self._config.escalate_after_min(job.name if job else None)
        return Routing(
            channel=route.channel, channel_source=route.source,
            job=job.name if job else None, job_found_by=job.found_by if job else None,
            resource_group=job.resource_group if job else None, subscription=job.subscription if job else None,
            primary=owners.primary if owners else None, chain=owners.escalation if owners else (),
            escalate_after_s=float(delay) * 60, notes=tuple(notes),
        )

    async def _record(self, alert: Alert, job: JobTarget | None, channel: str | None, outcome: str,
                      started: float, thread: str | None = None, *, flapping: bool = False) -> None:
        detail = f"{alert.short_id} {alert.condition.value}"
        if thread is not None and thread != alert.alert_id:
            detail += f" in thread {thread.rstrip('/').rsplit('/', 1)[-1]}"
        if flapping:
            detail += " (flapping)"
        await self._audit(actor=f"alert:{alert.rule}"[:200], channel=channel, action="alert:delivery",
                          target=job.name if job else None, detail=detail, outcome=outcome,
                          duration_ms=int((time.monotonic() - started) * 1000))
