"""The checklist's state and its transitions. Pure: no I/O, no clock; `now` and permissions come in.

Every transition returns a new `Checklist` (frozen) with one more timeline event, or raises `Refused`
with a reason fit to show the user. The store applies a transition inside an optimistic-versioning
retry loop, so a transition must be a function of its arguments only: it may run several times.

Step life cycle:

    open ──done──▶ done ──undo──▶ open
      └───skip(reason)──▶ skipped ──undo──▶ open

What jobbot itself did or established before anyone clicked (the snapshot in the thread, the cause and
its evidence, the target) starts done by the bot (`by == BOT`, with its `evidence`): those steps are the
record of what the bot found, so no click reopens them. The verification step is ticked only by the bot's
own check (`record_check`); people can skip it with a reason, never tick it. The close step closes the
whole checklist, once every other step is done or skipped. Steps that need an owner's approval refuse
every change from someone who is not an owner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.errors import InvalidRequest
from bot.model import Cause, JobRef

BOT = "jobbot"  # the actor of the bot's own entries (checks, snapshots)
REASON_MAX = 500


class Refused(InvalidRequest):
    """A click or command that the checklist's rules do not allow; the message says why."""


class StepKind(StrEnum):
    """Step ids, in the order a rollback is done. Also the `step` part of a button value."""

    LEAD = "lead"
    EVIDENCE = "evidence"
    CAUSE = "cause"
    TARGET = "target"
    REGISTRY = "registry"
    INTAKE = "intake"
    APPLY = "apply"
    PERSIST = "persist"
    VERIFY = "verify"
    REPLAY = "replay"
    NOTIFY = "notify"
    CLOSE = "close"


class StepStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


class FindingState(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WAITING = "waiting"  # nothing to judge yet (no execution since the rollback)
    UNKNOWN = "unknown"  # the check could not run (upstream error, deadline)
    NOT_APPLICABLE = "n/a"  # nothing to look at for this job (e.g. no readable queue)


class EventKind(StrEnum):
    OPENED = "opened"
    BOT_DONE = "bot-done"  # a step jobbot completed itself when the checklist opened, with its evidence
    DONE = "done"
    SKIPPED = "skipped"
    UNDONE = "undone"
    CHECKED = "checked"
    VERIFIED = "verified"
    RECHECKED = "rechecked"
    SNAPSHOT = "snapshot"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Finding:
    """One read-only check's outcome and the evidence behind it, in words."""

    name: str  # image | executions | queue
    state: FindingState
    evidence: str


@dataclass(frozen=True, slots=True)
class Check:
    """One run of the bot's verification."""

    at: datetime
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        """The job runs the target image (image rollbacks), the reverted properties are back (where jobbot
        can read them), new executions succeed, and the queue (if readable) drains."""
        states = [(f.name, f.state) for f in self.findings]
        if ("executions", FindingState.PASS) not in states:
            return False
        if not any(name in ("image", "config", "access") for name, _ in states):
            return False  # nothing says the change was undone
        if any(name == "image" and state is not FindingState.PASS for name, state in states):
            return False
        return all(state in (FindingState.PASS, FindingState.NOT_APPLICABLE) for _, state in states)


@dataclass(frozen=True, slots=True)
class Recheck:
    """A scheduled re-check after the rollback (+5/+15/+30 min) and what it found."""

    after_min: int
    applied_at: datetime  # which application of the rollback it belongs to
    at: datetime
    recovered: bool


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    title: str
    detail: str = ""  # plain text; `code` spans allowed; escaped when rendered
    commands: tuple[str, ...] = ()  # shown as copyable code blocks
    mentions: tuple[str, ...] = ()  # Slack mentions (owners), passed through when valid
    needs_approval: bool = False
    status: StepStatus = StepStatus.OPEN
    by: str | None = None
    at: datetime | None = None
    reason: str | None = None  # why it was skipped
    check: Check | None = None  # the latest verification (verify step only)
    evidence: str = ""  # what jobbot found or did, for a step it completed itself (plain text)

    @property
    def settled(self) -> bool:
        return self.status is not StepStatus.OPEN

    @property
    def done_by_bot(self) -> bool:
        """Completed by jobbot itself, not by a person (a prefilled step, or the bot's passing check)."""
        return self.status is StepStatus.DONE and self.by == BOT

    @property
    def prefilled(self) -> bool:
        """Done by jobbot before anyone clicked: a record of what it found, never reopened by a click."""
        return self.done_by_bot and self.kind is not StepKind.VERIFY


@dataclass(frozen=True, slots=True)
class Revert:
    """One property a configuration or access revert puts back: jobbot re-reads `resource` to check it."""

    resource: str  # ARM id of what changed: the job, or what it depends on (environment, role assignment …)
    path: str  # in that resource's own JSON names; "" for the resource itself (deleted -> exists again)
    before: Any  # the value to put back (None: it was absent)
    after: Any  # the value the change set


@dataclass(frozen=True, slots=True)
class Target:
    """What to roll back to, and how it differs from what runs today. `image` is None for a revert of
    configuration or access only (the image stays)."""

    image: str | None
    current_image: str | None
    last_success: datetime | None
    execution: str | None
    # Readable lines. Image rollback: image, cpu/memory, env names, scale rule. Revert: the change in one
    # line, then its properties (at most 5, then "+N more").
    diff: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    actor: str  # Slack user id, or BOT
    kind: EventKind
    step: StepKind | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Checklist:
    id: str
    job: JobRef
    cause: Cause
    summary: str  # the verdict's summary when the checklist was opened
    target: Target
    approvers: tuple[str, ...]  # owner mentions (<!subteam^S…>, <@U…>) whose members approve
    channel: str
    opened_by: str
    opened_at: datetime
    steps: tuple[Step, ...]
    events: tuple[Event, ...] = ()
    ts: str | None = None  # the Slack message that shows it; None until posted
    lead: str | None = None
    applied_at: datetime | None = None  # when the rollback was marked applied (re-checks count from it)
    queue_baseline: int | None = None  # queue depth when opened: "drains" means below this
    queue_capacity: int | None = None  # queueLength x maxExecutions, when there is no baseline
    rechecks: tuple[Recheck, ...] = ()
    closed_at: datetime | None = None
    closed_by: str | None = None
    reverts: tuple[Revert, ...] = ()  # properties the change set outside the image, to put back and check

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def what(self) -> str:
        """What this checklist rolls back, in a few words: the image, or the reverted properties."""
        if self.target.image:
            return self.target.image
        return "configuration revert" if self.reverts else "revert"

    def step(self, kind: StepKind | str) -> Step:
        for step in self.steps:
            if step.kind == kind:
                return step
        raise Refused(f"This checklist has no step `{kind}`.")

    def has_step(self, kind: StepKind) -> bool:
        return any(step.kind is kind for step in self.steps)

    @property
    def settled_count(self) -> int:
        return sum(1 for step in self.steps if step.settled)

    @property
    def team_steps(self) -> tuple[Step, ...]:
        """The steps left to people: all but those jobbot completed when the checklist opened."""
        return tuple(step for step in self.steps if not step.prefilled)


# --- transitions ------------------------------------------------------------------------------------


def mark_done(checklist: Checklist, kind: StepKind | str, user: str, now: datetime, *, approver: bool) -> Checklist:
    """`user` ticks a step. The lead step makes them the lead; the apply step starts the re-check clock."""
    step = _changeable(checklist, kind, user, approver)
    if step.kind is StepKind.VERIFY:
        raise Refused("The verification step ticks only when jobbot's own read-only check passes: press "
                      "*Check now*, or skip it with a reason.")
    if step.kind is StepKind.CLOSE:
        raise Refused("Use *Close checklist* to close it.")
    if step.settled:
        raise Refused(f"“{step.title}” is already {step.status.value} (by {_who(step.by)}).")
    done = replace(step, status=StepStatus.DONE, by=user, at=now, reason=None)
    updated = _with_step(checklist, done)
    if step.kind is StepKind.LEAD:
        updated = replace(updated, lead=user)
    if step.kind is StepKind.APPLY:
        updated = replace(updated, applied_at=now)
    return _log(updated, Event(now, user, EventKind.DONE, step.kind))


def skip(checklist: Checklist, kind: StepKind | str, user: str, reason: str, now: datetime, *,
         approver: bool) -> Checklist:
    """`user` skips a step, saying why (the reason goes into the timeline)."""
    step = _changeable(checklist, kind, user, approver)
    if step.kind is StepKind.CLOSE:
        raise Refused("The close step cannot be skipped: use *Close checklist*.")
    if step.settled:
        raise Refused(f"“{step.title}” is already {step.status.value} (by {_who(step.by)}).")
    why = " ".join(reason.split())[:REASON_MAX]
    if len(why) < 3:
        raise Refused("Say why the step is skipped (a few words): the reason goes into the timeline.")
    skipped = replace(step, status=StepStatus.SKIPPED, by=user, at=now, reason=why)
    updated = _with_step(checklist, skipped)
    if step.kind is StepKind.LEAD:
        updated = replace(updated, lead=None)
    return _log(updated, Event(now, user, EventKind.SKIPPED, step.kind, why))


def undo(checklist: Checklist, kind: StepKind | str, user: str, now: datetime, *, approver: bool) -> Checklist:
    """`user` reopens a done or skipped step (undoing the rollback step stops its re-checks)."""
    step = _changeable(checklist, kind, user, approver)
    if step.kind is StepKind.CLOSE:
        raise Refused("A closed checklist cannot be reopened.")
    if step.prefilled:
        raise Refused(f"“{step.title}” was done by jobbot itself when the checklist opened ({step.evidence}): it "
                      "is the record of what jobbot found, so it cannot be undone. If it is wrong, say so in the "
                      "thread, or say no-go.")
    if not step.settled:
        raise Refused(f"“{step.title}” is still open: there is nothing to undo.")
    was = step.status.value
    reopened = replace(step, status=StepStatus.OPEN, by=None, at=None, reason=None)
    updated = _with_step(checklist, reopened)
    if step.kind is StepKind.LEAD:
        updated = replace(updated, lead=None)
    if step.kind is StepKind.APPLY:
        updated = replace(updated, applied_at=None)
    return _log(updated, Event(now, user, EventKind.UNDONE, step.kind, f"was {was}"))


def record_check(checklist: Checklist, check: Check, actor: str, now: datetime) -> Checklist:
    """Store the bot's verification; it ticks the verify step when it passed and the step is open."""
    _require_open(checklist)
    step = checklist.step(StepKind.VERIFY)
    checked = replace(step, check=check)
    outcome = "passed" if check.passed else "not yet"
    updated = _log(_with_step(checklist, checked), Event(now, actor, EventKind.CHECKED, step.kind, outcome))
    if check.passed and step.status is StepStatus.OPEN:
        ticked = replace(checked, status=StepStatus.DONE, by=BOT, at=now)
        updated = _log(_with_step(updated, ticked), Event(now, BOT, EventKind.VERIFIED, step.kind))
    return updated


def record_recheck(checklist: Checklist, after_min: int, applied_at: datetime, check: Check,
                   now: datetime) -> Checklist:
    """A scheduled re-check's result, once per (minutes, application of the rollback)."""
    _require_open(checklist)
    if checklist.applied_at != applied_at:
        raise Refused("The rollback step was undone or done again since this re-check was scheduled.")
    if any(r.after_min == after_min and r.applied_at == applied_at for r in checklist.rechecks):
        raise Refused(f"The +{after_min} min re-check is already recorded.")
    updated = record_check(checklist, check, BOT, now)
    recheck = Recheck(after_min, applied_at, now, check.passed)
    note = f"+{after_min} min: {'recovered' if check.passed else 'not recovered'}"
    return _log(replace(updated, rechecks=(*updated.rechecks, recheck)),
                Event(now, BOT, EventKind.RECHECKED, StepKind.VERIFY, note))


def note_snapshot(checklist: Checklist, now: datetime) -> Checklist:
    """The bot posted the configuration snapshot in the thread (the evidence step it completed says so)."""
    _require_open(checklist)
    return _log(checklist, Event(now, BOT, EventKind.SNAPSHOT, StepKind.EVIDENCE, "snapshot posted in the thread"))


def attach_message(checklist: Checklist, channel: str, ts: str) -> Checklist:
    """Where the checklist is shown (a new message replaces a lost one)."""
    return replace(checklist, channel=channel, ts=ts)


def close(checklist: Checklist, user: str, now: datetime) -> Checklist:
    """Close once every other step is done or skipped: a checklist cannot end with silent gaps."""
    _require_open(checklist)
    waiting = [s.title for s in checklist.steps if not s.settled and s.kind is not StepKind.CLOSE]
    if waiting:
        listed = "; ".join(f"“{title}”" for title in waiting)
        raise Refused(f"Not closed: {len(waiting)} steps are still open ({listed}). Mark them done, or skip "
                      "them with a reason.")
    step = checklist.step(StepKind.CLOSE)
    closed = replace(_with_step(checklist, replace(step, status=StepStatus.DONE, by=user, at=now)),
                     closed_at=now, closed_by=user)
    return _log(closed, Event(now, user, EventKind.CLOSED, StepKind.CLOSE))


def opened(checklist: Checklist) -> Checklist:
    """The first timeline entries: who opened it, proposing which target; then each step jobbot completed
    itself, by jobbot, with its evidence (so the trail tells the bot's work from people's)."""
    note = f"target {checklist.target.image}" if checklist.target.image else checklist.what
    logged = _log(checklist, Event(checklist.opened_at, checklist.opened_by, EventKind.OPENED, None, note))
    for step in checklist.steps:
        if step.prefilled:
            logged = _log(logged, Event(step.at or checklist.opened_at, BOT, EventKind.BOT_DONE, step.kind,
                                        step.evidence))
    return logged


# --- helpers ----------------------------------------------------------------------------------------


def approval_refusal(checklist: Checklist, step: Step) -> str:
    if not checklist.approvers:
        return (f"“{step.title}” needs an owner's approval, but no owners are known for *{checklist.job.name}*: "
                "add the job's `owner`/`oncall` tags or `jobs.<name>.owners` in the config (and "
                "`slack.user_groups` for tag names), then try again.")
    return (f"“{step.title}” needs an owner's approval: only members of {', '.join(checklist.approvers)} may "
            "change it, and you are not one of them. Ask one of them to press the button.")


def _changeable(checklist: Checklist, kind: StepKind | str, user: str, approver: bool) -> Step:
    _require_open(checklist)
    step = checklist.step(kind)
    if step.needs_approval and not approver:
        raise Refused(approval_refusal(checklist, step))
    return step


def _require_open(checklist: Checklist) -> None:
    if not checklist.is_open:
        raise Refused(f"This checklist was closed by {_who(checklist.closed_by)}; start a new one with "
                      f"`/jobbot rollback {checklist.job.name}`.")


def _with_step(checklist: Checklist, step: Step) -> Checklist:
    return replace(checklist, steps=tuple(step if s.kind is step.kind else s for s in checklist.steps))


def _log(checklist: Checklist, event: Event) -> Checklist:
    return replace(checklist, events=(*checklist.events, event))


def _who(user: str | None) -> str:
    if not user:
        return "someone"
    return "jobbot" if user == BOT else f"<@{user}>"
