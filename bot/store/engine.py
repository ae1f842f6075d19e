"""Where the store lives: the database URL, the engine, the schema (created if missing) and the errors.

SQLite (the default, `sqlite:///./jobbot.db`) suits one replica; several replicas share PostgreSQL
(`postgresql://…`, driven by psycopg 3). The store's API is async, but a small sync engine does the work
in worker threads: SQLAlchemy's sync engines are thread-safe, the SQL is short, and the same code serves
both databases.

SQLite transactions start with `BEGIN IMMEDIATE`: every transaction takes the write lock at once and
waits up to the busy timeout for it, so a read-then-write never deadlocks against another connection and
processes sharing the file are serialized. Within one process the store's threads take turns before they
ask SQLite (`WriterTurn`): SQLite's busy handler polls with sleeps growing to 100 ms, so eight threads
fighting through it wait seconds in a storm, where a queue waits one transaction each. A file database
runs in WAL mode: a commit appends to the log (one sync) instead of rewriting a journal and the file.

An urgent transaction (the alert webhook storing a delivery while Azure waits for the answer) has a
thread of its own and the next turn, so it never queues behind background work.

    StoreError(JobbotError)
    ├── StoreUnavailable   the database cannot be reached, or its schema is newer than this jobbot
    └── StaleVersion       a versioned write lost a race (re-read and try again)
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.pool import QueuePool

from bot.errors import ConfigError, JobbotError
from bot.store.redact import redact

DEFAULT_URL = "sqlite:///./jobbot.db"
SQLITE_BUSY_TIMEOUT_S = 30.0
# The store's own threads: a hung database blocks these, never the default executor that asyncio.to_thread
# and azure-core share (a triage must not wait on the audit trail).
STORE_THREADS = 8
PG_CONNECT_TIMEOUT_S = 5
PG_STATEMENT_TIMEOUT_MS = 10_000
POOL_TIMEOUT_S = 10.0
# pg_advisory_xact_lock key serializing schema creation between processes starting at once ("jobbot").
SCHEMA_LOCK_KEY = 0x6A6F62626F74

T = TypeVar("T")


class StoreError(JobbotError):
    """The state store failed; the message is safe to log (no credentials)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or used (down, wrong URL, schema from a newer jobbot)."""


class StaleVersion(StoreError):
    """A versioned write expected a version that is no longer current: someone else wrote first."""

    def __init__(self, kind: str, key: str, expected: int | None) -> None:
        self.kind, self.key, self.expected = kind, key, expected
        what = "to create it" if expected is None else f"version {expected}"
        super().__init__(f"{kind}/{key}: expected {what}, but it was changed by someone else")


def database_url(raw: str | None = None) -> URL:
    """Parse `JOBBOT_DATABASE_URL` (empty: the default), mapping `postgresql://` to psycopg 3."""
    given = (raw or "").strip() or DEFAULT_URL
    try:
        url = make_url(given)
    except ArgumentError:
        # The text may hold a password: never echo it.
        problem = "JOBBOT_DATABASE_URL is not a database URL (expected sqlite:///… or postgresql://…)"
        raise ConfigError([problem]) from None
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return url
    raise ConfigError([
        f"JOBBOT_DATABASE_URL uses {url.drivername!r}; the store supports sqlite:///path and postgresql://…"
    ])


def safe_url(url: URL) -> str:
    """The URL as it may be logged: password hidden."""
    return url.render_as_string(hide_password=True)


_COMMON: dict[str, Any] = {
    # A failed statement's message never carries the values it was given (they may be secrets).
    "hide_parameters": True,
    # INSERT … ON CONFLICT DO NOTHING tells who won by its rowcount, which SQLAlchemy drops by default.
    "execution_options": {"preserve_rowcount": True},
}


def create_store_engine(url: URL) -> Engine:
    """An engine for the store: busy-waiting SQLite transactions, or pre-pinged PostgreSQL connections."""
    if url.get_backend_name() != "sqlite":
        # Bounded at every step: connecting, waiting for a pooled connection, and each statement.
        return create_engine(url, pool_pre_ping=True, pool_timeout=POOL_TIMEOUT_S, **_COMMON,
                             connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S,
                                           "options": f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS}"})
    database = url.database or ""
    options: dict[str, Any] = {}
    if database in ("", ":memory:"):
        # One connection, handed to one thread at a time: every thread sees the same in-memory database.
        options = {"poolclass": QueuePool, "pool_size": 1, "max_overflow": 0}
    elif not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        **_COMMON,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        **options,
    )
    event.listen(engine, "connect", _sqlite_take_over_transactions)
    event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_take_over_transactions(dbapi_connection: Any, _record: Any) -> None:
    # Stop the sqlite3 module from issuing its own (deferred) BEGIN; `_sqlite_begin_immediate` does it.
    dbapi_connection.isolation_level = None
    # WAL (kept in the file once set; an in-memory database answers "memory" and stays as it is). The
    # default synchronous=FULL stays: a committed delivery survives a power cut, not only a crash.
    with contextlib.suppress(sqlite3.OperationalError):  # a read-only file: /readyz says it cannot write
        dbapi_connection.execute("PRAGMA journal_mode=WAL").fetchall()


def _sqlite_begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class WriterTurn:
    """One SQLite transaction at a time in this process, urgent ones first (a lock that queues fairly
    instead of SQLite's polling busy handler, which other processes sharing the file still go through)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._held = False
        self._urgent_waiting = 0

    @contextlib.contextmanager
    def held(self, urgent: bool) -> Iterator[None]:
        with self._changed:
            self._urgent_waiting += urgent
            try:
                self._changed.wait_for(lambda: not self._held and (urgent or not self._urgent_waiting))
            finally:
                self._urgent_waiting -= urgent
            self._held = True
        try:
            yield
        finally:
            with self._changed:
                self._held = False
                self._changed.notify_all()


class Database:
    """Runs short transactions of sync SQLAlchemy code in worker threads, for the async store API."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._executor = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="jobbot-store")
        self._urgent = ThreadPoolExecutor(1, thread_name_prefix="jobbot-store-urgent")
        self._turn = WriterTurn() if self.dialect == "sqlite" else None

    async def transaction(self, work: Callable[[Connection], T], *, urgent: bool = False) -> T:
        """Run `work` in one transaction (committed on return, rolled back on error) off the event loop.

        `urgent`: someone is waiting on the answer (see the module notes); keep such work to one short write.
        Raises `StoreUnavailable` when the database cannot be reached or stays locked.
        """
        executor = self._urgent if urgent else self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, self._transaction, work, urgent)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._urgent.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()

    def _transaction(self, work: Callable[[Connection], T], urgent: bool = False) -> T:
        turn = self._turn.held(urgent) if self._turn is not None else contextlib.nullcontext()
        try:
            with turn, self.engine.begin() as conn:
                return work(conn)
        except (OperationalError, InterfaceError) as error:
            # Connection lost, server down, SQLite busy past its timeout: the store, not the caller, failed.
            reason = redact(str(error).splitlines()[0])
            raise StoreUnavailable(f"store {safe_url(self.engine.url)} failed: {reason}") from error

    def insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that understands ON CONFLICT on this database."""
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)
