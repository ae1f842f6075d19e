"""Flapping: an alert (one rule on one job) that keeps firing and resolving (pure).

It is flapping once, within `window`, it has fired `count` times with a resolve between each (by default
the third firing in 30 minutes, having resolved twice). From then on every new firing joins the thread it
was flapping in — no new parent, no new escalation, no note per firing or resolve: the parent says
"flapping: fired N times in 30 min" and the thread gets one note when it starts. It stops flapping when
it has been quiet (neither fired nor resolved) for `window`; the next firing behaves as any other.

The history is kept per rule+job (`routing.group_key`), one event per alert id and condition, so repeated
deliveries count once, whatever order they arrive in. Times are the alert's own (when it fired, when it
resolved), so the decision is the same on every replica and in every replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

FIRED = "Fired"
RESOLVED = "Resolved"


@dataclass(frozen=True, slots=True)
class FlapPolicy:
    count: int = 3  # firings (with resolves between) within the window that make it flapping
    window: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Event:
    alert_id: str
    condition: str  # FIRED | RESOLVED
    at: datetime


@dataclass(frozen=True, slots=True)
class Flaps:
    """One rule+job's recent firings and resolves, and whether it is flapping (and in which thread)."""

    events: tuple[Event, ...] = ()  # within the window of the latest event, oldest first
    since: datetime | None = None  # flapping since then; None: not flapping
    thread: str | None = None  # the thread it flaps in

    @property
    def flapping(self) -> bool:
        return self.since is not None


@dataclass(frozen=True, slots=True)
class Verdict:
    flaps: Flaps  # the history after this event
    changed: bool  # this event was new (not a repeated delivery)
    flapping: bool
    started: bool  # it became flapping with this event
    fired: int  # firings within the window, for "fired N times in 30 min"


def observe(flaps: Flaps | None, event: Event, policy: FlapPolicy, thread: str | None) -> Verdict:
    """The history after `event` (of an alert placed in `thread`), and what it says now.

    A repeated event (same alert id and condition) changes nothing. After `policy.window` of quiet the
    history starts again, flapping included.
    """
    flaps = flaps or Flaps()
    if any(e.alert_id == event.alert_id and e.condition == event.condition for e in flaps.events):
        return Verdict(flaps, False, flaps.flapping, False, _fired(flaps.events))
    latest = max((e.at for e in flaps.events), default=None)
    if latest is not None and event.at - latest >= policy.window:
        flaps = Flaps()  # quiet for a whole window: whatever it was doing is over
    now = max(event.at, latest or event.at)
    events = tuple(sorted((*flaps.events, event), key=lambda e: (e.at, e.condition, e.alert_id)))
    events = tuple(e for e in events if now - e.at < policy.window)
    updated = replace(flaps, events=events)
    started = False
    if not updated.flapping and _flapping(events, policy):
        updated, started = replace(updated, since=event.at, thread=thread), True
    return Verdict(updated, True, updated.flapping, started, _fired(events))


def still_flapping(flaps: Flaps | None, now: datetime, policy: FlapPolicy) -> Flaps | None:
    """`flaps` as it stands at `now`: None once it has been quiet for a window (it behaves normally)."""
    if flaps is None or not flaps.events:
        return None
    latest = max(e.at for e in flaps.events)
    return None if now - latest >= policy.window else flaps


def _flapping(events: tuple[Event, ...], policy: FlapPolicy) -> bool:
    """`count` firings within the window, each but the last followed by a resolve before the next."""
    cycles = 0
    resolved_since_fire = True
    for event in events:
        if event.condition == FIRED and resolved_since_fire:
            cycles += 1
            resolved_since_fire = False
        elif event.condition == RESOLVED:
            resolved_since_fire = True
    return cycles >= policy.count


def _fired(events: tuple[Event, ...]) -> int:
    return sum(1 for e in events if e.condition == FIRED)


def flaps_to_dict(flaps: Flaps) -> dict[str, Any]:
    return {"events": [{"alert": e.alert_id, "condition": e.condition, "at": e.at.isoformat()} for e in flaps.events],
            "since": flaps.since.isoformat() if flaps.since else None, "thread": flaps.thread}


def flaps_from_dict(value: Mapping[str, Any] | None) -> Flaps | None:
    if value is None:
        return None
    since = value.get("since")
    return Flaps(events=tuple(Event(str(e["alert"]), str(e["condition"]), datetime.fromisoformat(e["at"]))
                              for e in value.get("events") or ()),
                 since=datetime.fromisoformat(since) if since else None, thread=value.get("thread"))
