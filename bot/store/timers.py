"""Durable timers: one pending timer per (kind, key), each due timer handed to one poller only."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, func, or_, select, update

from bot.store.engine import Database
from bot.store.schema import as_dict, timers


@dataclass(frozen=True, slots=True)
class Timer:
    id: str  # changes on every schedule: `done` for an old firing never removes a newer schedule
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]


class Timers:
    """Durable timers: one pending timer per (kind, key); `due` hands each due timer to one poller only."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def schedule(self, kind: str, key: str, due_at: datetime, payload: dict[str, Any]) -> Timer:
        """Set (kind, key) to fire at `due_at`, replacing any timer already there (firing or not)."""
        _require_aware(due_at)
        timer = Timer(uuid.uuid4().hex, kind, key, due_at, payload)
        statement = self._db.insert(timers).values(
            kind=kind, key=key, id=timer.id, due_at=due_at, payload=payload, owner=None, claimed_at=None
        )
        statement = statement.on_conflict_do_update(
            index_elements=[timers.c.kind, timers.c.key],
            set_={"id": timer.id, "due_at": due_at, "payload": payload, "owner": None, "claimed_at": None},
        )
        await self._db.transaction(lambda conn: conn.execute(statement))
        return timer

    async def add(self, kind: str, entries: Sequence[tuple[str, dict[str, Any]]], due_at: datetime, *,
                  urgent: bool = False) -> None:
        """New timers of `kind`, all due at `due_at`, in one transaction: all stored or none. Their keys
        must be new (a key already pending fails the lot); `urgent` as in `Database.transaction`."""
        _require_aware(due_at)
        if not entries:
            return
        rows = [{"kind": kind, "key": key, "id": uuid.uuid4().hex, "due_at": due_at, "payload": payload,
                 "owner": None, "claimed_at": None} for key, payload in entries]
        await self._db.transaction(lambda conn: conn.execute(timers.insert(), rows), urgent=urgent)

    async def waiting(self, now: datetime, kinds: Iterable[str]) -> int:
        """How many timers of `kinds` are due and not taken by any replica: the work queue's depth."""
        _require_aware(now)
        query = select(func.count()).select_from(timers).where(
            timers.c.due_at <= now, timers.c.owner.is_(None), timers.c.kind.in_(list(kinds)))
        return int(await self._db.transaction(lambda conn: conn.scalar(query) or 0))

    async def due(
        self, now: datetime, owner: str, limit: int = 50, *, lease_s: float | None = None,
        kinds: Iterable[str] | None = None,
    ) -> list[Timer]:
        """Claim for `owner` up to `limit` timers due at `now`, earliest first; call `done` after firing each.

        `kinds` limits the claim to one feature's timers, so features sharing the store never take each
        other's.

        A claimed timer is nobody else's. With `lease_s`, a timer claimed that long ago and never done
        (its poller crashed) is handed out again — at-least-once instead of at-most-once.
        """
        _require_aware(now)
        waiting: ColumnElement[bool] = timers.c.owner.is_(None)
        if lease_s is not None:
            waiting = or_(waiting, timers.c.claimed_at <= now - timedelta(seconds=lease_s))
        if kinds is not None:
            waiting = and_(waiting, timers.c.kind.in_(list(kinds)))
        query = select(timers).where(timers.c.due_at <= now, waiting).order_by(
            timers.c.due_at, timers.c.kind, timers.c.key
        ).limit(max(0, limit))
        if self._db.dialect == "postgresql":
            # Rows another poller is claiming right now are skipped, not waited for nor taken twice.
            query = query.with_for_update(skip_locked=True)
        # On SQLite, BEGIN IMMEDIATE makes this select-then-update one serialized step.

        def claim(conn: Connection) -> list[Timer]:
            rows = conn.execute(query).all()
            if not rows:
                return []
            conn.execute(update(timers).where(timers.c.id.in_([row.id for row in rows])).values(
                owner=owner, claimed_at=now
            ))
            return [Timer(row.id, row.kind, row.key, row.due_at, as_dict(row.payload)) for row in rows]

        return await self._db.transaction(claim)

    async def extend(self, timer_ids: Iterable[str], owner: str, now: datetime) -> int:
        """Renew `owner`'s claims on `timer_ids` as of `now` (a handler still at work keeps its timer for
        another lease); returns how many it still held. A timer rescheduled, done or taken over is skipped."""
        _require_aware(now)
        ids = list(timer_ids)
        if not ids:
            return 0
        statement = update(timers).where(timers.c.id.in_(ids), timers.c.owner == owner).values(claimed_at=now)
        return await self._db.transaction(lambda conn: int(conn.execute(statement).rowcount))

    async def done(self, timer_id: str) -> bool:
        """Remove a fired timer; False if it was rescheduled or cancelled meanwhile."""
        statement = delete(timers).where(timers.c.id == timer_id)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)

    async def cancel(self, kind: str, key: str) -> bool:
        statement = delete(timers).where(timers.c.kind == kind, timers.c.key == key)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got {moment.isoformat()}")
