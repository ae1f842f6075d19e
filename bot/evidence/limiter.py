"""jobbot's own queue in front of an upstream limit, and what it means for a check's deadline.

Log Analytics allows 5 concurrent queries per identity, so reads beyond that wait here. Two rules follow:

- **our own queue is not a failure**: every upstream read carries a `Ticket` that says whether (and how
  long) it has waited in this queue; a check's deadline does not count that time (`bot.evidence.runner`),
  so a check never ends in "no answer within 4 s" because jobbot queued itself;
- **fair under load**: a person's triage goes before alert triages (`Priority`), first come first served
  within each; a read an alert started is promoted when a person's triage joins it. Queue length and wait
  are logged when a read had to wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from bot.telemetry.metrics import LIMITER_QUEUE, LIMITER_WAIT_SECONDS

log = logging.getLogger(__name__)
T = TypeVar("T")


class Priority(IntEnum):
    INTERACTIVE = 0  # someone is waiting for the answer (slash command, CLI, checklist)
    ALERT = 1  # an alert's triage: nobody asked yet


class Ticket:
    """One upstream read's place in jobbot's queues. A read shared between triages has one ticket of its
    own that the triages' tickets follow."""

    __slots__ = ("_follows", "_queued_s", "_since", "priority")

    def __init__(self, priority: Priority = Priority.INTERACTIVE) -> None:
        self.priority = priority
        self._since: float | None = None  # loop time it joined a queue, while it waits there
        self._queued_s = 0.0
        self._follows: list[Ticket] = []

    def follow(self, other: Ticket) -> None:
        """This read is served by `other` (a shared read): its waits are this one's; it lends its priority."""
        self._follows.append(other)
        other.promote(self.priority)

    def promote(self, priority: Priority) -> None:
        self.priority = min(self.priority, priority)
        for other in self._follows:
            other.promote(priority)

    def enter_queue(self, now: float) -> None:
        self._since = now

    def leave_queue(self, now: float) -> None:
        if self._since is not None:
            self._queued_s += now - self._since
            self._since = None

    def queued(self) -> bool:
        """Waiting in jobbot's queue right now."""
        return self._since is not None or any(t.queued() for t in self._follows)

    def queued_s(self, now: float) -> float:
        """Seconds spent waiting in jobbot's queue so far."""
        own = self._queued_s + (now - self._since if self._since is not None else 0.0)
        return max([own, *(t.queued_s(now) for t in self._follows)])


_PRIORITY: contextvars.ContextVar[Priority] = contextvars.ContextVar("jobbot_priority", default=Priority.INTERACTIVE)
_TICKET: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar("jobbot_ticket", default=None)
_TICKETS: weakref.WeakKeyDictionary[asyncio.Future[Any], Ticket] = weakref.WeakKeyDictionary()


@contextmanager
def priority(level: Priority) -> Iterator[None]:
    """Reads started inside (a triage's) queue at `level`."""
    token = _PRIORITY.set(level)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def current_ticket() -> Ticket | None:
    return _TICKET.get()


def new_ticket() -> Ticket:
    return Ticket(_PRIORITY.get())


def start_read(fetch: Callable[[], Awaitable[T]], ticket: Ticket | None = None) -> asyncio.Task[T]:
    """`fetch()` as a task with a ticket of its own, which any limiter it meets updates."""
    ticket = ticket or new_ticket()

    async def run() -> T:
        _TICKET.set(ticket)  # this task's context only
        return await fetch()

    task = asyncio.ensure_future(run())
    _TICKETS[task] = ticket
    return task


def ticket_of(task: asyncio.Future[Any]) -> Ticket | None:
    return _TICKETS.get(task)


class CheckWaits:
    """The reads one check has waited for: how long they sat in jobbot's queues."""

    def __init__(self) -> None:
        self._tickets: list[Ticket] = []

    def add(self, ticket: Ticket) -> None:
        if all(t is not ticket for t in self._tickets):
            self._tickets.append(ticket)

    def queued(self) -> bool:
        return any(t.queued() for t in self._tickets)

    def queued_s(self, now: float) -> float:
        return max((t.queued_s(now) for t in self._tickets), default=0.0)


_WAITS: contextvars.ContextVar[CheckWaits | None] = contextvars.ContextVar("jobbot_check_waits", default=None)


@contextmanager
def check_waits() -> Iterator[CheckWaits]:
    """The scope of one check: the reads it awaits are counted in the returned CheckWaits."""
    waits = CheckWaits()
    token = _WAITS.set(waits)
    try:
        yield waits
    finally:
        _WAITS.reset(token)


def awaiting(task: asyncio.Future[Any]) -> None:
    """The running check is about to wait for `task` (a read started with `start_read`)."""
    waits, ticket = _WAITS.get(), ticket_of(task)
    if waits is not None and ticket is not None:
        waits.add(ticket)


@dataclass(slots=True)
class _Waiter:
    ticket: Ticket
    order: int
    granted: asyncio.Future[None]


class PriorityLimiter:
    """At most `concurrency` holders at once; waiters served by priority, then in arrival order."""

    def __init__(self, concurrency: int, name: str) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._free = concurrency
        self._name = name
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()

    @property
    def queue_length(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots, waiting for it (by the current read's ticket's priority) if none is free."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            ticket = current_ticket()
            LIMITER_WAIT_SECONDS.labels(self._name, (ticket.priority if ticket else Priority.INTERACTIVE).name.lower()
                                        ).observe(0)
        else:
            await self._wait(current_ticket() or new_ticket())
        try:
            yield
        finally:
            self._release()

    async def _wait(self, ticket: Ticket) -> None:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(ticket, next(self._order), loop.create_future())
        ahead = len(self._waiting)
        self._waiting.append(waiter)
        LIMITER_QUEUE.labels(self._name).set(len(self._waiting))
        started = loop.time()
        ticket.enter_queue(started)
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release()  # granted as it was cancelled: pass the slot on
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            raise
        finally:
            ticket.leave_queue(loop.time())
            LIMITER_QUEUE.labels(self._name).set(len(self._waiting))
        LIMITER_WAIT_SECONDS.labels(self._name, ticket.priority.name.lower()).observe(loop.time() - started)
        log.info("read waited in jobbot's %s queue", self._name, extra={
            "limiter": self._name, "queued_ahead": ahead, "queue_length": len(self._waiting),
            "wait_ms": round((loop.time() - started) * 1000), "priority": ticket.priority.name.lower()})

    def _release(self) -> None:
        while self._waiting:
            waiter = min(self._waiting, key=lambda w: (w.ticket.priority, w.order))
            self._waiting.remove(waiter)
            if not waiter.granted.done():
                waiter.granted.set_result(None)  # the slot passes straight to it
                return
        self._free += 1
