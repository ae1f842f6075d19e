"""The intake's side of a storm: deliveries stored together and each answered with its own id, a failed
commit answered 503 for every delivery in it (nothing half-stored), background work giving way to the
webhook, and the SQLite store's turns (urgent first) and WAL mode. Speed itself is bench/alerts_bench.py's."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.routing import Route

from bot.alerts.inbox import DeliveryInbox
from bot.alerts.intake import Webhook
from bot.alerts.pressure import IntakeLoad
from bot.alerts.storage import DELIVERY
from bot.clock import SystemClock
from bot.store import Store, StoreUnavailable
from bot.store.engine import WriterTurn
from bot.store.schema import timers
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert
from tests.support.db import sqlite_url


def stored_deliveries(store: Store) -> dict[str, dict[str, Any]]:
    engine = store._db.engine
    with engine.connect() as conn:
        rows = conn.execute(timers.select().where(timers.c.kind == DELIVERY)).all()
    return {row.key: row.payload for row in rows}


async def test_a_burst_of_deliveries_is_stored_once_each_and_each_gets_its_own_id(tmp_path: Path) -> None:
    with Store.open(sqlite_url(tmp_path / "jobbot.db")) as store:
        commits: list[int] = []
        add = store.timers.add

        async def counted(kind: str, entries: Any, due_at: Any, **kw: Any) -> None:
            commits.append(len(entries))
            await add(kind, entries, due_at, **kw)

        store.timers.add = counted  # type: ignore[method-assign]
        woken: list[int] = []
        inbox = DeliveryInbox(store, SystemClock(), stored=lambda: woken.append(1))
        bodies = [metric_alert(alert_id(f"burst-{i}"), "rule", job_id("orders-00")) for i in range(60)]
        ids = await asyncio.gather(*(inbox.put(body) for body in bodies))
        assert len(set(ids)) == 60
        stored = stored_deliveries(store)
        assert {k: v["body"]["data"]["essentials"]["alertId"] for k, v in stored.items()} == {
            ident: body["data"]["essentials"]["alertId"] for ident, body in zip(ids, bodies, strict=True)}
        assert sum(commits) == 60 and len(commits) < 60, "requests that wait together are committed together"
        assert woken, "the worker is told"


async def test_when_a_commit_fails_every_delivery_in_it_is_refused_and_none_is_stored(tmp_path: Path) -> None:
    with Store.open(sqlite_url(tmp_path / "jobbot.db")) as store:
        add = store.timers.add
        failing = {"left": 1}

        async def flaky(kind: str, entries: Any, due_at: Any, **kw: Any) -> None:
            if failing["left"]:
                failing["left"] -= 1
                raise StoreUnavailable("store down")
            await add(kind, entries, due_at, **kw)

        store.timers.add = flaky  # type: ignore[method-assign]
        inbox = DeliveryInbox(store, SystemClock())
        first = await asyncio.gather(*(inbox.put({"n": i}) for i in range(5)), return_exceptions=True)
        assert all(isinstance(r, StoreUnavailable) for r in first), "each request answers 503: Azure retries"
        assert stored_deliveries(store) == {}
        again = await asyncio.gather(*(inbox.put({"n": i}) for i in range(5)))
        assert set(stored_deliveries(store)) == set(again), "the retries are stored"


async def test_background_work_waits_while_the_webhook_answers_and_not_longer_than_its_bound() -> None:
    load = IntakeLoad(settle_s=0.05, max_wait_s=30)
    steps: list[str] = []

    async def background() -> None:
        await load.give_way()
        steps.append("background ran")

    with load.answer():
        waiting = asyncio.create_task(background())
        await asyncio.sleep(0.2)
        assert steps == [], "not while a delivery is being answered"
        steps.append("answered")
    await waiting
    assert steps == ["answered", "background ran"]

    bounded = IntakeLoad(settle_s=0.05, max_wait_s=0.1)
    with bounded.answer():  # a webhook that never rests still leaves the background its turn
        await asyncio.wait_for(bounded.give_way(), 30)


async def test_only_deliveries_with_the_token_hold_the_background_work_back() -> None:
    load = IntakeLoad(settle_s=30, max_wait_s=30)

    async def accept(body: dict[str, Any]) -> str:
        return "d1"

    async def audit(**_: Any) -> None:
        return None

    webhook = Webhook(token="secret-token-123", accept=accept, audit=audit, load=load)
    app = Starlette(routes=[Route("/hook", webhook.__call__, methods=["POST"])])
    body = metric_alert(alert_id("held"), "r", job_id("orders-00"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        for _ in range(20):
            assert (await http.post("/hook", params={"token": "wrong"}, json=body)).status_code == 401
        await asyncio.wait_for(load.give_way(), 5)  # a flood without the token holds nothing back
        assert (await http.post("/hook", params={"token": "secret-token-123"}, json=body)).status_code == 202
    with pytest.raises(TimeoutError):  # an accepted delivery does: the background waits for the burst to end
        await asyncio.wait_for(load.give_way(), 0.2)


async def test_with_no_delivery_in_sight_background_work_does_not_wait() -> None:
    load = IntakeLoad(settle_s=30, max_wait_s=30)
    await asyncio.wait_for(load.give_way(), 5)


def test_an_urgent_transaction_takes_the_next_turn_ahead_of_those_already_waiting() -> None:
    turn = WriterTurn()
    order: list[str] = []

    def take(name: str, urgent: bool) -> None:
        with turn.held(urgent):
            order.append(name)

    with turn.held(False):
        threads = [threading.Thread(target=take, args=(f"background-{i}", False)) for i in range(3)]
        for thread in threads:
            thread.start()
        while len(turn._changed._waiters) < 3:  # type: ignore[attr-defined]
            time.sleep(0.001)
        urgent = threading.Thread(target=take, args=("webhook", True))
        urgent.start()
        while len(turn._changed._waiters) < 4:  # type: ignore[attr-defined]
            time.sleep(0.001)
    for thread in [*threads, urgent]:
        thread.join(10)
    assert order[0] == "webhook" and sorted(order[1:]) == ["background-0", "background-1", "background-2"]


def test_a_sqlite_file_store_runs_in_wal_mode(tmp_path: Path) -> None:
    with Store.open(sqlite_url(tmp_path / "jobbot.db")) as store, store._db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_store_still_opens(url: str) -> None:
    with Store.open(url) as store, store._db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "memory"
