"""A flapping alert end to end: `jobbot serve` over real HTTP with the local Azure emulator and a fake
Slack. The same rule on the same job fires and resolves every few minutes, past the grouping window: the
channel gets one parent that says it is flapping, one note saying so, no note per firing and no
escalation started again; after a quiet half hour, a new firing is an alert like any other."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from bot.store import AuditEntry
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert, storm_world
from tests.support.db import audit_trail
from tests.support.served import Served, serving
from tests.support.slack_fake import FakeSlack

TOKEN = "alert-token-flap-4e1b7c"
BOT_TOKEN = "xoxb-1111-2222-flapping"
SECRET = "0f9e8d7c6b5a49382716a5b4c3d2e1f0"
CHANNEL = "C0ALERT00"
RULE = "flappy-executions"
T0 = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
ESCALATE_EVERY_S = 1.2  # two tiers: both would be due within the test, for every parent opened


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


class Bot:
    def __init__(self, app: Served, slack: FakeSlack, db: str) -> None:
        self.app, self.slack, self.db = app, slack, db
        self.http = httpx.Client(base_url=app.url, timeout=10, trust_env=False)

    def fire(self, n: int, minute: float) -> None:
        body = metric_alert(alert_id(f"flap-{n}"), RULE, job_id("orders-00"), fired=at(minute))
        assert self.http.post("/alerts/azure-monitor", params={"token": TOKEN}, json=body).status_code == 202
        self.app.quiet()  # processed before the next one: the thread's notes come in the order sent

    def resolve(self, n: int, fired: float, minute: float) -> None:
        body = metric_alert(alert_id(f"flap-{n}"), RULE, job_id("orders-00"), condition="Resolved",
                            fired=at(fired), resolved=at(minute))
        assert self.http.post("/alerts/azure-monitor", params={"token": TOKEN}, json=body).status_code == 202
        self.app.quiet()

    def audit(self) -> list[AuditEntry]:
        return audit_trail(self.db)

    def parents(self) -> list[dict[str, Any]]:
        found = [m for (ch, ts), m in self.slack.messages.items()
                 if ch == CHANNEL and m.get("thread_ts", ts) == ts and RULE in m.get("text", "")]
        return sorted(found, key=lambda m: m["ts"])


@pytest.fixture
def bot(tmp_path: Any) -> Iterator[Bot]:
    world = storm_world(tmp_path, jobs=1, logs_for=1, escalate_after_min=ESCALATE_EVERY_S / 60,
                        extra_config={"alerts": {"group_window_min": 30, "flap_count": 3, "flap_window_min": 30}})
    with FakeSlack.in_thread() as slack:
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            scenario=world.scenario, database_url=f"sqlite:///{tmp_path / 'jobbot.db'}",
                            alert_token=TOKEN)
        with serving(create_app(settings, parse_config(world.config))) as app:
            yield Bot(app, slack, settings.database_url)


def test_a_flapping_alert_has_one_parent_one_note_and_no_escalation_started_again(bot: Bot) -> None:
    # Fires every 8 minutes, resolves 4 minutes later; the fifth firing is past the 30-minute group window.
    for n, fired in enumerate((0, 8, 16, 24), start=1):
        bot.fire(n, fired)
        bot.resolve(n, fired, fired + 4)
    bot.fire(5, 32)
    parent = bot.slack.wait_for_sync(lambda: next(iter(bot.parents()), None))
    flapping = bot.slack.wait_for_sync(
        lambda: "flapping: fired 4 times in 30 min" in json.dumps(bot.slack.message(CHANNEL, parent["ts"])["blocks"]))
    assert flapping
    time.sleep(ESCALATE_EVERY_S * 3)  # every tier of every parent would have been called by now
    bot.app.quiet()

    assert len(bot.parents()) == 1, "one parent for the whole flapping run"
    notes = [m["text"] for m in bot.slack.thread(CHANNEL, parent["ts"])]
    assert sum("is flapping" in n for n in notes) == 1
    # Before it was flapping: the second firing and the first two resolves had their notes; after, none.
    assert sum("Grouped here" in n for n in notes) == 1
    assert sum("resolved" in n and "flapping" not in n for n in notes) == 2
    tiers = Counter(n.split("(escalation ")[1].split(")")[0] for n in notes if "(escalation " in n)
    assert all(count == 1 for count in tiers.values()), f"a tier called twice: {tiers}"
    everywhere = [m for (ch, _), m in bot.slack.messages.items() if ch == CHANNEL]
    assert all(m.get("thread_ts") == parent["ts"] for m in everywhere if "(escalation " in m.get("text", ""))
    deliveries = [e for e in bot.audit() if e.action == "alert:delivery" and e.actor == f"alert:{RULE}"]
    flapped = Counter(e.outcome for e in deliveries if "(flapping)" in e.detail)
    assert flapped == {"joined": 3, "resolved": 2}, "the audit trail says which deliveries were taken as flapping"
    assert Counter(e.outcome for e in deliveries if "(flapping)" not in e.detail) == {"opened": 1, "joined": 1,
                                                                                      "resolved": 2}

    # Quiet for more than the window: the next firing is an alert like any other, with a parent of its own.
    bot.fire(6, 32 + 35)
    second = bot.slack.wait_for_sync(lambda: bot.parents()[1] if len(bot.parents()) > 1 else None)
    assert alert_id("flap-6") in json.dumps(second["blocks"])
    assert "flapping" not in json.dumps(second["blocks"])
