"""Fixtures the whole suite shares.

    no_proxy          (automatic) no proxy variable: test traffic stays on loopback
    db_url            an empty store database, once on SQLite and once on PostgreSQL (`postgres` marker;
                      skipped without a reachable server, failed instead when JOBBOT_REQUIRE_POSTGRES=1)
    postgres_url      the same, PostgreSQL only
    clock             a `bot.clock.ManualClock` at T0 that the test moves with `advance(timedelta(...))`

Builders shared by several files are in tests/support/ (a fake Slack, signed requests, a served app and
its idle signal, databases, log capture) and tests/fixtures/ (alert payloads, scenario worlds, replicas).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bot.clock import ManualClock
from tests.support.db import PostgresServer, drop_store_tables, sqlite_url

# Hypothesis judges a property by its examples, never by their speed: its deadline and its too-slow check
# time the machine, and on a shared 2-core machine under load they fail tests whose code is fine.
settings.register_profile("jobbot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jobbot")

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The random order's seed, last, even with -q (pytest-randomly prints it only in the header)."""
    seed = getattr(config.option, "randomly_seed", None)
    if config.pluginmanager.hasplugin("randomly") and isinstance(seed, int):
        terminalreporter.write_line(f"tests ran in random order: --randomly-seed={seed} replays it")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One fresh database on the local PostgreSQL server for the whole session, dropped at the end."""
    server = PostgresServer.from_environ()
    server.require()
    with server.temporary_database() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """The session's PostgreSQL database with no store tables, as a new user's would be (dropped again after)."""
    drop_store_tables(postgres_database)
    yield postgres_database
    drop_store_tables(postgres_database)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no store tables), on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "state" / "jobbot.db")
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)
