"""Attack: a signed block_actions payload whose `channel.id` / `container` name another channel or message
than the one the button lives in (a button value copied into another message, a payload replayed from
elsewhere in the workspace), or a click by someone the access rules keep out. Such a click must change
nothing: no checklist step done, no alert acknowledged."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.checklists.actions import ActionId
from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from bot.store import Store
from tests.fixtures.alerts.payloads import alert_id, job_id, metric_alert, storm_world
from tests.support.served import served
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import block_actions_body, block_actions_payload, sign
from tests.test_checklist_flow import CHANNEL, ONCALL, running_bot

SECRET = "5d41402abc4b2a76b9719d911017c592"
ALERT_TOKEN = "alert-token-6c1f0e2b9a"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_a_checklist_click_from_another_channel_or_message_changes_nothing(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        assert bot.command("rollback orders-processor").status_code == 200
        bot.started()
        value = f"{bot.checklist}/lead"
        forged = [
            {"channel_id": "C0ELSEWHERE", "message_ts": bot.ts},           # another channel, the right ts
            {"channel_id": CHANNEL, "message_ts": "1700000000.000001"},     # the right channel, another message
        ]
        for n, origin in enumerate(forged):
            user = f"U0FORGER{n}"
            body = block_actions_body(ActionId.DONE.value, value, user_id=user,
                                      response_url=bot.slack.response_url(f"forged-{n}"), **origin)
            assert bot.post(body).status_code == 200
            told = bot.ephemeral_to(user, "does not belong to this message")
            assert told["channel"] == origin["channel_id"]
        # A payload whose two copies of the channel disagree was not built by Slack from one message.
        payload = block_actions_payload(ActionId.DONE.value, value, user_id="U0FORGER9", channel_id=CHANNEL,
                                        message_ts=bot.ts)
        payload["container"]["channel_id"] = "C0ELSEWHERE"
        assert bot.post(urlencode({"payload": json.dumps(payload)}).encode()).status_code == 200
        time.sleep(1.0)
        assert bot.step("lead").startswith(":white_large_square:"), "no forged click moved the checklist"
        # The genuine click on the checklist's own message still works.
        bot.click(ActionId.DONE, "lead", user=ONCALL)
        bot.wait_step("lead", "Done by <@U0ONCALL>")


class AlertBot:
    def __init__(self, url: str, slack: FakeSlack, db: str) -> None:
        self.slack, self.db = slack, db
        self.http = httpx.Client(base_url=url, timeout=10, trust_env=False)

    def click(self, ident: str, user: str, channel: str, ts: str) -> None:
        body = block_actions_body("jobbot.alert.ack", ident, user_id=user, channel_id=channel, message_ts=ts)
        response = self.http.post("/slack/events", content=body, headers={**sign(SECRET, body), "Content-Type": FORM})
        assert response.status_code == 200

    def outcomes(self) -> list[tuple[str, str]]:
        store = Store.open(self.db)
        try:
            entries = asyncio.run(store.audit.recent(200))
        finally:
            store.close()
        return sorted((e.actor, e.outcome) for e in entries if e.action == "click:ack-alert")


@pytest.fixture()
def alert_bot(tmp_path: Path) -> Iterator[AlertBot]:
    # Only the on-call engineer may acknowledge (access.commands.ack).
    world = storm_world(tmp_path, jobs=1, logs_for=0,
                        extra_config={"access": {"commands": {"ack": {"users": ["U0ONCALL"]}}}})
    db = f"sqlite:///{tmp_path / 'jobbot.db'}"
    with FakeSlack.in_thread() as slack:
        settings = Settings(slack_bot_token="xoxb-1111-2222-alertwebhook", slack_signing_secret=SECRET,
                            slack_api_url=slack.api_url, scenario=world.scenario, database_url=db,
                            alert_token=ALERT_TOKEN)
        with served(create_app(settings, parse_config(world.config))) as url:
            yield AlertBot(url, slack, db)


def test_an_alert_ack_from_another_channel_message_or_user_acknowledges_nothing(alert_bot: AlertBot) -> None:
    bot, slack = alert_bot, alert_bot.slack
    ident = alert_id("forged-ack")
    delivered = bot.http.post("/alerts/azure-monitor", params={"token": ALERT_TOKEN},
                              json=metric_alert(ident, "failed", job_id("orders-00")))
    assert delivered.status_code == 202

    def parent() -> dict[str, Any] | None:
        return next((m for (ch, _), m in slack.messages.items()
                     if ch == "C0ALERT00" and ident in json.dumps(m.get("blocks"))), None)

    ts = slack.wait_for_sync(parent, timeout=20)["ts"]
    bot.click(ident, "U0ONCALL", "C0ELSEWHERE", ts)          # the right user, another channel
    bot.click(ident, "U0ONCALL", "C0ALERT00", "1700000000.000001")  # another message
    bot.click(ident, "U0STRANGER", "C0ALERT00", ts)          # the right message, a user the rules keep out
    refused = slack.wait_for_sync(lambda: (lambda o: o if len(o) == 3 else None)(bot.outcomes()), timeout=20)
    assert refused == [("U0ONCALL", "refused"), ("U0ONCALL", "refused"), ("U0STRANGER", "refused")]
    assert "Acknowledged by" not in json.dumps(slack.message("C0ALERT00", ts)["blocks"])
    bot.click(ident, "U0ONCALL", "C0ALERT00", ts)
    slack.wait_for_sync(lambda: "Acknowledged by <@U0ONCALL>" in json.dumps(slack.message("C0ALERT00", ts)["blocks"])
                        or None, timeout=20)
