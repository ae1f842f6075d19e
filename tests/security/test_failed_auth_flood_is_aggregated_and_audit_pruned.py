"""Attack: 10,000 requests with a bad token at the alert webhook. Each used to write an audit row, kept for
ever, and the table's growth slowed real alerts. Failed authentication is audited once per window with a
count, and the audit trail is pruned to its retention (`audit.retention_days`, default 90)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.alerts.intake import FAILED_AUTH_WINDOW_S, Webhook
from bot.config import parse_config
from bot.emulator.scenario import load_scenario
from bot.server import create_app
from bot.settings import Settings
from bot.store import AuditEntry, Store
from tests.support.served import served
from tests.support.slack_fake import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = ROOT / "scenarios" / "healthy.yaml"


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_bad_tokens_writes_one_audit_row_per_window_with_a_count() -> None:
    rows: list[dict[str, Any]] = []

    async def audit(**fields: Any) -> None:
        rows.append(fields)

    async def accept(body: dict[str, Any]) -> str:
        raise AssertionError("nothing is accepted without the token")

    clock = Ticker()
    webhook = Webhook(token="alert-token-6c1f0e2b9a", accept=accept, audit=audit, monotonic=clock)

    async def endpoint(request: Request) -> Response:
        return await webhook(request)

    app = Starlette(routes=[Route("/alerts/azure-monitor", endpoint, methods=["POST"])])

    async def flood(n: int) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return [(await client.post("/alerts/azure-monitor", params={"token": f"guess-{i}"}, content=b"{}"))
                    .status_code for i in range(n)]

    assert set(asyncio.run(flood(2000))) == {401}
    assert len(rows) == 1
    clock.now += FAILED_AUTH_WINDOW_S + 1
    assert set(asyncio.run(flood(10))) == {401}
    assert len(rows) == 2
    assert "1999 more" in rows[1]["detail"] and all("guess-" not in r["detail"] for r in rows)


def test_audit_rows_older_than_the_retention_are_pruned_when_serving(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    # Audit rows are dated by the bot's clock: in scenario mode, the scenario's `now`.
    now = load_scenario(HEALTHY).now

    def entry(age_days: float, actor: str) -> AuditEntry:
        return AuditEntry(at=now - timedelta(days=age_days), actor=actor, channel=None, action="command:help",
                          target=None, detail="", outcome="ok", duration_ms=1)

    async def fill() -> None:
        with Store.open(db) as store:
            for age, actor in ((400, "U0ANCIENT"), (31, "U0OLD"), (1, "U0RECENT")):
                await store.audit.record(entry(age, actor))

    async def actors() -> set[str]:
        with Store.open(db) as store:
            return {e.actor for e in await store.audit.recent(100)}

    asyncio.run(fill())
    with FakeSlack.in_thread() as slack:
        settings = Settings(slack_bot_token="xoxb-1111-2222-jobbottesttoken",
                            slack_signing_secret="8f14e45fceea167a5a36dedd4bea2543", slack_api_url=slack.api_url,
                            scenario=HEALTHY, database_url=db)
        with served(create_app(settings, parse_config({"audit": {"retention_days": 30}}))):
            deadline = time.monotonic() + 10
            while "U0OLD" in asyncio.run(actors()):
                assert time.monotonic() < deadline, "old rows pruned at start"
                time.sleep(0.2)
    assert asyncio.run(actors()) == {"U0RECENT"}
    assert parse_config({}).audit_retention_days == 90
