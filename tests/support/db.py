"""Databases for store tests: a SQLite file, or a throwaway database on the local PostgreSQL server.

The PostgreSQL server is `JOBBOT_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`,
trust auth). Each test session creates one uniquely named database there and drops it at the end. When the
server is not reachable, PostgreSQL tests are skipped with "PostgreSQL not reachable at host:port" — unless
`JOBBOT_REQUIRE_POSTGRES=1` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, or_, select, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from bot.store import AuditEntry, Store
from bot.store.engine import create_store_engine, database_url
from bot.store.schema import metadata, timers

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT_S = 3


@dataclass(frozen=True)
class PostgresServer:
    admin_url: URL  # a database to connect to for CREATE/DROP DATABASE
    required: bool  # fail instead of skip when unreachable

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> PostgresServer:
        url = database_url(environ.get("JOBBOT_TEST_POSTGRES_URL") or DEFAULT_SERVER_URL)
        return cls(admin_url=url, required=environ.get("JOBBOT_REQUIRE_POSTGRES") == "1")

    @property
    def where(self) -> str:
        return f"{self.admin_url.host or 'localhost'}:{self.admin_url.port or 5432}"

    def unreachable_reason(self) -> str | None:
        """None when the server answers; otherwise why not."""
        engine = self._admin_engine()
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as error:
            return str(error).splitlines()[0]
        finally:
            engine.dispose()
        return None

    def require(self) -> None:
        """Skip the test (or fail it, when PostgreSQL is required) unless the server answers."""
        reason = self.unreachable_reason()
        if reason is None:
            return
        message = f"PostgreSQL not reachable at {self.where}"
        if self.required:
            pytest.fail(f"{message} and JOBBOT_REQUIRE_POSTGRES=1: {reason}", pytrace=False)
        pytest.skip(message)

    @contextlib.contextmanager
    def temporary_database(self, prefix: str = "jobbot_test") -> Iterator[str]:
        """A new empty database, dropped on exit; yields its URL as `JOBBOT_DATABASE_URL` would give it."""
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        engine = self._admin_engine()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                # As an operator would write it: plain postgresql://, which the store maps to psycopg 3.
                yield self.admin_url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
            finally:
                with engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    def _admin_engine(self) -> Engine:
        return create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )


def sqlite_url(path: os.PathLike[str] | str) -> str:
    return f"sqlite:///{os.fspath(path)}"


def drop_store_tables(url: str) -> None:
    """Leave the database as a new user's would be: no store tables at all."""
    engine = create_store_engine(database_url(url))
    try:
        metadata.drop_all(engine)
        with engine.begin() as conn:  # and the record of which migrations ran
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


def owed_timers(url: str, kinds: Iterable[str], now: datetime | None = None) -> list[tuple[str, str]]:
    """(kind, key) of the timers of `kinds` that stand for work owed now: due by `now` (default: the system
    clock, which replicas in scenario mode schedule on) or claimed and not yet settled. Timers due later
    and unclaimed (a watchdog, an escalation tier) are not owed yet. Read-only, as an operator would look:
    when none is left, no replica has anything of these kinds to do."""
    moment = now or datetime.now(UTC)
    engine = create_store_engine(database_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(timers.c.kind, timers.c.key).where(
                timers.c.kind.in_(list(kinds)), or_(timers.c.owner.is_not(None), timers.c.due_at <= moment)))
            return [(row.kind, row.key) for row in rows]
    finally:
        engine.dispose()


def audit_trail(url: str, limit: int = 10_000) -> list[AuditEntry]:
    """The audit trail, newest first, as another process reads it (sync: for tests driving a served app)."""
    store = Store.open(url)
    try:
        return asyncio.run(store.audit.recent(limit))
    finally:
        store.close()
