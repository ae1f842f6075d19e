"""`Store`: one handle on the database (opened per replica), with the audit trail, claims, records and
timers on it, and the write probe /readyz uses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import TracebackType

from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock, SystemClock
from bot.store.audit import AuditLog
from bot.store.claims import Claims
from bot.store.engine import (
    Database,
    StoreError,
    StoreUnavailable,
    create_store_engine,
    database_url,
    safe_url,
)
from bot.store.migrate import migrate as upgrade
from bot.store.migrate import require_head
from bot.store.records import Records
from bot.store.redact import redact
from bot.store.schema import meta
from bot.store.snapshots import Snapshots
from bot.store.timers import Timers

PING_TIMEOUT_S = 1.5  # /readyz must fail within 2 s when the database hangs


class Store:
    """One handle on the database; each replica (process) opens its own."""

    def __init__(self, engine: Engine, *, secrets: Iterable[str] = (), clock: Clock | None = None) -> None:
        self._db = Database(engine)
        self._ping: asyncio.Future[None] | None = None
        clock = clock or SystemClock()
        secrets = tuple(secrets)
        self.audit = AuditLog(self._db, secrets)
        self.claims = Claims(self._db, clock)
        self.records = Records(self._db, clock)
        self.timers = Timers(self._db)
        self.snapshots = Snapshots(self._db, secrets)

    @classmethod
    def open(cls, url: str | None = None, *, secrets: Iterable[str] = (), clock: Clock | None = None,
             migrate: bool = True) -> Store:
        """Connect to `url` (empty: `DEFAULT_URL`) and bring its schema to this jobbot's (`migrate=False`:
        refuse one that is not there yet, naming `jobbot migrate`).

        `secrets` are values never to be stored (they are redacted from the audit trail and the review
        snapshots); `clock` dates claims and records (default: the system clock).
        """
        parsed = database_url(url)
        engine = create_store_engine(parsed)
        try:
            if migrate:
                upgrade(engine)
            else:
                require_head(engine)
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


def _touch(conn: Connection) -> None:
    """A write that changes nothing: proves the database is reachable and writable."""
    conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=meta.c.value))
