"""One alert thread as stored: the alerts in it, where it was posted, and the Slack work still owed (pure).

The stored thread is the truth; the Slack messages are views of it. Every Slack call the thread owes is an
`Effect` in the record ("post", "triage", "note:resolved:<alert>" …). A replica does one in three steps,
each a versioned write of the record:

    claim   the effect gets a lease (owner token, until)   — of two replicas racing, one write wins
    do      the Slack call (or the triage), renewing the lease while it waits
    finish  the effect is done, with what it produced (the message ts, the triage)

A replica that dies mid-way leaves a lease that runs out; the next replica to look claims the effect
again. So each effect happens once, except when a replica dies after Slack accepted a call and before
`finish` was written (milliseconds), where it happens twice rather than never.

Refreshing the parent is not an effect of its own: the thread counts visible changes (`view`) and the
last view Slack was given (`shown`); a refresh is owed while `shown < view`, so any number of changes
during one `chat.update` cost one more, never one each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.alerts.schema import Alert, Condition

POST = "post"
TRIAGE = "triage"
REFRESH = "refresh"
ACK_NOTE = "note:ack"
FLAPPING_NOTE = "note:flapping"
PAGE_NOTE = "note:page"  # an incident's one page to the platform owner
INCIDENT_NOTE = "note:incident"  # a job's thread, posted before the incident was seen, points to it
MEMBER_TRIAGE = "triage:"  # + alert id: in an incident, each job's triage is a reply in the incident's thread
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(seconds=5)


def joined_note(alert_id: str) -> str:
    return f"note:joined:{alert_id}"


def resolved_note(alert_id: str) -> str:
    return f"note:resolved:{alert_id}"


def member_triage(alert_id: str) -> str:
    return f"{MEMBER_TRIAGE}{alert_id}"


def escalation_note(tier: int) -> str:
    return f"escalate:{tier}"


class Posted(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    UNROUTABLE = "unroutable"  # no channel at all: logged and audited, nothing to post to
    FAILED = "failed"  # Slack refused it MAX_ATTEMPTS times
    IN_INCIDENT = "in-incident"  # part of an environment-wide incident before it was posted: a line there instead


class Change(StrEnum):
    """What a delivery changed, for the audit trail."""

    OPENED = "opened"  # first alert of a new thread
    JOINED = "joined"  # a new alert grouped into an existing thread
    RESOLVED = "resolved"
    DUPLICATE = "duplicate"  # this alert and condition were seen before
    LATE = "late"  # Fired delivered after the same alert's Resolved: nothing left to show


@dataclass(frozen=True, slots=True)
class Lease:
    owner: str  # a token unique to one claim
    until: datetime


@dataclass(frozen=True, slots=True)
class Effect:
    key: str
    done: bool = False
    lease: Lease | None = None
    attempts: int = 0
    retry_at: datetime | None = None
    result: str | None = None  # how it ended when not simply done ("skipped: …", "failed: …")


@dataclass(frozen=True, slots=True)
class Member:
    """One alert in the thread."""

    alert_id: str
    fired_at: datetime | None
    resolved_at: datetime | None = None
    seen: tuple[Condition, ...] = ()  # the conditions delivered so far: the durable dedupe
    severity: str = ""
    # The stored deliveries that brought them. A delivery processed again (its replica died before the
    # delivery was settled) is known for what it did the first time, not mistaken for a repeat.
    deliveries: tuple[str, ...] = ()
    job: str | None = None  # the job it fired on (incident threads hold several jobs' alerts)

    @property
    def resolved(self) -> bool:
        return Condition.RESOLVED in self.seen


@dataclass(frozen=True, slots=True)
class Facts:
    """What the first alert said, as the parent shows it."""

    rule: str
    severity: str
    signal_type: str
    monitoring_service: str
    description: str
    target: str | None
    criteria: tuple[str, ...] = ()  # one readable line per condition
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Routing:
    channel: str | None
    channel_source: str  # catalog | tag | default | none
    job: str | None = None
    job_found_by: str | None = None
    resource_group: str | None = None
    subscription: str | None = None
    primary: str | None = None  # owners as Slack mentions
    chain: tuple[str, ...] = ()  # escalation tiers after the primary
    escalate_after_s: float = 900.0
    notes: tuple[str, ...] = ()  # what routing could not do ("could not read the job's tags: …")


@dataclass(frozen=True, slots=True)
class TriageResult:
    """How the triage ended. Its Block Kit report is kept apart (`storage.AlertRecords.report`): it is
    large, read only to render the parent, and the thread record is rewritten on every claim."""

    text: str = ""  # the report's one-line fallback
    cause: str | None = None  # set when there is a report
    error: str | None = None  # why there is no report


@dataclass(frozen=True, slots=True)
class Flapping:
    """The alert keeps firing and resolving (see `flapping`): what the parent says about it."""

    fired: int  # firings within the window
    window_min: float
    since: datetime


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What an environment-wide incident thread is about (see `incidents`)."""

    kind: str  # registry | key vault | identity | event-source namespace | environment
    name: str
    jobs: tuple[str, ...]  # the affected jobs, sorted
    owner: str | None = None  # the platform owner paged, as a Slack mention; None: nobody configured

    def describe(self) -> str:
        return f"{self.kind} {self.name.rsplit('/', 1)[-1] if self.kind == 'environment' else self.name}"


@dataclass(frozen=True, slots=True)
class Ack:
    user: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Thread:
    key: str  # the id of the alert that opened it
    facts: Facts
    routing: Routing
    opened_at: datetime  # on the scheduler's clock: escalation counts from here
    members: tuple[Member, ...] = ()
    effects: tuple[Effect, ...] = ()
    posted: Posted = Posted.PENDING
    channel: str | None = None  # where the parent is (the routed channel, or the fallback)
    ts: str | None = None
    view: int = 1
    shown: int = 0
    refresh_lease: Lease | None = None
    triage: TriageResult | None = None
    ack: Ack | None = None
    escalated: int = 0  # escalation tiers mentioned so far
    flapping: Flapping | None = None
    incident: IncidentFacts | None = None  # this thread is an environment-wide incident
    part_of: str | None = None  # this job's thread was folded into that incident thread: no escalation of its own

    @property
    def resolved(self) -> bool:
        return bool(self.members) and all(m.resolved for m in self.members)

    def member(self, alert_id: str) -> Member | None:
        return next((m for m in self.members if m.alert_id == alert_id), None)

    def effect(self, key: str) -> Effect | None:
        return next((e for e in self.effects if e.key == key), None)


@dataclass(frozen=True, slots=True)
class Applied:
    thread: Thread
    change: Change
    replayed: bool = False  # this very delivery was applied before: `change` is what it did then


# --- deliveries ------------------------------------------------------------------------------------


def open_thread(key: str, alert: Alert, routing: Routing, opened_at: datetime, facts: Facts) -> Thread:
    """A new thread for `alert` (not yet applied: follow with `apply_alert`). It owes its parent post and,
    when the job is known, a triage."""
    effects = [Effect(POST)] + ([Effect(TRIAGE)] if routing.job else [])
    return Thread(key=key, facts=facts, routing=routing, opened_at=opened_at, effects=tuple(effects))


def apply_alert(thread: Thread, alert: Alert, now: datetime, delivery: str | None = None, *,
                flapping: Flapping | None = None, job: str | None = None) -> Applied:
    """The thread after one delivery of `alert`; the same alert and condition twice changes nothing.

    `delivery` names the stored delivery: applied again (the replica processing it died before settling
    it), it changes nothing either, but it is told apart from a repeated delivery and says what it changed
    the first time, so the audit trail still gets that change.

    `job`: the job it fired on. In an incident thread a new job's alert owes that job's triage, as a reply.

    `flapping`: the alert is flapping now. The parent says so (and the thread gets one note saying so),
    and firings and resolves owe no note of their own: the parent's count is the news.
    """
    member = thread.member(alert.alert_id)
    if member is not None and alert.condition in member.seen:
        if delivery is not None and delivery in member.deliveries:
            return Applied(thread, _first_change(thread, member, alert.condition), replayed=True)
        return Applied(thread, Change.DUPLICATE)
    added: list[str] = []
    change = Change.LATE  # a known alert's other condition: only Resolved can still change anything
    if member is None:
        member = Member(alert.alert_id, alert.fired_at, severity=alert.severity, job=job)
        change = Change.OPENED if alert.alert_id == thread.key else Change.JOINED
        if change is Change.JOINED:
            added.append(joined_note(alert.alert_id))
        if thread.incident is not None and job is not None:
            if not _job_triaged(thread, job):
                added.append(member_triage(alert.alert_id))
            thread = replace(thread, incident=replace(thread.incident,
                                                      jobs=tuple(sorted({*thread.incident.jobs, job}))))
    member = replace(member, seen=(*member.seen, alert.condition), fired_at=member.fired_at or alert.fired_at,
                     deliveries=(*member.deliveries, delivery) if delivery is not None else member.deliveries)
    if alert.condition is Condition.RESOLVED:
        member = replace(member, resolved_at=alert.resolved_at or now)
        added.append(resolved_note(alert.alert_id))
        change = Change.RESOLVED
    members = (*(m for m in thread.members if m.alert_id != member.alert_id), member)
    visible = change is not Change.LATE or flapping != thread.flapping
    updated = replace(thread, members=members, view=thread.view + (1 if visible else 0), flapping=flapping)
    if flapping is not None:
        added = [FLAPPING_NOTE]  # once per thread (`_add_effects` adds a key only once)
    return Applied(_add_effects(updated, added), change)


def _first_change(thread: Thread, member: Member, condition: Condition) -> Change:
    """What delivering `condition` of `member` changed when it was applied (see `apply_alert`)."""
    if condition is Condition.RESOLVED:
        return Change.RESOLVED
    if member.seen.index(condition) > 0:
        return Change.LATE
    return Change.OPENED if member.alert_id == thread.key else Change.JOINED


def open_incident(key: str, facts: Facts, incident: IncidentFacts, routing: Routing, opened_at: datetime) -> Thread:
    """A new incident thread (its alerts follow with `apply_alert` or `add_member`): it owes its parent and,
    when there is a platform owner, one page."""
    effects = [Effect(POST)] + ([Effect(PAGE_NOTE)] if incident.owner else [])
    return Thread(key=key, facts=facts, routing=routing, opened_at=opened_at, effects=tuple(effects),
                  incident=incident)


def add_member(thread: Thread, alert_id: str, job: str, fired_at: datetime | None, severity: str) -> Thread:
    """`thread` (an incident) with a job's alert that fired before the incident was seen, as if delivered
    here; unchanged if it is there already."""
    if thread.member(alert_id) is not None:
        return thread
    member = Member(alert_id, fired_at, seen=(Condition.FIRED,), severity=severity, job=job)
    incident = replace(thread.incident, jobs=tuple(sorted({*thread.incident.jobs, job}))) if thread.incident else None
    updated = replace(thread, members=(*thread.members, member), incident=incident, view=thread.view + 1)
    triage = [] if _job_triaged(thread, job) else [member_triage(alert_id)]
    return _add_effects(updated, [joined_note(alert_id), *triage])


def _job_triaged(thread: Thread, job: str) -> bool:
    """An incident triages each job once: another alert of a job already in it (a second alert rule, a new
    firing) is a line in the thread, not a second copy of the same evidence."""
    return any(m.job is not None and m.job.lower() == job.lower() for m in thread.members)


def resolve_member(thread: Thread, alert_id: str, at: datetime | None) -> Thread | None:
    """`alert_id` resolved (told by the thread it was folded from); None if it was already or is not here."""
    member = thread.member(alert_id)
    if member is None or member.resolved:
        return None
    done = replace(member, seen=(*member.seen, Condition.RESOLVED), resolved_at=at)
    members = tuple(done if m.alert_id == alert_id else m for m in thread.members)
    return _add_effects(replace(thread, members=members, view=thread.view + 1), [resolved_note(alert_id)])


def fold(thread: Thread, incident_key: str) -> Thread | None:
    """A job's own thread, found part of an incident: it escalates no more. Not posted yet, it never is
    (its alert is a line in the incident, its triage a reply there); posted, it points to the incident.
    None if it was folded already."""
    if thread.part_of is not None or thread.key == incident_key:
        return None
    # A changed view: a post in flight as it is folded ends owing a refresh that shows the pointer.
    folded = replace(thread, part_of=incident_key, view=thread.view + 1)
    if thread.ts is None and thread.posted is Posted.PENDING:
        return give_up_post(folded, Posted.IN_INCIDENT, "part of an environment-wide incident")
    return _add_effects(folded, [INCIDENT_NOTE])


def acknowledge(thread: Thread, user: str, at: datetime) -> Thread | None:
    """Acknowledged by `user`; None if someone already did (the first acknowledgement stands)."""
    if thread.ack is not None:
        return None
    return _add_effects(replace(thread, ack=Ack(user, at), view=thread.view + 1), [ACK_NOTE])


def escalate(thread: Thread, tier: int) -> Thread:
    """Owe one escalation note that mentions the chain up to `tier` (1-based); earlier calls stay."""
    if tier <= thread.escalated:
        return thread
    return _add_effects(replace(thread, escalated=tier, view=thread.view + 1), [escalation_note(tier)])


def reroute(thread: Thread, channel: str, note: str, owner: str) -> Thread:
    """Post to `channel` instead (the routed channel refused the bot), saying why; the post is free to go
    again at once, as the refusal was no failure of the post itself."""
    routing = replace(thread.routing, notes=(*thread.routing.notes, note))
    rerouted = replace(thread, routing=routing, channel=channel, view=thread.view + 1)
    return _with(rerouted, POST, lambda e: replace(e, lease=None) if holds(thread, POST, owner) else e)


def _add_effects(thread: Thread, keys: Iterable[str]) -> Thread:
    existing = {e.key for e in thread.effects}
    skip = thread.posted in (Posted.UNROUTABLE, Posted.FAILED, Posted.IN_INCIDENT)
    new = tuple(Effect(k, done=skip, result="skipped: the alert has no message" if skip else None)
                for k in keys if k not in existing)
    return replace(thread, effects=thread.effects + new) if new else thread


# --- effects ---------------------------------------------------------------------------------------


def runnable(thread: Thread, now: datetime) -> list[str]:
    """Effects (and REFRESH) that may be claimed at `now`, in the order they should run.

    The post and the triage can start at once (the triage fills the parent in later, or is in it if it
    finishes first); everything else is in the parent's thread, so it waits for the post.
    """
    free = [e for e in thread.effects if not e.done and _free(e.lease, now)
            and (e.retry_at is None or e.retry_at <= now)]
    first = [e.key for e in free if e.key in (POST, TRIAGE)]
    if thread.ts is None:
        return first
    rest = [e.key for e in free if e.key not in (POST, TRIAGE)]
    refresh = [REFRESH] if thread.shown < thread.view and _free(thread.refresh_lease, now) else []
    # Notes first (people read them), then the parent's refresh, then anything slow.
    return [*rest, *refresh, *first]


def claim(thread: Thread, key: str, owner: str, now: datetime, until: datetime) -> Thread | None:
    """The thread with `key` leased to `owner` until `until`; None if it is not runnable now."""
    if key not in runnable(thread, now):
        return None
    lease = Lease(owner, until)
    if key == REFRESH:
        return replace(thread, refresh_lease=lease)
    return _with(thread, key, lambda e: replace(e, lease=lease))


def holds(thread: Thread, key: str, owner: str) -> bool:
    lease = thread.refresh_lease if key == REFRESH else (e.lease if (e := thread.effect(key)) else None)
    return lease is not None and lease.owner == owner


def renew(thread: Thread, key: str, owner: str, until: datetime) -> Thread | None:
    """The lease extended; None if `owner` no longer holds it."""
    if not holds(thread, key, owner):
        return None
    if key == REFRESH:
        return replace(thread, refresh_lease=Lease(owner, until))
    return _with(thread, key, lambda e: replace(e, lease=Lease(owner, until)))


def finish(thread: Thread, key: str, *, result: str | None = None) -> Thread:
    """`key` done. Done stays done: a second finisher (after a takeover) changes nothing."""
    return _with(thread, key, lambda e: e if e.done else replace(e, done=True, lease=None, result=result))


def finish_member_triage(thread: Thread, key: str) -> Thread:
    """An incident job's triage is in (a reply posted, its report stored): the parent owes a refresh, to show
    the cause the triages now agree on. Done stays done."""
    effect = thread.effect(key)
    if effect is None or effect.done:
        return finish(thread, key)
    return replace(finish(thread, key), view=thread.view + 1)


def finish_post(thread: Thread, channel: str, ts: str, shown_view: int) -> Thread:
    """The parent is in Slack: it showed `shown_view`."""
    if thread.ts is not None:  # posted twice after a takeover: the first one stands
        return finish(thread, POST)
    posted = replace(thread, posted=Posted.POSTED, channel=channel, ts=ts, shown=max(thread.shown, shown_view))
    return finish(posted, POST)


def give_up_post(thread: Thread, posted: Posted, reason: str) -> Thread:
    """No parent will be posted: settle every effect (nothing is left to show a triage or a note in)."""
    effects = tuple(e if e.done else replace(e, done=True, lease=None, result=f"skipped: {reason}")
                    for e in thread.effects)
    return replace(thread, posted=posted, effects=effects)


def finish_refresh(thread: Thread, owner: str, shown_view: int) -> Thread:
    lease = None if holds(thread, REFRESH, owner) else thread.refresh_lease
    return replace(thread, refresh_lease=lease, shown=max(thread.shown, shown_view))


def finish_triage(thread: Thread, result: TriageResult) -> Thread:
    """The triage is in: the parent owes a refresh to show it. The first result stands."""
    if thread.triage is not None:
        return finish(thread, TRIAGE)
    return replace(finish(thread, TRIAGE), triage=result, view=thread.view + 1)


def release(thread: Thread, key: str, owner: str, now: datetime, reason: str) -> Thread:
    """The attempt failed: try again after RETRY_AFTER (growing), up to MAX_ATTEMPTS, then give it up.
    A parent that could not be posted MAX_ATTEMPTS times settles its whole thread as FAILED."""
    if key == REFRESH:
        return replace(thread, refresh_lease=None) if holds(thread, REFRESH, owner) else thread
    effect = thread.effect(key)
    if effect is None or not holds(thread, key, owner):
        return thread
    attempts = effect.attempts + 1
    if attempts < MAX_ATTEMPTS:
        return _with(thread, key, lambda e: replace(e, lease=None, attempts=attempts,
                                                    retry_at=now + RETRY_AFTER * attempts))
    failed = _with(thread, key, lambda e: replace(e, done=True, lease=None, attempts=attempts,
                                                  result=f"failed: {reason}"))
    return give_up_post(failed, Posted.FAILED, reason) if key == POST else failed


def next_wake(thread: Thread) -> datetime | None:
    """When an effect not done now could next be claimed (a lease running out, a retry); None if all done."""
    moments: list[datetime] = []
    for effect in thread.effects:
        if effect.done:
            continue
        if effect.lease is not None:
            moments.append(effect.lease.until)
        elif effect.retry_at is not None:
            moments.append(effect.retry_at)
    if thread.ts is not None and thread.shown < thread.view and thread.refresh_lease is not None:
        moments.append(thread.refresh_lease.until)
    return min(moments) if moments else None


def unfinished(thread: Thread) -> bool:
    """Anything still owed: effects not done, or a refresh the parent has not had."""
    owes_refresh = thread.ts is not None and thread.shown < thread.view
    return owes_refresh or any(not e.done for e in thread.effects)


def _free(lease: Lease | None, now: datetime) -> bool:
    return lease is None or lease.until <= now


def _with(thread: Thread, key: str, change: Any) -> Thread:
    effects = tuple(change(e) if e.key == key else e for e in thread.effects)
    return replace(thread, effects=effects)
