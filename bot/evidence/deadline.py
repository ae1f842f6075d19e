"""The running check's deadline, so a check can wait for secondary evidence without losing its own."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

RESERVE_S = 0.3  # left for the check to build its answer


class Deadline:
    """A check's deadline in loop time; it moves later while the check's reads wait in jobbot's own queue."""

    __slots__ = ("at",)

    def __init__(self, at_loop_time: float) -> None:
        self.at = at_loop_time


_DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("check_deadline", default=None)


def set_deadline(at_loop_time: float) -> Deadline:
    """The running check's deadline (seen by the tasks it starts from now on); move it with `.at`."""
    deadline = Deadline(at_loop_time)
    _DEADLINE.set(deadline)
    return deadline


async def best_effort(awaitable: Awaitable[T]) -> T | None:
    """The result if it arrives before the check's deadline (less a reserve), else None."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return await awaitable
    remaining = deadline.at - asyncio.get_running_loop().time() - RESERVE_S
    try:
        return await asyncio.wait_for(awaitable, timeout=max(remaining, 0.0))
    except TimeoutError:
        return None
