"""`/jobbot status` end to end: a signed slash command over real HTTP against an emulated fleet, the board
posted in the channel worst first, its Triage button clicked as Slack clicks it (signed block_actions)
starting the triage `/jobbot triage JOB` runs, and the access rules of both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.config import parse_config
from bot.server import create_app
from bot.settings import Settings
from bot.slack.commands import help_text
from bot.slack.limits import check_blocks
from bot.status.board import TRIAGE_ACTION
from tests.support.db import audit_trail
from tests.support.fleet import UNREADABLE, fleet_world
from tests.support.served import serving
from tests.support.slack_bot import SlackBot
from tests.support.slack_fake import FakeSlack

SECRET = "92eb5ffee6ae2fec3ad71c777531578f"
TOKEN = "xoxb-1111-2222-jobbotstatustest"
CHANNEL = "C0FLEET"
# `status` for the on-call and the viewers; a triage (and so the board's Triage button) only for the on-call.
CONFIG = {"azure": {"check_deadline_s": 20},
          "access": {"commands": {"triage": {"user_groups": ["S0ONCALL"]},
                                  "status": {"user_groups": ["S0ONCALL", "S0VIEW"]}}}}
ONCALL, VIEWER, STRANGER = "U0ONCALL", "U0VIEWER", "U0STRANGER"


class Fleet:
    def __init__(self, user: SlackBot, app: Any, db: str) -> None:
        self.user, self.app, self.db = user, app, db

    def boards(self) -> dict[str, dict[str, Any]]:
        return {ts: {**m, "ts": ts, "channel": channel} for (channel, ts), m in self.user.slack.messages.items()
                if str(m.get("text", "")).startswith("jobbot status —")}

    def board(self, text: str, token: str, user: str = ONCALL) -> dict[str, Any]:
        """The board message a `/jobbot TEXT` posted in the channel (with its ts)."""
        before = set(self.boards())
        response = self.user.command(text, token=token, user=user)
        assert response.status_code == 200 and "Checking" in response.text
        found: dict[str, Any] = self.user.wait(
            lambda: next((m for ts, m in self.boards().items() if ts not in before), None), timeout=60)
        return found


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("status")
    db = f"sqlite:///{tmp / 'jobbot.db'}"
    with FakeSlack.in_thread(usergroups={"S0ONCALL": [ONCALL], "S0VIEW": [VIEWER]}) as slack:
        settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            scenario=fleet_world(tmp, jobs=4), database_url=db)
        with serving(create_app(settings, parse_config(CONFIG))) as app:
            yield Fleet(SlackBot(app.url, slack, SECRET, channel=CHANNEL, channel_name="fleet"), app, db)


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def test_the_board_lands_in_the_channel_worst_first_each_problem_with_a_triage_button(fleet: Fleet) -> None:
    message = fleet.board("status rg-orders", token="board")
    assert message["channel"] == CHANNEL
    blocks = blocks_of(message)
    assert check_blocks(blocks) == []
    assert "resource group rg-orders" in blocks[0]["text"]["text"]
    rows = [b for b in blocks if b.get("accessory")]
    assert all(b["accessory"]["action_id"] == TRIAGE_ACTION for b in rows)
    texts = [b["text"]["text"] for b in rows]
    assert [t.split("*")[1] for t in texts[-1:]] == [UNREADABLE]  # could-not-check after the failing jobs
    assert "could not check" in texts[-1]
    assert all(":red_circle:" in t and "12/14 executions failed" in t for t in texts[:-1])
    assert "customer-notifier" not in str(blocks)  # another resource group


def test_clicking_triage_on_the_board_posts_that_jobs_triage_report(fleet: Fleet) -> None:
    message = fleet.board("status", token="all")
    button = next(b["accessory"] for b in blocks_of(message)
                  if b.get("accessory") and "*orders-processor-02*" in b["text"]["text"])
    assert fleet.user.click(TRIAGE_ACTION, button["value"], message_ts=message["ts"], user=ONCALL).status_code == 200
    report = fleet.user.update_with("orders-processor-02", timeout=60)
    assert report["channel"] == CHANNEL and "oom" in str(report["blocks"])
    fleet.app.quiet()
    # The module's other tests click too, and are refused: the one click that triaged is this one.
    entries = [e for e in audit_trail(fleet.db) if e.action == "click:status-triage" and e.outcome == "ok"]
    assert [(e.actor, e.target, e.outcome) for e in entries] == [(ONCALL, "orders-processor-02", "ok")]


def test_status_obeys_its_access_rule(fleet: Fleet) -> None:
    refused = fleet.user.command("status", token="stranger", user=STRANGER)
    assert refused.status_code == 200 and ":no_entry:" in refused.text and "limited to" in refused.text


def test_a_click_by_someone_the_triage_rule_refuses_says_why_and_triages_nothing(fleet: Fleet) -> None:
    message = fleet.board("status", token="refused", user=VIEWER)
    button = next(b["accessory"] for b in blocks_of(message) if b.get("accessory"))
    fleet.app.quiet()
    updates = len(fleet.user.slack.calls_to("chat.update"))
    assert fleet.user.click(TRIAGE_ACTION, button["value"], message_ts=message["ts"], user=VIEWER).status_code == 200
    told = fleet.user.wait(lambda: next((e for e in fleet.user.slack.ephemerals
                                         if e["user"] == VIEWER and ":no_entry:" in e["text"]), None))
    assert "limited to" in told["text"]
    fleet.app.quiet()
    assert len(fleet.user.slack.calls_to("chat.update")) == updates


def test_an_unknown_environment_is_answered_privately_with_suggestions(fleet: Fleet) -> None:
    assert fleet.user.command("status cae-ordrs-weu", token="nf").status_code == 200
    answer = fleet.user.answer("nf", timeout=60)
    assert answer["response_type"] == "ephemeral"
    assert "cae-ordrs-weu" in answer["text"] and "cae-orders-weu" in answer["text"]


def test_status_is_in_the_usage_help_and_bad_input_gets_usage() -> None:
    assert "`/jobbot status [ENVIRONMENT | RESOURCE_GROUP]`" in help_text()
