"""A posting queue per channel: Slack takes about one message per second per channel, so posts to one
channel leave one at a time, in the order they came, at most one per `interval_s`; a storm queues here
instead of being refused by Slack.

Rate limits that still happen (another replica posting to the same channel, Slack's own judgement) come
back as HTTP 429 with Retry-After. The client's retry handlers (slack_sdk's, `bot/slack/client.py`) wait
and retry a few times while the channel's turn is held; if Slack is still refusing after that, the queue
pauses the channel for Retry-After and sends the same post again, at most `MAX_PAUSES` times, then raises
`RateLimited` to its caller (the alert thread keeps the post owed and retries it later). Nothing is sent
twice: a post is repeated only when Slack said it was refused.

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

from bot.slack.errors import RateLimited, translate

DEFAULT_INTERVAL_S = 1.0
# Pauses of a channel for one post (or of updates for one update) before the caller hears RateLimited. With
# the bot's client each pause follows its own bounded retries, so one call is refused at most 4 × 6 times.
MAX_PAUSES = 3


@dataclass
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0  # monotonic time before which the channel takes no post
    waiting: int = 0


@dataclass
class Counters:
    posts: int = 0
    updates: int = 0
    rate_limited: int = 0  # refusals the client's own retries did not absorb (the last one given up on too)


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
                for pause in range(MAX_PAUSES + 1):
                    await self._until(lane.next_at)
                    try:
                        response = await self._client.chat_postMessage(channel=channel, **message)
                    except SlackApiError as error:
                        failure = translate("chat.postMessage", error)
                        if not isinstance(failure, RateLimited):
                            lane.next_at = self._monotonic() + self._interval
                            raise failure from None
                        lane.next_at = self._monotonic() + failure.retry_after
                        self.counters.rate_limited += 1
                        if pause == MAX_PAUSES:
                            raise failure from None
                        continue
                    lane.next_at = self._monotonic() + self._interval
                    self.counters.posts += 1
                    return response
                raise AssertionError("unreachable")
        finally:
            lane.waiting -= 1

    async def update(self, channel: str, ts: str, **message: Any) -> AsyncSlackResponse:
        """`chat.update` of one message; after a rate limit the client could not absorb, every update waits."""
        for pause in range(MAX_PAUSES + 1):
            await self._until(self._updates_paused_until)
            try:
                response = await self._client.chat_update(channel=channel, ts=ts, **message)
            except SlackApiError as error:
                failure = translate("chat.update", error)
                if not isinstance(failure, RateLimited):
                    raise failure from None
                self._updates_paused_until = max(self._updates_paused_until,
                                                 self._monotonic() + failure.retry_after)
                self.counters.rate_limited += 1
                if pause == MAX_PAUSES:
                    raise failure from None
                continue
            self.counters.updates += 1
            return response
        raise AssertionError("unreachable")

    async def _until(self, moment: float) -> None:
        wait = moment - self._monotonic()
        if wait > 0:
            await self._sleep(wait)

