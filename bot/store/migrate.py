"""Schema migrations (Alembic): bring a store to the schema this jobbot expects, keeping its data.

`Store.open` runs them at start-up unless told not to (`JOBBOT_MIGRATE=0`); `jobbot migrate` runs them by
hand. A database jobbot 0.1.0 created has the tables but no `alembic_version`: it is recognised (by
`jobbot_meta.schema_version` 1) and recorded at the baseline revision, then upgraded like any other.
Several replicas starting at once take turns (a PostgreSQL advisory lock; SQLite serialises writers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, select, text

from bot.store.engine import SCHEMA_LOCK_KEY, StoreUnavailable
from bot.store.schema import SCHEMA_VERSION, meta

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema of jobbot 0.1.0 (schema_version 1)


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None  # the revision the database is at; None: empty (or 0.1.0, see `legacy`)
    head: str  # the revision this jobbot expects
    legacy: bool = False  # made by 0.1.0: tables without a revision

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.legacy:
            return f"made by jobbot 0.1.0 (no revision), this jobbot expects {self.head}"
        if self.current is None:
            return f"empty, this jobbot expects {self.head}"
        return f"at {self.current}" + ("" if self.at_head else f", this jobbot expects {self.head}")


def _config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise RuntimeError("no schema revisions found")
    return head


def _state(conn: Connection) -> SchemaState:
    current = MigrationContext.configure(conn).get_current_revision()
    head = head_revision()
    if current is not None:
        known = {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}
        if current not in known:
            raise StoreUnavailable(f"the database is at schema {current}, newer than this jobbot's {head}; "
                                   "upgrade jobbot")
        return SchemaState(current, head)
    if not inspect(conn).has_table(meta.name):
        return SchemaState(None, head)
    version = conn.scalar(select(meta.c.value).where(meta.c.key == "schema_version"))
    if version is not None and int(version) > 1:
        raise StoreUnavailable(f"the database holds schema version {version} without a revision, newer than "
                               "jobbot 0.1.0's; upgrade jobbot")
    return SchemaState(None, head, legacy=True)


def schema_state(engine: Engine) -> SchemaState:
    """Where the database stands, without changing it."""
    with engine.connect() as conn:
        return _state(conn)


def migrate(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Upgrade to the head revision; returns the state before and after."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Concurrent CREATE TABLE can collide in pg_type even with IF NOT EXISTS: replicas take turns.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        before = _state(conn)
        config = _config(conn)
        if before.legacy:
            command.stamp(config, BASELINE)
        if not before.at_head:
            command.upgrade(config, "head")
        # jobbot_meta keeps a plain number too, for tools that read it (and for 0.1.0, which refuses newer).
        found = conn.scalar(select(meta.c.value).where(meta.c.key == "schema_version"))
        if found is None:
            conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(found) > SCHEMA_VERSION:
            raise StoreUnavailable(f"the database holds schema version {found}, newer than this jobbot's "
                                   f"{SCHEMA_VERSION}; upgrade jobbot")
        elif int(found) < SCHEMA_VERSION:
            conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
        after = _state(conn)
    return before, after


def require_head(engine: Engine) -> None:
    """With migrations off at start-up: refuse a database that is not at this jobbot's schema."""
    state = schema_state(engine)
    if not state.at_head:
        raise StoreUnavailable(f"the store's schema is {state.describe()}: run `jobbot migrate`")
