"""The webhook first: background alert work gives way while the webhook is answering.

Azure waits on the webhook's answer (10 s, then retries, then skips the endpoint for 15 minutes); the
work a delivery starts (grouping, Slack posts, the triage) waits on nobody and runs on the same event
loop, CPU and database. So before the worker claims timers or starts a handler it waits until the webhook
has been idle for `settle_s` — at most `max_wait_s`, so a webhook that never rests still leaves the
background work its turn every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

SETTLE_S = 0.5  # idle this long: the burst is over (a storm's requests come closer together, even on a busy host)
MAX_WAIT_S = 5.0  # background work is never held longer than this at one step (Slack paces posts anyway)


class IntakeLoad:
    def __init__(self, *, settle_s: float = SETTLE_S, max_wait_s: float = MAX_WAIT_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._settle_s = settle_s
        self._max_wait_s = max_wait_s
        self._monotonic = monotonic
        self._answering = 0
        self._last_answer = float("-inf")
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def answering(self) -> int:
        return self._answering

    @contextlib.contextmanager
    def answer(self) -> Iterator[None]:
        """Around one webhook answer."""
        self._answering += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._answering -= 1
            self._last_answer = self._monotonic()
            if not self._answering:
                self._idle.set()

    async def give_way(self) -> None:
        """Return once the webhook has been idle for `settle_s`, or after `max_wait_s` at most."""
        deadline = self._monotonic() + self._max_wait_s
        while (left := deadline - self._monotonic()) > 0:
            if self._answering:
                # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancel that arrives as the
                # wait ends (a shutdown cancelling the worker just as the last request finished).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._idle.wait()
                continue
            rest = self._last_answer + self._settle_s - self._monotonic()
            if rest <= 0:
                return
            await asyncio.sleep(min(rest, left))
