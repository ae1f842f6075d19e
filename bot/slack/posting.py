"""A posting queue per channel: Slack takes about one message per second per channel, so posts to one
channel leave one at a time, in the order they came, at most one per `interval_s`; a storm queues here
instead of being refused by Slack.

Rate limits that still happen (another replica posting to the same channel, Slack's own judgement) come
back as HTTP 429 with Retry-After. The client's retry handler waits and retries a few times; if Slack is
still refusing after that, the queue pauses the channel for Retry-After and tries the same post again.
Nothing is dropped and nothing is sent twice: a post is retried only when Slack said it was refused.

    queue = PostingQueue(client)
    response = await queue.post("C0123", text="…", blocks=[…])        # waits its turn in C0123
    await queue.update("C0123", response["ts"], text="…", blocks=[…])  # not paced: chat.update is tier 3

Every caller waits on an `asyncio.Lock` per channel (its waiters are woken first in, first out), so the
queue has no worker tasks of its own to start or stop: cancelling a caller takes it out of the line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

DEFAULT_INTERVAL_S = 1.0
DEFAULT_RETRY_AFTER_S = 1.0
MAX_RETRY_AFTER_S = 300.0  # a Retry-After beyond this is a bug somewhere; wait this long and try again


@dataclass
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0  # monotonic time before which the channel takes no post
    waiting: int = 0


@dataclass
class Counters:
    posts: int = 0
    updates: int = 0
    rate_limited: int = 0  # refusals the client's own retries did not absorb


class PostingQueue:
    def __init__(self, client: AsyncWebClient, *, interval_s: float = DEFAULT_INTERVAL_S,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self._client = client
        self._interval = interval_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}
        self._updates_paused_until = 0.0
        self.counters = Counters()

    def waiting(self, channel: str) -> int:
        """Posts queued for `channel`, the one being sent included."""
        lane = self._lanes.get(channel)
        return lane.waiting if lane else 0

    async def post(self, channel: str, **message: Any) -> AsyncSlackResponse:
        """`chat.postMessage` to `channel` when its turn comes. Slack errors other than rate limits raise."""
        lane = self._lanes.setdefault(channel, _Lane())
        lane.waiting += 1
        try:
            async with lane.lock:
                while True:
                    await self._until(lane.next_at)
                    try:
                        response = await self._client.chat_postMessage(channel=channel, **message)
                    except SlackApiError as error:
                        pause = _rate_limited(error)
                        lane.next_at = self._monotonic() + (pause if pause is not None else self._interval)
                        if pause is None:
                            raise
                        self.counters.rate_limited += 1
                        continue
                    lane.next_at = self._monotonic() + self._interval
                    self.counters.posts += 1
                    return response
        finally:
            lane.waiting -= 1

    async def update(self, channel: str, ts: str, **message: Any) -> AsyncSlackResponse:
        """`chat.update` of one message; after a rate limit the client could not absorb, every update waits."""
        while True:
            await self._until(self._updates_paused_until)
            try:
                response = await self._client.chat_update(channel=channel, ts=ts, **message)
            except SlackApiError as error:
                pause = _rate_limited(error)
                if pause is None:
                    raise
                self.counters.rate_limited += 1
                self._updates_paused_until = max(self._updates_paused_until, self._monotonic() + pause)
                continue
            self.counters.updates += 1
            return response

    async def _until(self, moment: float) -> None:
        wait = moment - self._monotonic()
        if wait > 0:
            await self._sleep(wait)


def _rate_limited(error: SlackApiError) -> float | None:
    """Seconds to wait if Slack refused the call for its rate limit, else None."""
    response = error.response
    if response.status_code != 429 and response.get("error") != "ratelimited":
        return None
    for name, value in (response.headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return min(MAX_RETRY_AFTER_S, max(0.0, float(raw)))
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER_S
