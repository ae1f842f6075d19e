"""The running check's deadline, so a check can wait for secondary evidence without losing its own."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("check_deadline", default=None)
RESERVE_S = 0.3  # left for the check to build its answer


def set_deadline(at_loop_time: float) -> None:
    _DEADLINE.set(at_loop_time)


async def best_effort(awaitable: Awaitable[T]) -> T | None:
    """The result if it arrives before the check's deadline (less a reserve), else None."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return await awaitable
    remaining = deadline - asyncio.get_running_loop().time() - RESERVE_S
    try:
        return await asyncio.wait_for(awaitable, timeout=max(remaining, 0.0))
    except TimeoutError:
        return None
