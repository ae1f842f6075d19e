"""Which escalation tier is due, and when to look again (pure).

The primary owner is named in the parent when it is posted. Tier n (1-based) of the escalation chain is
due `n × every` after the thread opened, unless someone acknowledged or every alert in the thread
resolved. After downtime several tiers may be overdue at once: the tier due *now* is the one to call
(with the ones missed named alongside), never a backlog of stale pings one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts.thread import Posted, Thread


@dataclass(frozen=True, slots=True)
class Step:
    tier: int | None  # the tier to mention now, if any
    next_at: datetime | None  # when the next tier falls due; None when escalation is over


def due_tier(opened_at: datetime, every: timedelta, chain_length: int, now: datetime) -> int:
    """How many tiers should have been called by `now`: one per full `every` since opening, up to the chain."""
    if chain_length <= 0 or every <= timedelta(0) or now < opened_at:
        return 0
    return min(chain_length, int((now - opened_at) / every))


def next_due(opened_at: datetime, every: timedelta, chain_length: int, called: int) -> datetime | None:
    if called >= chain_length or every <= timedelta(0):
        return None
    return opened_at + every * (called + 1)


def escalation_step(thread: Thread, now: datetime) -> Step:
    """What the escalation timer should do for `thread` at `now`."""
    # A thread folded into an environment-wide incident is held: the incident paged its platform owner.
    if thread.ack is not None or thread.resolved or thread.part_of is not None \
            or thread.posted in (Posted.UNROUTABLE, Posted.FAILED, Posted.IN_INCIDENT):
        return Step(None, None)
    every = timedelta(seconds=thread.routing.escalate_after_s)
    length = len(thread.routing.chain)
    due = due_tier(thread.opened_at, every, length, now)
    tier = due if due > thread.escalated else None
    return Step(tier, next_due(thread.opened_at, every, length, max(due, thread.escalated)))


def first_due(thread: Thread) -> datetime | None:
    """When the first tier falls due for a new thread (None: nobody to escalate to)."""
    return next_due(thread.opened_at, timedelta(seconds=thread.routing.escalate_after_s),
                    len(thread.routing.chain), thread.escalated)
