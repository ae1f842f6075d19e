"""The state store features share: audit trail, claims, versioned records and timers, on SQLite or PostgreSQL.

    store = Store.open(os.environ.get("JOBBOT_DATABASE_URL"), secrets=[signing_secret, alert_token])
    await store.audit.record(AuditEntry(...))                   # redacted on the way in
    if await store.claims.claim("alert-post", alert_id, me):    # exactly one replica wins
        ...
    await store.records.update("checklist", thread_ts, tick)    # optimistic versioning, retried
    await store.timers.schedule("escalate", alert_id, due_at, {"level": 1})
    for timer in await store.timers.due(clock.now(), me): ...   # each timer fired by one replica only

Opening creates any missing table (no migration step). Every method is async; the SQL runs in worker
threads on a thread-safe sync engine (see `engine`). Claims and timers are correct across processes
sharing PostgreSQL, and across processes sharing one SQLite file (whose transactions are serialized).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock, SystemClock
from bot.store.audit import AuditEntry, AuditLog
from bot.store.engine import (
    DEFAULT_URL,
    Database,
    StaleVersion,
    StoreError,
    StoreUnavailable,
    create_schema,
    create_store_engine,
    database_url,
    safe_url,
)
from bot.store.redact import redact
from bot.store.schema import as_dict, claims, meta, records, timers

# Retry jitter from a generator of its own: the global `random` state belongs to whoever seeded it.
_JITTER = random.Random()

PING_TIMEOUT_S = 1.5  # /readyz must fail within 2 s when the database hangs

__all__ = [
    "DEFAULT_URL",
    "AuditEntry",
    "AuditLog",
    "Claims",
    "Records",
    "StaleVersion",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Timer",
    "Timers",
    "Versioned",
    "redact",
]


class Store:
    """One handle on the database; each replica (process) opens its own."""

    def __init__(self, engine: Engine, *, secrets: Iterable[str] = (), clock: Clock | None = None) -> None:
        self._db = Database(engine)
        self._ping: asyncio.Future[None] | None = None
        clock = clock or SystemClock()
        self.audit = AuditLog(self._db, tuple(secrets))
        self.claims = Claims(self._db, clock)
        self.records = Records(self._db, clock)
        self.timers = Timers(self._db)

    @classmethod
    def open(cls, url: str | None = None, *, secrets: Iterable[str] = (), clock: Clock | None = None) -> Store:
        """Connect to `url` (empty: `DEFAULT_URL`) and create missing tables.

        `secrets` are values never to be stored (they are redacted from the audit trail); `clock` dates
        claims and records (default: the system clock).
        """
        parsed = database_url(url)
        engine = create_store_engine(parsed)
        try:
            create_schema(engine)
        except StoreError:
            engine.dispose()
            raise
        except SQLAlchemyError as error:
            engine.dispose()
            reason = redact(str(error).splitlines()[0])
            raise StoreUnavailable(f"cannot open store {safe_url(parsed)}: {reason}") from error
        return cls(engine, secrets=secrets, clock=clock)

    async def ping(self, timeout_s: float = PING_TIMEOUT_S) -> None:
        """Raise `StoreUnavailable` unless the database takes a write within `timeout_s` (for /readyz).

        The write changes nothing (the schema version set to itself), but a read-only database or one that
        holds its write lock refuses it. One ping runs at a time: probes of a hung database wait on it
        rather than each taking another of the store's threads.
        """
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(self._db.transaction(_touch))
        try:
            await asyncio.wait_for(asyncio.shield(self._ping), timeout_s)
        except TimeoutError:
            raise StoreUnavailable(f"store did not answer within {timeout_s:g} s") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({safe_url(self._db.engine.url)!r})"


class Claims:
    """Exclusive (kind, key) → owner rows: the first claimant wins until it releases or its TTL runs out.

    Claiming again as the current owner returns False like any other loser: a claim means "this call
    won", so a repeated delivery handled by the same replica is not mistaken for a first one.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def claim(self, kind: str, key: str, owner: str, *, ttl_s: float | None = None) -> bool:
        """True if this call now holds (kind, key): it was free, or its holder's TTL has run out."""
        now = self._clock.now()
        expires_at = _expiry(now, ttl_s)

        def work(conn: Connection) -> bool:
            fresh = self._db.insert(claims).values(
                kind=kind, key=key, owner=owner, claimed_at=now, expires_at=expires_at
            ).on_conflict_do_nothing(index_elements=[claims.c.kind, claims.c.key])
            if conn.execute(fresh).rowcount == 1:
                return True
            # A concurrent taker blocks on the row lock, then re-checks the WHERE and finds it unexpired.
            takeover = update(claims).where(
                claims.c.kind == kind, claims.c.key == key,
                claims.c.expires_at.is_not(None), claims.c.expires_at <= now,
            ).values(owner=owner, claimed_at=now, expires_at=expires_at)
            return conn.execute(takeover).rowcount == 1

        return await self._db.transaction(work)

    async def renew(self, kind: str, key: str, owner: str, *, ttl_s: float | None) -> bool:
        """Extend (or, with None, drop) the TTL of a claim `owner` still holds; False if it lost it."""
        now = self._clock.now()
        expires_at = _expiry(now, ttl_s)
        statement = update(claims).where(
            claims.c.kind == kind, claims.c.key == key, claims.c.owner == owner
        ).values(expires_at=expires_at)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)

    async def release(self, kind: str, key: str, owner: str) -> bool:
        """Give up a claim `owner` holds; False if it held none."""
        statement = delete(claims).where(claims.c.kind == kind, claims.c.key == key, claims.c.owner == owner)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)

    async def holder(self, kind: str, key: str) -> str | None:
        """Who holds (kind, key) now; None if nobody, or the holder's TTL has run out."""
        now = self._clock.now()
        query = select(claims.c.owner).where(
            claims.c.kind == kind, claims.c.key == key,
            or_(claims.c.expires_at.is_(None), claims.c.expires_at > now),
        )
        found: str | None = await self._db.transaction(lambda conn: conn.scalar(query))
        return found


def _touch(conn: Connection) -> None:
    """A write that changes nothing: proves the database is reachable and writable."""
    conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=meta.c.value))


def _expiry(now: datetime, ttl_s: float | None) -> datetime | None:
    if ttl_s is None:
        return None
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
    return now + timedelta(seconds=ttl_s)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got {moment.isoformat()}")


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
                # Jittered backoff, so racing writers stop colliding in lockstep.
                await asyncio.sleep(_JITTER.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        raise AssertionError("unreachable")

    async def delete(self, kind: str, key: str) -> bool:
        statement = delete(records).where(records.c.kind == kind, records.c.key == key)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)


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

    async def done(self, timer_id: str) -> bool:
        """Remove a fired timer; False if it was rescheduled or cancelled meanwhile."""
        statement = delete(timers).where(timers.c.id == timer_id)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)

    async def cancel(self, kind: str, key: str) -> bool:
        statement = delete(timers).where(timers.c.kind == kind, timers.c.key == key)
        return await self._db.transaction(lambda conn: conn.execute(statement).rowcount == 1)
