"""Storing accepted deliveries: many webhook requests, one transaction (a group commit).

Each request waits for the commit that holds its delivery, then answers 202 — durable first, as before.
While one batch is being written, requests that arrive join the next one, so a storm of N requests
costs about N / (requests per commit) commits instead of N, and never more than one at a time per
replica: the intake cannot crowd the database the background work also needs. The write is urgent
(`Database.transaction`): it has a store thread of its own and never queues behind background work.

A failed commit fails every request in its batch (each answers 503; Azure retries). A request whose
client went away still has its delivery stored, and a retry of it is a duplicate the thread recognises.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from bot.alerts.storage import DELIVERY
from bot.clock import Clock
from bot.store import Store

MAX_BATCH = 200  # deliveries per commit: a batch stays one short INSERT, well under a 256 KB body each


class DeliveryInbox:
    def __init__(self, store: Store, scheduler: Clock, *, stored: Callable[[], None] = lambda: None,
                 max_batch: int = MAX_BATCH) -> None:
        self._timers = store.timers
        self._scheduler = scheduler
        self._stored = stored  # told after each commit (wakes the worker)
        self._max_batch = max_batch
        self._waiting: list[tuple[str, dict[str, Any], asyncio.Future[str]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def put(self, body: dict[str, Any]) -> str:
        """Store one delivery durably; returns its id once committed. Raises what the store raised."""
        delivery = uuid.uuid4().hex
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append((delivery, body, answer))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="alerts-inbox")
        return await answer

    async def close(self) -> None:
        """Finish the writes under way (the requests waiting on them are answered)."""
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:self._max_batch], self._waiting[self._max_batch:]
            try:
                await self._timers.add(DELIVERY, [(d, {"body": body}) for d, body, _ in batch],
                                       self._scheduler.now(), urgent=True)
            except Exception as error:
                for _, _, answer in batch:
                    if not answer.done():  # done: its request was cancelled (the client left)
                        answer.set_exception(error)
                continue
            for delivery, _, answer in batch:
                if not answer.done():
                    answer.set_result(delivery)
            self._stored()
