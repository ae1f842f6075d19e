"""Schema migrations: a database jobbot 0.1.0 created is upgraded with its data intact, on SQLite and
PostgreSQL; the models and the migrations agree; and a store not at this jobbot's schema is said so."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from bot.doctor.model import Status
from bot.doctor.store import store_findings
from bot.settings import Settings
from bot.store import Store, StoreUnavailable
from bot.store.engine import create_store_engine, database_url
from bot.store.migrate import head_revision, migrate, schema_state
from bot.store.schema import SCHEMA_VERSION, meta, metadata
from tests.fixtures.store import schema_0_1_0 as old

ROOT = Path(__file__).resolve().parents[1]
AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def made_by_0_1_0(url: str) -> None:
    """A store as 0.1.0 left it: its tables, schema_version 1, no alembic_version, and some of everything."""
    engine = create_store_engine(database_url(url))
    try:
        old.create_as_0_1_0(engine)
        with engine.begin() as conn:
            conn.execute(old.audit.insert().values(at=AT, actor="U0ONCALL", channel="C0INC", action="triage",
                                                   target="orders-processor", detail="oom", outcome="ok",
                                                   duration_ms=1234))
            conn.execute(old.claims.insert().values(kind="alert", key="a1", owner="replica-1", claimed_at=AT,
                                                    expires_at=None))
            conn.execute(old.records.insert().values(kind="checklist", key="t1", value={"done": [1, 2]},
                                                     version=3, updated_at=AT))
            conn.execute(old.timers.insert().values(kind="alerts.work", key="thread-1", id="timer-1",
                                                    due_at=AT - timedelta(minutes=1), payload={"n": 1}, owner=None,
                                                    claimed_at=None))
    finally:
        engine.dispose()


async def test_a_0_1_0_store_is_upgraded_with_its_data_intact(db_url: str) -> None:
    made_by_0_1_0(db_url)
    engine = create_store_engine(database_url(db_url))
    try:
        assert schema_state(engine).legacy
    finally:
        engine.dispose()
    with Store.open(db_url) as store:  # what `jobbot serve` does at start-up
        assert (await store.records.get("checklist", "t1")).value == {"done": [1, 2]}  # type: ignore[union-attr]
        assert await store.claims.holder("alert", "a1") == "replica-1"
        [entry] = await store.audit.recent(limit=5)
        assert (entry.actor, entry.target, entry.duration_ms, entry.at) == ("U0ONCALL", "orders-processor", 1234, AT)
        [timer] = await store.timers.due(AT, "replica-2", limit=5, kinds=["alerts.work"])
        assert (timer.key, timer.payload) == ("thread-1", {"n": 1})
    engine = create_store_engine(database_url(db_url))
    try:
        state = schema_state(engine)
        assert state.at_head and state.current == head_revision()
        with engine.connect() as conn:
            indexes = {i["name"] for i in inspect(conn).get_indexes("jobbot_timers")}
            assert "ix_jobbot_timers_kind_due_at" in indexes  # migration 0002 ran
            assert conn.scalar(select(meta.c.value)) == str(SCHEMA_VERSION)
    finally:
        engine.dispose()


def test_the_models_and_the_migrations_agree(db_url: str) -> None:
    """A new database migrated to head has exactly the tables, columns and indexes bot/store/schema.py says."""
    engine = create_store_engine(database_url(db_url))
    try:
        migrate(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()


def test_with_migrations_off_an_old_store_is_refused_naming_the_command(db_url: str) -> None:
    made_by_0_1_0(db_url)
    with pytest.raises(StoreUnavailable, match="jobbot migrate"):
        Store.open(db_url, migrate=False)


async def test_the_doctor_names_an_old_schema_and_its_fix_without_upgrading_it(db_url: str) -> None:
    made_by_0_1_0(db_url)
    [finding] = await store_findings(Settings(database_url=db_url))
    assert finding.status == Status.FAIL and "0.1.0" in finding.detail and "jobbot migrate" in finding.fix
    engine = create_store_engine(database_url(db_url))
    try:
        assert schema_state(engine).legacy  # still as it was
    finally:
        engine.dispose()
    migrate_engine = create_store_engine(database_url(db_url))
    try:
        migrate(migrate_engine)
    finally:
        migrate_engine.dispose()
    found = await store_findings(Settings(database_url=db_url))
    assert [f.status for f in found] == [Status.OK, Status.OK]


def test_jobbot_migrate_upgrades_once_then_says_it_is_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobbot.db'}"
    made_by_0_1_0(url)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update({"JOBBOT_DATABASE_URL": url, "PYTHONPATH": str(ROOT)})

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "migrate"], env=env, capture_output=True, text=True,
                              timeout=120, check=False, cwd=tmp_path)

    first, second = run(), run()
    assert first.returncode == 0, first.stderr
    assert f"was made by jobbot 0.1.0 (no revision), this jobbot expects {head_revision()}" in first.stdout
    assert f"now at {head_revision()}" in first.stdout
    assert second.returncode == 0 and f"already at schema {head_revision()}" in second.stdout
