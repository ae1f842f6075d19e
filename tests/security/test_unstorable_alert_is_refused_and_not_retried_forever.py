"""Attack: an alert whose alertId / alertRuleId holds a lone surrogate (`"\\ud800"`: valid JSON, not valid
Unicode). It used to be accepted, then fail in the store and be retried every 5 s without end. It must be
refused with 400 before anything is stored; and any delivery that keeps failing is retried with backoff,
then parked as failed (logged, shown in /readyz), never retried forever."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.alerts.intake import Webhook
from bot.alerts.storage import DELIVERY
from bot.alerts.worker import TimerWorker
from bot.store import Store, Timer
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert

TOKEN = "alert-token-6c1f0e2b9a"


def _webhook_app(stored: list[dict[str, Any]]) -> Starlette:
    async def accept(body: dict[str, Any]) -> str:
        stored.append(body)
        return "d1"

    async def audit(**_: Any) -> None:
        return None

    webhook = Webhook(token=TOKEN, accept=accept, audit=audit)

    async def endpoint(request: Request) -> Response:
        return await webhook(request)

    return Starlette(routes=[Route("/alerts/azure-monitor", endpoint, methods=["POST"])])


@pytest.mark.parametrize("field", ["alertId", "alertRuleId", "description"])
def test_a_lone_surrogate_is_refused_with_400_before_anything_is_stored(field: str) -> None:
    stored: list[dict[str, Any]] = []
    body = metric_alert(alert_id("surrogate"), "rule", job_id("orders-00"))
    body["data"]["essentials"][field] = "/subscriptions/x/alerts/\ud800bad"
    raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as the escape `\ud800`
    assert b"\\ud800" in raw

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=_webhook_app(stored))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post("/alerts/azure-monitor", params={"token": TOKEN}, content=raw)

    response = asyncio.run(send())
    assert response.status_code == 400 and "Traceback" not in response.text
    assert stored == []


@dataclass
class Stepping:
    instant: datetime

    def now(self) -> datetime:
        return self.instant


def test_a_delivery_that_always_fails_is_parked_after_its_attempts_not_retried_forever(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from bot.alerts.feature import DELIVERY_ATTEMPTS

    calls: list[str] = []

    async def always_fails(timer: Timer) -> datetime | None:
        calls.append(timer.key)
        assert "_attempts" not in timer.payload
        raise RuntimeError("cannot be processed")

    async def run() -> list[Any]:
        store = Store.open(f"sqlite:///{tmp_path / 'j.db'}")
        try:
            clock = Stepping(datetime(2026, 12, 1, tzinfo=UTC))
            worker = TimerWorker(store, clock, "replica-1", {DELIVERY: always_fails}, lease_s=60,
                                 attempts={DELIVERY: DELIVERY_ATTEMPTS})
            await store.timers.schedule(DELIVERY, "poison", clock.now(), {"body": {"x": 1}})
            previous = clock.now()
            gaps: list[float] = []
            for _ in range(40):  # 40 hours of scheduler time: far beyond any backoff
                await worker.drain()
                clock.instant += timedelta(hours=1)
                due = await store.timers.due(clock.instant, "peek", kinds=[DELIVERY])
                for timer in due:  # give the peeked timer back as it was
                    await store.timers.schedule(timer.kind, timer.key, timer.due_at, timer.payload)
                    gaps.append((timer.due_at - previous).total_seconds())
                    previous = timer.due_at
            left = await store.timers.due(clock.instant + timedelta(days=30), "end", kinds=[DELIVERY])
            return [list(worker.parked), left, gaps]
        finally:
            store.close()

    with caplog.at_level(logging.ERROR, logger="bot.alerts.worker"):
        parked, left, gaps = asyncio.run(run())
    assert len(calls) == DELIVERY_ATTEMPTS
    assert left == [], "nothing is left to retry"
    assert [(p.kind, p.key, p.attempts) for p in parked] == [(DELIVERY, "poison", DELIVERY_ATTEMPTS)]
    assert any("parked" in r.getMessage() for r in caplog.records)
    assert gaps == sorted(gaps), "retries back off"
