"""Batch across jobs: the change-history reads of triages started together go to Resource Graph as one query.

Resource Graph gives each user a quota of about 15 queries per 5 seconds (its guidance: group queries), and
a board of 50 jobs or an alert storm asks for every job's change history at once: one query per job would be
throttled after the fifteenth. Here, as `bot.evidence.batched_logs` does for Log Analytics, asks that arrive
within `window_s` while other triages run become one `resource_changes` query over the union of their ids and
names, at most `MAX_ASKS` jobs per query (to keep its text a few kilobytes):

- each ask gets exactly the rows its own query returns: the rows of the batch whose target matches the ask's
  ids or names by the query's own rule (`matches`), in the batch's order, which is the query's order;
- the file's cap (`take 500`) is the whole batch's, so a batch that reached it may have cut some ask's rows,
  and then every ask of it is asked alone;
- an error reaches every ask of the batch, as the error of its own query would.

Every other read of the port goes straight through.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.evidence.limiter import Ticket, current_ticket, new_ticket, start_read
from bot.evidence.ports import ChangesReader
from bot.kql import load_query

MAX_ASKS = 20  # jobs per query: 20 jobs' ids and names are a few kilobytes of query text
QUERY = "resource_changes"
# The query's own rule for a row's parent resource and its top-level resource's name (kql/resource_changes.kql).
_PARENT = re.compile(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/[^/]+/[^/]+/[^/]+)/.+")
_TOP_NAME = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/[^/]+/[^/]+/([^/]+)")


def matches(row: Mapping[str, Any], ids: frozenset[str], names: frozenset[str]) -> bool:
    """Whether `resource_changes` asked for `ids` (lower-cased) and `names` returns `row`: its target is one
    of the ids or a child of one, or its top-level resource has one of the names."""
    properties = row.get("properties")
    target = str(properties.get("targetResourceId") or "").lower() if isinstance(properties, Mapping) else ""
    if target in ids:
        return True
    parent, top = _PARENT.match(target), _TOP_NAME.match(target)
    return bool(parent and parent.group(1) in ids) or bool(top and top.group(1) in names)


@dataclass(slots=True)
class _Ask:
    ids: frozenset[str]
    names: frozenset[str]


@dataclass(slots=True)
class _Batch:
    ticket: Ticket  # the batch's place in jobbot's queues: every ask's ticket follows it
    asks: list[_Ask] = field(default_factory=list)
    task: asyncio.Task[list[Sequence[Mapping[str, Any]]]] | None = None  # one answer per ask, in order
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # set once `task` exists


class BatchedChanges:
    """ChangesReader: change-history asks that arrive together become one Resource Graph query."""

    def __init__(self, inner: ChangesReader, *, window_s: float, crowded: Callable[[], bool] = lambda: True) -> None:
        """`crowded()`: whether other triages may ask too (else an ask leaves at once)."""
        self._inner = inner
        self._window_s = window_s
        self._crowded = crowded
        self._open: dict[datetime, _Batch] = {}
        self._cap = load_query(QUERY).row_cap
        self.batches = 0  # queries sent for more than one ask (for benches and tests)

    async def resource_changes(
        self, resource_ids: Sequence[str], since: datetime, related: Sequence[str] = ()
    ) -> Sequence[Mapping[str, Any]]:
        if not self._window_s:
            return await self._inner.resource_changes(resource_ids, since, related)
        ask = _Ask(frozenset(i.lower() for i in resource_ids if i), frozenset(n.lower() for n in related if n))
        batch = self._open.get(since)
        if batch is None:
            batch = self._open[since] = _Batch(new_ticket())
            delay = self._window_s if self._crowded() else 0.0
            asyncio.get_running_loop().call_later(delay, self._send, since, batch)
        mine = len(batch.asks)
        batch.asks.append(ask)
        if len(batch.asks) >= MAX_ASKS:
            self._send(since, batch)  # full: it leaves now, and the next ask opens another
        if (ticket := current_ticket()) is not None:
            ticket.follow(batch.ticket)
        await batch.ready.wait()
        assert batch.task is not None
        # shield: one ask giving up (its check's deadline) must not cancel the query for the others.
        answers = await asyncio.shield(batch.task)
        return answers[mine]

    def _send(self, since: datetime, batch: _Batch) -> None:
        if batch.task is not None:
            return  # sent already, when it filled up
        if self._open.get(since) is batch:
            del self._open[since]
        asks = list(batch.asks)

        async def alone(ask: _Ask) -> Sequence[Mapping[str, Any]]:
            return await self._inner.resource_changes(sorted(ask.ids), since, sorted(ask.names))

        async def run() -> list[Sequence[Mapping[str, Any]]]:
            if len(asks) == 1:
                return [await alone(asks[0])]
            self.batches += 1
            ids = frozenset().union(*(a.ids for a in asks))
            names = frozenset().union(*(a.names for a in asks))
            rows = await self._inner.resource_changes(sorted(ids), since, sorted(names))
            if self._cap is not None and len(rows) >= self._cap:
                # The cap cut the batch: an ask may have lost rows it would have had alone.
                return list(await asyncio.gather(*(alone(a) for a in asks)))
            return [[row for row in rows if matches(row, a.ids, a.names)] for a in asks]

        batch.task = start_read(run, batch.ticket)
        batch.task.add_done_callback(_consume)
        batch.ready.set()

    # -- everything else, straight through ------------------------------------------------------------------

    async def role_assignments(
        self, principal_ids: Sequence[str], scopes: Sequence[str]
    ) -> Sequence[Mapping[str, Any]]:
        return await self._inner.role_assignments(principal_ids, scopes)

    async def role_definition(self, definition_id: str) -> Mapping[str, Any]:
        return await self._inner.role_definition(definition_id)

    async def resource(self, resource_id: str) -> Mapping[str, Any]:
        return await self._inner.resource(resource_id)

    async def alert_rules(self, resource_group_id: str) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        return await self._inner.alert_rules(resource_group_id)

    async def action_group(self, group_id: str) -> Mapping[str, Any]:
        return await self._inner.action_group(group_id)

    async def workspace(self, customer_id: str) -> str | None:
        return await self._inner.workspace(customer_id)

    async def workspace_resource(self, customer_id: str) -> Mapping[str, Any] | None:
        return await self._inner.workspace_resource(customer_id)

    async def environment_usages(self, environment_id: str) -> Sequence[Mapping[str, Any]]:
        return await self._inner.environment_usages(environment_id)


def _consume(task: asyncio.Task[Any]) -> None:
    # Every ask may have given up already: the error is theirs to see, not the loop's to log.
    if not task.cancelled():
        task.exception()
