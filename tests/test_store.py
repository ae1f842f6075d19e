"""The state store, on SQLite and on PostgreSQL: schema, audit, redaction, claims, versioned records, timers.

Tests taking `db_url` run once per database. "Two replicas" are two `Store`s opened on the same URL: two
engines, two connection pools, as two processes would have. PostgreSQL is reached as described in
`tests/support/db.py` (skipped when absent, unless JOBBOT_REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

import asyncio
import base64
import string
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect, select, update

from bot.clock import ManualClock
from bot.errors import ConfigError
from bot.store import AuditEntry, StaleVersion, Store, StoreUnavailable, Versioned
from bot.store.engine import create_store_engine, database_url
from bot.store.redact import MARKER, MIN_SECRET_LENGTH, redact
from bot.store.schema import SCHEMA_VERSION, TABLES, audit, meta, records

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ALERT_TOKEN = "alert-token-0f3c9d27e1"


# --- databases ---------------------------------------------------------------------------------------------

@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url, secrets=[SIGNING_SECRET, ALERT_TOKEN]) as opened:
        yield opened


@pytest.fixture
def replicas(db_url: str) -> Iterator[tuple[Store, Store]]:
    with Store.open(db_url) as first, Store.open(db_url) as second:
        yield first, second


def table_names(url: str) -> set[str]:
    engine = create_store_engine(database_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# --- URLs and schema ---------------------------------------------------------------------------------------

def test_database_url_defaults_to_a_local_sqlite_file() -> None:
    assert database_url(None).render_as_string() == "sqlite:///./jobbot.db"
    assert database_url("  ").render_as_string() == "sqlite:///./jobbot.db"


@pytest.mark.parametrize("given_url", ["postgresql://u:pw@db:5432/jobbot", "postgres://u:pw@db:5432/jobbot",
                                       "postgresql+psycopg://u:pw@db:5432/jobbot"])
def test_postgresql_urls_are_driven_by_psycopg3(given_url: str) -> None:
    url = database_url(given_url)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.password) == ("db", 5432, "jobbot", "pw")


@pytest.mark.parametrize("given_url", ["mysql://u:hunter2secret@db/jobbot", "postgresql+asyncpg://u:hunter2secret@db/x",
                                       "not a url hunter2secret"])
def test_unsupported_database_urls_are_refused_without_echoing_the_password(given_url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        database_url(given_url)
    assert "JOBBOT_DATABASE_URL" in str(refused.value)
    assert "hunter2secret" not in str(refused.value)


def test_store_repr_hides_the_password() -> None:
    store = Store(create_store_engine(database_url("postgresql://jobbot:hunter2secret@127.0.0.1:1/x")))
    try:
        assert "hunter2secret" not in repr(store)
    finally:
        store.close()


async def test_first_open_creates_the_schema_without_a_migration_step(db_url: str) -> None:
    assert table_names(db_url) == set()
    with Store.open(db_url) as store:
        await store.ping()
    # The store's tables, and Alembic's record of the revision they are at.
    assert table_names(db_url) == {table.name for table in TABLES} | {"alembic_version"}


async def test_opening_again_keeps_the_schema_and_the_data(db_url: str) -> None:
    with Store.open(db_url) as first:
        await first.records.put("checklist", "t1", {"done": [1]}, None)
    with Store.open(db_url) as second, Store.open(db_url) as third:
        assert await second.records.get("checklist", "t1") == Versioned({"done": [1]}, 1)
        assert await third.records.get("checklist", "t1") == Versioned({"done": [1]}, 1)
    engine = create_store_engine(database_url(db_url))
    try:
        with engine.connect() as conn:
            assert conn.execute(select(meta.c.value)).scalars().all() == [str(SCHEMA_VERSION)]
    finally:
        engine.dispose()


def test_replicas_starting_at_once_all_open_the_store(db_url: str) -> None:
    def open_and_close(_: int) -> bool:
        Store.open(db_url).close()
        return True

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert all(pool.map(open_and_close, range(6)))
    assert table_names(db_url) == {table.name for table in TABLES} | {"alembic_version"}


def test_a_database_written_by_a_newer_jobbot_is_refused(db_url: str) -> None:
    Store.open(db_url).close()
    engine = create_store_engine(database_url(db_url))
    try:
        with engine.begin() as conn:
            conn.execute(update(meta).values(value=str(SCHEMA_VERSION + 1)))
    finally:
        engine.dispose()
    with pytest.raises(StoreUnavailable, match="newer than this jobbot"):
        Store.open(db_url)


async def test_an_unreachable_database_is_reported_without_its_password() -> None:
    store = Store(create_store_engine(database_url("postgresql://jobbot:hunter2secret@127.0.0.1:1/jobbot")))
    try:
        calls: list[Callable[[], Awaitable[object]]] = [
            store.ping, lambda: store.records.get("k", "k"), lambda: store.claims.claim("k", "k", "me"),
        ]
        for call in calls:
            with pytest.raises(StoreUnavailable) as unreachable:
                await call()
            assert "hunter2secret" not in str(unreachable.value)
            assert "127.0.0.1:1" in str(unreachable.value)
    finally:
        store.close()


def test_opening_an_unreachable_database_says_so() -> None:
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1:1") as unreachable:
        Store.open("postgresql://jobbot:hunter2secret@127.0.0.1:1/jobbot")
    assert "hunter2secret" not in str(unreachable.value)


async def test_an_in_memory_sqlite_store_is_one_database_for_every_thread() -> None:
    with Store.open("sqlite://") as store:
        await asyncio.gather(*(store.records.update("n", "k", lambda v: {"n": (v or {"n": 0})["n"] + 1})
                               for _ in range(5)))
        found = await store.records.get("n", "k")
        assert found is not None and found.value == {"n": 5}


# --- audit -------------------------------------------------------------------------------------------------

def entry(**changes: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "at": T0, "actor": "U0ALICE", "channel": "C0456", "action": "command:triage",
        "target": "orders-processor", "detail": "window 2h", "outcome": "ok", "duration_ms": 1840,
    }
    return AuditEntry(**(fields | changes))


async def test_audit_entries_come_back_newest_first_as_recorded(store: Store) -> None:
    first = entry()
    second = entry(at=T0 + timedelta(minutes=1), actor="U0BOB", channel=None, action="click:ack", target=None,
                   detail="", outcome="refused", duration_ms=3)
    await store.audit.record(first)
    await store.audit.record(second)
    assert await store.audit.recent() == [second, first]
    assert all(found.at.tzinfo is not None and found.at.utcoffset() == timedelta(0)
               for found in await store.audit.recent())


async def test_audit_can_be_narrowed_to_one_actor_or_target_and_limited(store: Store) -> None:
    for minute, (actor, target) in enumerate([("U1", "orders"), ("U2", "orders"), ("U1", "billing"), ("U1", "orders")]):
        await store.audit.record(entry(at=T0 + timedelta(minutes=minute), actor=actor, target=target))
    assert [e.at.minute - T0.minute for e in await store.audit.recent(actor="U1")] == [3, 2, 0]
    assert [e.at.minute - T0.minute for e in await store.audit.recent(actor="U1", target="orders")] == [3, 0]
    assert len(await store.audit.recent(limit=2)) == 2


async def test_audit_times_from_other_zones_are_stored_as_the_same_instant(store: Store) -> None:
    cet = datetime(2025, 3, 14, 10, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    await store.audit.record(entry(at=cet))
    (found,) = await store.audit.recent()
    assert found.at == cet and found.at.tzinfo == UTC


async def test_audit_refuses_naive_times(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.audit.record(entry(at=datetime(2025, 3, 14, 9, 30)))


async def test_no_secret_reaches_the_audit_table(store: Store, db_url: str) -> None:
    service_bus = ("Endpoint=sb://orders-ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
                   "SharedAccessKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo=")
    detail = f"replayed with {service_bus} after signature {SIGNING_SECRET} check; token xoxb-1234-5678-AbCdEfGh"
    stored = await store.audit.record(entry(detail=detail, target=f"orders?token={ALERT_TOKEN}"))

    engine = create_store_engine(database_url(db_url))
    try:
        with engine.connect() as conn:
            raw = " ".join(str(value) for row in conn.execute(select(audit)) for value in row)
    finally:
        engine.dispose()
    for secret in ["Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo=", SIGNING_SECRET, ALERT_TOKEN,
                   "xoxb-1234-5678-AbCdEfGh"]:
        assert secret not in raw
    assert "SharedAccessKeyName=RootManageSharedAccessKey" in raw  # the key's name is not a secret
    assert "orders-ns.servicebus.windows.net" in raw
    assert (await store.audit.recent())[0] == stored
    assert stored.detail.count(MARKER) == 3


async def test_long_audit_details_are_cut(store: Store) -> None:
    stored = await store.audit.record(entry(detail="x" * 10_000))
    assert len(stored.detail) == 4000 and stored.detail.endswith("…")


# --- claims ------------------------------------------------------------------------------------------------

async def test_exactly_one_of_twenty_concurrent_claims_across_two_replicas_wins(replicas: tuple[Store, Store]) -> None:
    results = await asyncio.gather(*(
        replicas[i % 2].claims.claim("alert-post", "alert-7f3a", f"replica{i % 2}-task{i}") for i in range(20)
    ))
    assert sum(results) == 1
    winner = f"replica{results.index(True) % 2}-task{results.index(True)}"
    assert await replicas[0].claims.holder("alert-post", "alert-7f3a") == winner


async def test_claims_on_different_keys_do_not_interfere(store: Store) -> None:
    assert await store.claims.claim("alert-post", "a", "me")
    assert await store.claims.claim("alert-post", "b", "me")
    assert await store.claims.claim("escalation", "a", "me")


async def test_a_repeated_claim_by_the_same_owner_is_not_a_second_win(store: Store) -> None:
    assert await store.claims.claim("alert-post", "a", "replica-1")
    assert not await store.claims.claim("alert-post", "a", "replica-1")


async def test_a_released_claim_can_be_claimed_again_but_only_its_owner_releases_it(store: Store) -> None:
    assert await store.claims.claim("lease", "k", "one")
    assert not await store.claims.release("lease", "k", "two")
    assert await store.claims.release("lease", "k", "one")
    assert await store.claims.holder("lease", "k") is None
    assert await store.claims.claim("lease", "k", "two")


async def test_an_expired_claim_is_taken_over_by_exactly_one_other_replica(db_url: str) -> None:
    clock = ManualClock(T0)
    with Store.open(db_url, clock=clock) as crashed, Store.open(db_url, clock=clock) as a, \
            Store.open(db_url, clock=clock) as b:
        assert await crashed.claims.claim("timer-poller", "leader", "crashed", ttl_s=30)
        clock.advance(timedelta(seconds=29))
        assert not await a.claims.claim("timer-poller", "leader", "a", ttl_s=30)
        clock.advance(timedelta(seconds=1))
        results = await asyncio.gather(*(
            (a, b)[i % 2].claims.claim("timer-poller", "leader", f"taker{i}", ttl_s=30) for i in range(10)
        ))
        assert sum(results) == 1
        assert await a.claims.holder("timer-poller", "leader") == f"taker{results.index(True)}"
        assert not await crashed.claims.renew("timer-poller", "leader", "crashed", ttl_s=30)


async def test_a_claim_without_ttl_never_expires_and_renewal_keeps_a_claim(db_url: str) -> None:
    clock = ManualClock(T0)
    with Store.open(db_url, clock=clock) as store:
        await claim_renew_and_outlive(store, clock)


async def claim_renew_and_outlive(store: Store, clock: ManualClock) -> None:
    assert await store.claims.claim("forever", "k", "one")
    assert await store.claims.claim("leased", "k", "one", ttl_s=10)
    clock.advance(timedelta(seconds=8))
    assert await store.claims.renew("leased", "k", "one", ttl_s=10)
    clock.advance(timedelta(seconds=8))
    assert not await store.claims.claim("leased", "k", "two")
    clock.advance(timedelta(seconds=10**6))
    assert not await store.claims.claim("forever", "k", "two")
    assert await store.claims.holder("forever", "k") == "one"


async def test_a_claim_ttl_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="positive"):
        await store.claims.claim("k", "k", "me", ttl_s=0)


# --- versioned records -------------------------------------------------------------------------------------

async def test_records_are_created_once_and_written_only_at_the_version_read(store: Store) -> None:
    assert await store.records.get("checklist", "1700000000.1234") is None
    created = await store.records.put("checklist", "1700000000.1234", {"steps": {"save": False}}, None)
    assert created == Versioned({"steps": {"save": False}}, 1)
    with pytest.raises(StaleVersion):
        await store.records.put("checklist", "1700000000.1234", {"steps": {}}, None)
    second = await store.records.put("checklist", "1700000000.1234", {"steps": {"save": True}}, 1)
    assert second.version == 2
    with pytest.raises(StaleVersion):
        await store.records.put("checklist", "1700000000.1234", {"steps": {"save": False}}, 1)
    with pytest.raises(StaleVersion):
        await store.records.put("checklist", "never-created", {"x": 1}, 3)
    assert await store.records.get("checklist", "1700000000.1234") == second


async def test_records_keep_nested_json_as_given(store: Store) -> None:
    value = {"ü": ["ä", 1, 2.5, True, None, {"deep": []}], "empty": {}, "text": "line\nbreak \"quoted\""}
    await store.records.put("k", "k", value, None)
    found = await store.records.get("k", "k")
    assert found is not None and found.value == value


async def test_ten_concurrent_updates_from_two_replicas_all_land(replicas: tuple[Store, Store]) -> None:
    def tick(step: int) -> Any:
        return lambda value: {"ticked": sorted([*(value or {"ticked": []})["ticked"], step])}

    results = await asyncio.gather(*(
        replicas[step % 2].records.update("checklist", "thread-1", tick(step)) for step in range(10)
    ))
    found = await replicas[0].records.get("checklist", "thread-1")
    assert found == Versioned({"ticked": list(range(10))}, 10)
    assert sorted(result.version for result in results) == list(range(1, 11))


async def test_an_update_that_keeps_losing_gives_up_with_stale_version(store: Store, db_url: str) -> None:
    await store.records.put("checklist", "t", {"n": 0}, None)
    rival = create_store_engine(database_url(db_url))

    def lose_the_race(value: dict[str, Any] | None) -> dict[str, Any]:
        # Another replica writes between our read and our write, every time.
        with rival.begin() as conn:
            conn.execute(update(records).values(version=records.c.version + 1))
        return {"n": 1}

    try:
        with pytest.raises(StaleVersion):
            await store.records.update("checklist", "t", lose_the_race, retries=2)
    finally:
        rival.dispose()
    found = await store.records.get("checklist", "t")
    assert found is not None and found.value == {"n": 0} and found.version == 4


async def test_deleting_a_record(store: Store) -> None:
    await store.records.put("k", "k", {}, None)
    assert await store.records.delete("k", "k")
    assert not await store.records.delete("k", "k")
    assert await store.records.get("k", "k") is None


# --- timers ------------------------------------------------------------------------------------------------

async def test_due_hands_out_due_timers_earliest_first_and_only_once(store: Store) -> None:
    late = await store.timers.schedule("escalate", "a2", T0 + timedelta(minutes=15), {"level": 2})
    early = await store.timers.schedule("escalate", "a1", T0 + timedelta(minutes=5), {"level": 1})
    await store.timers.schedule("escalate", "a3", T0 + timedelta(hours=1), {"level": 1})

    assert await store.timers.due(T0, "poller") == []
    assert await store.timers.due(T0 + timedelta(minutes=20), "poller") == [early, late]
    assert await store.timers.due(T0 + timedelta(minutes=20), "poller") == []  # claimed, not done yet
    assert await store.timers.done(early.id)
    assert not await store.timers.done(early.id)


async def test_due_respects_its_limit(store: Store) -> None:
    for n in range(5):
        await store.timers.schedule("t", f"k{n}", T0 + timedelta(seconds=n), {})
    assert [t.key for t in await store.timers.due(T0 + timedelta(minutes=1), "p", limit=2)] == ["k0", "k1"]
    assert [t.key for t in await store.timers.due(T0 + timedelta(minutes=1), "p", limit=10)] == ["k2", "k3", "k4"]


async def test_timers_survive_a_restart(db_url: str) -> None:
    with Store.open(db_url) as before:
        scheduled = await before.timers.schedule("escalate", "a1", T0, {"level": 1, "to": "<!subteam^S0LEAD>"})
    with Store.open(db_url) as after:
        assert await after.timers.due(T0, "poller") == [scheduled]


async def test_cancelled_timers_never_fire(store: Store) -> None:
    await store.timers.schedule("escalate", "a1", T0, {})
    assert await store.timers.cancel("escalate", "a1")
    assert not await store.timers.cancel("escalate", "a1")
    assert await store.timers.due(T0, "poller") == []


async def test_rescheduling_replaces_a_timer_even_while_it_fires(store: Store) -> None:
    first = await store.timers.schedule("escalate", "a1", T0, {"level": 1})
    assert await store.timers.due(T0, "poller") == [first]
    second = await store.timers.schedule("escalate", "a1", T0 + timedelta(minutes=15), {"level": 2})
    assert not await store.timers.done(first.id)  # the old firing finishing does not remove the new timer
    assert await store.timers.due(T0 + timedelta(minutes=15), "poller") == [second]


async def test_a_timer_claimed_by_a_crashed_poller_is_handed_out_again_after_its_lease(store: Store) -> None:
    timer = await store.timers.schedule("escalate", "a1", T0, {})
    assert await store.timers.due(T0, "crashed", lease_s=60) == [timer]
    assert await store.timers.due(T0 + timedelta(seconds=59), "other", lease_s=60) == []
    assert await store.timers.due(T0 + timedelta(seconds=60), "other", lease_s=60) == [timer]


async def test_two_replicas_polling_at_once_fire_each_timer_exactly_once(replicas: tuple[Store, Store]) -> None:
    scheduled = [await replicas[0].timers.schedule("escalate", f"alert-{n}", T0 + timedelta(seconds=n), {"n": n})
                 for n in range(40)]

    async def poll(store: Store, owner: str) -> list[str]:
        fired: list[str] = []
        while batch := await store.timers.due(T0 + timedelta(minutes=5), owner, limit=3):
            for timer in batch:
                fired.append(timer.id)
                await store.timers.done(timer.id)
        return fired

    per_poller = await asyncio.gather(*(poll(replicas[i % 2], f"poller-{i}") for i in range(6)))
    fired = [timer_id for ids in per_poller for timer_id in ids]
    assert sorted(fired) == sorted(timer.id for timer in scheduled)
    assert await replicas[1].timers.due(T0 + timedelta(days=1), "late") == []


async def test_timers_refuse_naive_times(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.timers.schedule("t", "k", datetime(2025, 1, 1), {})
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.timers.due(datetime(2025, 1, 1), "poller")


# --- redaction ---------------------------------------------------------------------------------------------

words = st.from_regex(r"[a-z][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True).filter(
    # Slack-token-shaped names are treated as tokens, and "bearer <long word>" as a bearer token.
    lambda name: not name.startswith(("xox", "xapp")) and name != "bearer"
)
arm_ids = st.builds(
    "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.App/jobs/{}".format, st.uuids().map(str), words, words
)
images = st.builds(
    "{}.azurecr.io/{}:{}.{}.{}".format, words, words, *(st.integers(0, 99),) * 3
) | st.builds("{}.azurecr.io/{}@sha256:{}".format, words, words, st.binary(min_size=32, max_size=32).map(bytes.hex))
timestamps = st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | st.datetimes().map(str)
ORDINARY = [
    "exit code 137 (OOMKilled)", "<@U0MGR>", "<!subteam^S0OWN>", "queue depth 1,234", "maxExecutions=10",
    "replicaTimeout=1800", "api-version=2024-03-01", "AccountName=ordersstore", "EndpointSuffix=core.windows.net",
    "SharedAccessKeyName=RootManageSharedAccessKey", "Endpoint=sb://orders-ns.servicebus.windows.net/",
    "ContainerAppConsoleLogs_CL | where ContainerJobName_s == 'orders-processor'", "command:triage", "click:ack",
    "https://portal.azure.com/#@contoso.onmicrosoft.com/resource/subscriptions/x/overview", "Authorization failed",
    "design=blue", "bearer of bad news", "C0456", "1700000000.123456", "cpu: 0.5, memory: 1Gi",
]
ordinary_pieces = words | arm_ids | images | timestamps | st.sampled_from(ORDINARY)
separators = st.sampled_from([" ", ", ", "\n", " | ", "; ", "\t"])


@st.composite
def ordinary_text(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(ordinary_pieces, max_size=8))
    return "".join(piece + draw(separators) for piece in pieces)


@given(ordinary_text())
def test_redaction_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text, [SIGNING_SECRET, ALERT_TOKEN]) == text


@given(st.text(), st.text(min_size=MIN_SECRET_LENGTH).filter(lambda s: s not in MARKER), st.text())
def test_a_known_secret_never_survives_redaction(before: str, secret: str, after: str) -> None:
    assert secret not in redact(before + secret + after, [secret])


@given(st.lists(st.text(min_size=MIN_SECRET_LENGTH).filter(lambda s: s not in MARKER), min_size=1, max_size=4),
       st.lists(st.text(), max_size=4))
def test_every_known_secret_goes_however_they_overlap(secrets: list[str], fillers: list[str]) -> None:
    text = "".join(f"{filler}{secret}{secret[: len(secret) // 2]}" for filler, secret in zip(fillers, secrets,
                                                                                               strict=False))
    text += "".join(secrets)
    result = redact(text, secrets)
    assert not any(secret in result for secret in secrets)


# Secret material that ordinary text cannot contain by chance (a fixed prefix, or long random bytes).
key_material = st.binary(min_size=32, max_size=64).map(lambda raw: base64.b64encode(raw).decode())
url_safe = st.binary(min_size=12, max_size=48).map(lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("="))
passwords = st.text(string.ascii_letters + string.digits + "!#$%*+-.=?^_~", min_size=4, max_size=30).map(
    lambda tail: "P!" + tail
)


@st.composite
def secret_shaped(draw: st.DrawFn) -> tuple[str, str]:
    """(text carrying a credential, the credential) in the shapes jobbot meets."""
    name, key, sig, pw = draw(words), draw(key_material), draw(url_safe), draw(passwords)
    jwt = "eyJ" + draw(url_safe) + "." + draw(url_safe) + "." + draw(url_safe)
    slack = f"{draw(st.sampled_from(['xoxb', 'xoxp', 'xoxa', 'xoxo', 'xoxs', 'xoxr', 'xapp']))}-1234-{sig}"
    shapes = [
        (f"DefaultEndpointsProtocol=https;AccountName={name};AccountKey={key};EndpointSuffix=core.windows.net", key),
        (f"Endpoint=sb://{name}.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={key}", key),
        (f"https://{name}.queue.core.windows.net/q?sv=2022-11-02&sp=r&se=2030-01-01&sig={quote(key, safe='')}",
         quote(key, safe="")),
        (f"SharedAccessSignature sr=https%3A%2F%2F{name}.servicebus.windows.net&sig={sig}&se=1700000000&skn=send", sig),
        (f"BlobEndpoint=https://{name}.blob.core.windows.net/;SharedAccessSignature=sv=2022&sig={sig}", sig),
        (f"Server=tcp:{name}.database.windows.net,1433;User ID=jobbot;Password={pw};Encrypt=true", pw),
        (f"host={name} user=jobbot pwd={pw} dbname=jobs", pw),
        (f"postgresql://jobbot:{pw}@{name}:5432/jobbot", pw),
        (f"Authorization: Bearer {sig}", sig),
        (f"Authorization: Bearer {jwt}", jwt),
        (f"id_token {jwt}", jwt),
        (slack, slack),
        (f'{{"client_secret": "{pw}"}}', pw),
        (f"SLACK_SIGNING_SECRET={pw}", pw),
    ]
    return draw(st.sampled_from(shapes))


@given(ordinary_text(), secret_shaped(), ordinary_text())
def test_secret_shaped_values_never_survive_redaction(before: str, carrier: tuple[str, str], after: str) -> None:
    text, secret = carrier
    result = redact(f"{before} {text} {after}")
    assert secret not in result
    assert result.startswith(before) and result.endswith(after)


@given(st.lists(st.one_of(st.text(), ordinary_pieces, secret_shaped().map(lambda pair: pair[0])), max_size=6),
       st.lists(st.text(), max_size=3))
def test_redaction_is_idempotent(pieces: list[str], secrets: list[str]) -> None:
    once = redact(" ".join(pieces), secrets)
    assert redact(once, secrets) == once


def test_values_too_short_to_be_secrets_are_not_masked() -> None:
    assert redact("orders job ok", ["ok", "orders"]) == "orders job ok"
    assert redact("ordersjob", ["ordersjob"]) == MARKER


async def test_timers_of_one_kind_are_never_claimed_by_a_poller_of_another(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'kinds.db'}")
    try:
        now = datetime(2026, 11, 28, 10, tzinfo=UTC)
        await store.timers.schedule("alerts.escalate", "a1", now - timedelta(minutes=1), {})
        await store.timers.schedule("checklist.recheck", "c1", now - timedelta(minutes=1), {})
        mine = await store.timers.due(now, "replica-1", kinds=["checklist.recheck"])
        assert [t.key for t in mine] == ["c1"]
        others = await store.timers.due(now, "replica-2", kinds=["alerts.escalate"])
        assert [t.key for t in others] == ["a1"]
    finally:
        store.close()
