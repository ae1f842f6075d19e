"""Records: JSON documents under (kind, key), written with optimistic versioning and retried on a lost race."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update

from bot.clock import Clock
from bot.store.engine import Database, StaleVersion
from bot.store.schema import as_dict, records

# Retry jitter from a generator of its own: the global `random` state belongs to whoever seeded it.
_JITTER = random.Random()


@dataclass(frozen=True, slots=True)
class Versioned:
    value: dict[str, Any]
    version: int  # 1 when created, +1 on every write


class Records:
    """JSON documents under (kind, key) with optimistic concurrency: a write names the version it read."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def get(self, kind: str, key: str) -> Versioned | None:
        query = select(records.c.value, records.c.version).where(records.c.kind == kind, records.c.key == key)

        def read(conn: Connection) -> Versioned | None:
            row = conn.execute(query).first()
            return None if row is None else Versioned(as_dict(row.value), row.version)

        return await self._db.transaction(read)

    async def put(self, kind: str, key: str, value: dict[str, Any], expected_version: int | None) -> Versioned:
        """Write `value` if the record is still at `expected_version` (None: it must not exist yet).

        Raises `StaleVersion` when another writer got there first.
        """
        now = self._clock.now()

        def write(conn: Connection) -> Versioned:
            if expected_version is None:
                statement: Any = self._db.insert(records).values(
                    kind=kind, key=key, value=value, version=1, updated_at=now
                ).on_conflict_do_nothing(index_elements=[records.c.kind, records.c.key])
            else:
                # The version check sits in the UPDATE's WHERE: of two racing writers, one matches no row.
                statement = update(records).where(
                    records.c.kind == kind, records.c.key == key, records.c.version == expected_version
                ).values(value=value, version=expected_version + 1, updated_at=now)
            if conn.execute(statement).rowcount != 1:
                raise StaleVersion(kind, key, expected_version)
            return Versioned(value, 1 if expected_version is None else expected_version + 1)

        return await self._db.transaction(write)

    async def update(
        self, kind: str, key: str, fn: Callable[[dict[str, Any] | None], dict[str, Any]], retries: int = 10
    ) -> Versioned:
        """Read, apply `fn` (None when the record is new), write; on a lost race read again and retry.

        `fn` may run several times, so it must be a pure function of what it is given.
        """
        for attempt in range(retries + 1):
            current = await self.get(kind, key)
            value = fn(None if current is None else current.value)
            try:
                return await self.put(kind, key, value, None if current is None else current.version)
            except StaleVersion:
                if attempt == retries:
                    raise
                await after_lost_race(attempt)
        raise AssertionError("unreachable")

    async def delete(self, kind: str, key: str) -> bool:
        statement = delete(records).where(records.c.kind == kind, records.c.key == key)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)


async def after_lost_race(attempt: int) -> None:
    """Wait before writing again after a StaleVersion: jittered, so racing writers stop colliding in lockstep."""
    await asyncio.sleep(_JITTER.uniform(0, 0.002 * 2 ** min(attempt, 6)))
